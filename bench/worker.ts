/**
 * A benchmark worker in its own process (forked by bench/support.ts), so its memory is its own
 * and the driving client does not share its event loop:
 *
 *   --kind andon   the andon worker (createWorker, the scripted agent), as `npm start` runs it
 *   --kind bare    a trivial Temporal worker for bench/bare-workflows.ts, the baseline
 *
 * Sends its parent `ready` once polling, then `memory` (process.memoryUsage and CPU use) every second.
 */
import { performance } from 'node:perf_hooks';
import v8 from 'node:v8';
import { parseArgs } from 'node:util';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { ScriptedAgent, loadScript } from '../src/agents/scripted';
import { createWorker } from '../src/worker';
import { DEMO_SCRIPT_PATH, stepsAgentName, withSteps, zeroDelays } from './scripts';
import type { WorkerMessage } from './support';
import type { BareActivities } from './bare-workflows';

const send = (message: WorkerMessage) => process.send?.(message);

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      kind: { type: 'string' },
      address: { type: 'string' },
      'task-queue': { type: 'string' },
      'max-cached-workflows': { type: 'string' },
      script: { type: 'string' },
      'plan-steps': { type: 'string' },
    },
  });
  const address = values.address!;
  const taskQueue = values['task-queue']!;
  const maxCachedWorkflows = values['max-cached-workflows'] === undefined ? undefined : Number(values['max-cached-workflows']);

  Runtime.install({ logger: new DefaultLogger('WARN') });
  const connection = await NativeConnection.connect({ address });
  let worker: Worker;
  if (values.kind === 'andon') {
    const backend = values.script ? ScriptedAgent.fromFile(values.script) : new ScriptedAgent(zeroDelays(loadScript(DEMO_SCRIPT_PATH)));
    // `bench growth`: one more agent per plan length, `steps-<n>`, chosen by the session's `agent`.
    const demo = zeroDelays(loadScript(DEMO_SCRIPT_PATH));
    const lengths = values['plan-steps'] ? values['plan-steps'].split(',').map(Number) : [];
    const agents = Object.fromEntries(lengths.map((n) => [stepsAgentName(n), new ScriptedAgent(withSteps(demo, n))]));
    worker = await createWorker({
      connection,
      namespace: 'default',
      taskQueue,
      agents: { scripted: backend, ...agents },
      defaultAgent: 'scripted',
      maxCachedWorkflows,
      options: { shutdownGraceTime: '2s' },
    });
  } else {
    const activities: BareActivities = { reply: async (message) => `echo: ${message}`, work: async (name) => `done: ${name}` };
    worker = await Worker.create({
      connection,
      namespace: 'default',
      taskQueue,
      workflowsPath: require.resolve('./bare-workflows'),
      activities,
      maxCachedWorkflows,
      shutdownGraceTime: '2s',
    });
  }
  process.once('disconnect', () => worker.shutdown());

  let lastCpu = process.cpuUsage();
  let lastTime = performance.now();
  const sample = () => {
    const m = process.memoryUsage();
    const cpu = process.cpuUsage();
    const now = performance.now();
    const busy = (cpu.user - lastCpu.user + cpu.system - lastCpu.system) / 1000 / Math.max(1, now - lastTime);
    [lastCpu, lastTime] = [cpu, now];
    send({
      type: 'memory',
      time: Date.now(),
      rss: m.rss,
      heapUsed: m.heapUsed,
      heapTotal: m.heapTotal,
      external: m.external,
      cpu: Math.round(busy * 100),
    });
  };
  const sampler = setInterval(sample, 1_000);
  const running = worker.run();
  sample();
  send({
    type: 'ready',
    taskQueue,
    maxCachedWorkflows: worker.options.maxCachedWorkflows,
    heapLimitMiB: Math.round(v8.getHeapStatistics().heap_size_limit / 1024 / 1024),
  });
  try {
    await running;
  } finally {
    clearInterval(sampler);
    await connection.close();
  }
}

main().then(
  () => process.exit(0),
  (error: Error) => {
    send({ type: 'error', message: error.stack ?? error.message });
    console.error(error);
    process.exit(1);
  },
);
