/**
 * `npm start`: the main job. With no external Temporal configured it runs the embedded stack —
 * the Temporal dev server (SQLite file under the data directory, Web UI on) and the andon
 * worker. With TEMPORAL_ADDRESS or a profile it runs only the worker against that cluster.
 * Ctrl-C stops the worker first (finishing in-flight tasks), then the server.
 */
import { DefaultLogger, NativeConnection, Runtime, type LogLevel } from '@temporalio/worker';
import { createBackend } from './backends';
import { loadConfig, resolveTemporalTarget } from './config';
import { findTemporalCli } from './temporal/cli-binary';
import { startDevServer, type DevServer } from './temporal/dev-server';
import { ensureSearchAttributes } from './temporal/search-attributes';
import { createWorker } from './worker';

async function main(): Promise<void> {
  // The worker logs every bundling step at INFO; an operator wants warnings and the welcome text.
  Runtime.install({ logger: new DefaultLogger((process.env.ANDON_LOG_LEVEL?.toUpperCase() as LogLevel | undefined) ?? 'WARN') });
  const config = loadConfig();
  const target = resolveTemporalTarget(config);
  const backend = createBackend(config.backend);

  let server: DevServer | undefined;
  if (target.embedded) {
    const binary = await findTemporalCli({ log: (line) => console.error(line) });
    server = await startDevServer({ binary, ...config.devServer, dbFile: config.devServer.dbFile! });
    console.log(`Temporal dev server: ${server.address} (data: ${config.devServer.dbFile})`);
  }

  const connection = await NativeConnection.connect(target.connectionOptions);
  try {
    await ensureSearchAttributes(connection, target.namespace, (line) => console.error(line));
    const worker = await createWorker({
      connection,
      namespace: target.namespace,
      taskQueue: config.taskQueue,
      backend,
      maxCachedWorkflows: config.worker.maxCachedWorkflows,
      maxConcurrentActivityTaskExecutions: config.worker.maxConcurrentActivityTaskExecutions,
    });
    printWelcome(server, target.connectionOptions.address ?? '', target.namespace, config.taskQueue, backend.name);
    await worker.run();
  } finally {
    await connection.close();
    await server?.stop();
  }
  console.log('andon stopped.');
}

function printWelcome(server: DevServer | undefined, address: string, namespace: string, taskQueue: string, backend: string): void {
  const ui = server?.uiUrl ? `${server.uiUrl}/namespaces/${namespace}/workflows` : undefined;
  console.log(
    [
      '',
      `andon worker running: ${address}, namespace ${namespace}, task queue ${taskQueue}, agent ${backend}`,
      ui ? `Temporal UI: ${ui}` : '',
      '',
      'Try it (in another terminal):',
      '  npx andon start --prompt "checkout-api error rate above 5%" --id demo-1',
      '  npx andon tail demo-1',
      '  npx andon approve demo-1',
      '',
      'Ctrl-C stops andon.',
    ]
      .filter((line, i, all) => line !== '' || all[i - 1] !== '')
      .join('\n'),
  );
}

main().catch((error: Error) => {
  console.error(`andon failed to start: ${error.message}`);
  process.exit(1);
});
