/**
 * A worker in its own process, so a test can kill it the hard way (SIGKILL), as a crash or an
 * OOM kill would. Usage: tsx worker-process.ts <address> <taskQueue> <scriptFile> [optionsFile]
 * Prints "ready" on stdout once it polls. `optionsFile`: JSON of createWorker options that replace
 * the defaults (`agents`, `workspace`, `dataDir`, `env`), e.g. a code-editing module agent.
 */
import { readFileSync } from 'node:fs';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { ScriptedAgent } from '../../src/agents/scripted';
import { createWorker, type AndonWorkerOptions } from '../../src/worker';

async function main(): Promise<void> {
  const [address, taskQueue, script, optionsFile] = process.argv.slice(2);
  if (!address || !taskQueue || !script) throw new Error('usage: worker-process <address> <taskQueue> <script>');
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const connection = await NativeConnection.connect({ address });
  const worker = await createWorker({
    connection,
    namespace: 'default',
    taskQueue,
    agents: { scripted: ScriptedAgent.fromFile(script) },
    ...(optionsFile ? (JSON.parse(readFileSync(optionsFile, 'utf8')) as Partial<AndonWorkerOptions>) : {}),
    workflowBundle: { code: readFileSync(process.env.ANDON_TEST_BUNDLE!, 'utf8') },
  });
  const running = worker.run();
  process.stdout.write('ready\n');
  await running;
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
