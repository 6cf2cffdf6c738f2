/**
 * `npm run bench -- park [--sessions 10000] [--concurrency 50] [--max-cached-workflows n] ...`
 *
 * N standard sessions parked awaiting approval on one machine, then all approved and finished:
 *
 *   1. start   N sessions through andon.session(), at most --concurrency in flight;
 *   2. park    until all N are awaitingPlanApproval (each planned by the scripted agent);
 *   3. approve all N through SessionClient.approve(), at most --concurrency in flight;
 *   4. finish  until all N workflows have completed (five steps and a summary each);
 *   5. verify  every one of the N completed as `completed`, none failed, none missing.
 *
 * The worker runs in its own process and reports process.memoryUsage() every second; worker
 * memory is bounded by its workflow cache (--max-cached-workflows, default: the SDK's, derived
 * from the worker's heap limit): a parked session that falls out of the cache costs the worker
 * nothing until its approval, when it is replayed from history.
 *
 * Waiting for the aggregate (2 and 4) uses a visibility count with a short backoff (100 ms
 * doubling to 1 s): Temporal has no long-poll for "N workflows reached a state", and waiting on
 * N history long-polls would measure the watchers, not the sessions.
 *
 * Exits 1 if any session is lost, failed or did not complete.
 */
import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { Andon, InvalidStateError, TimeoutError, UnavailableError } from '../src/client';
import { STATE_ATTRIBUTE } from '../src/session/search-attributes';
import { TEMPORAL_CLI_VERSION } from '../src/temporal/cli-binary';
import {
  cpuSecondsOf,
  machine,
  mib,
  ms,
  onCleanup,
  percentile,
  pool,
  rssOf,
  runMain,
  sleep,
  startBenchServer,
  startWorkerProcess,
  table,
} from './support';

const TASK_QUEUE = 'bench-park';
const PROMPT = 'checkout-api error rate above 5%';
const SESSIONS = "WorkflowType='andonSession'";

interface Phase {
  name: string;
  start: number;
  end?: number;
}

export async function parkMain(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      sessions: { type: 'string', default: '10000' },
      concurrency: { type: 'string', default: '50' },
      'max-cached-workflows': { type: 'string' },
      'worker-heap-mb': { type: 'string' },
      script: { type: 'string' },
      'stall-seconds': { type: 'string', default: '120' },
      samples: { type: 'string' },
      'sqlite-pragma': { type: 'string', multiple: true, default: [] },
    },
  });
  const n = integer(values.sessions, '--sessions', 1);
  const concurrency = integer(values.concurrency, '--concurrency', 1);
  const maxCachedWorkflows =
    values['max-cached-workflows'] === undefined ? undefined : integer(values['max-cached-workflows'], '--max-cached-workflows', 0);
  const heapMiB = values['worker-heap-mb'] === undefined ? undefined : integer(values['worker-heap-mb'], '--worker-heap-mb', 64);
  const stallMs = integer(values['stall-seconds'], '--stall-seconds', 1) * 1000;

  const bench = await startBenchServer(values['sqlite-pragma']);
  const worker = await startWorkerProcess({
    kind: 'andon',
    address: bench.address,
    taskQueue: TASK_QUEUE,
    maxCachedWorkflows,
    heapMiB,
    script: values.script,
  });
  console.log(
    `park: ${n} sessions, concurrency ${concurrency}, Temporal CLI ${TEMPORAL_CLI_VERSION} dev server (SQLite ${bench.pragmas.join(', ')})`,
  );
  console.log(
    `worker: own process, maxCachedWorkflows ${worker.ready.maxCachedWorkflows}${maxCachedWorkflows === undefined ? ' (SDK default for its heap)' : ''}, ` +
      `heap limit ${worker.ready.heapLimitMiB} MiB, agent ${values.script ?? 'scripts/demo.json with delays 0'}`,
  );
  console.log(`machine: ${machine()}`);

  const connection = await Connection.connect({ address: bench.address });
  onCleanup(() => connection.close());
  const client = new Client({ connection, namespace: 'default' });
  const andon = new Andon({ client, taskQueue: TASK_QUEUE, identity: 'bench', defaults: { followUpWindowMs: 0 } });
  const id = (i: number) => `park-${i}`;

  const t0 = Date.now();
  const serverMemory: { time: number; rss: number; cpu: number }[] = [];
  let serverCpu = { at: performance.now(), seconds: cpuSecondsOf(bench.server.process.pid) ?? 0 };
  const serverSampler = setInterval(() => {
    const rss = rssOf(bench.server.process.pid);
    const now = { at: performance.now(), seconds: cpuSecondsOf(bench.server.process.pid) ?? 0 };
    const cpu = Math.round(((now.seconds - serverCpu.seconds) * 100_000) / Math.max(1, now.at - serverCpu.at));
    serverCpu = now;
    if (rss !== undefined) serverMemory.push({ time: Date.now(), rss, cpu });
  }, 1_000);
  onCleanup(() => clearInterval(serverSampler));

  const phases: Phase[] = [];
  let counter = { label: '', done: 0 };
  const phase = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const p: Phase = { name, start: Date.now() };
    phases.push(p);
    counter = { label: name, done: 0 };
    try {
      return await fn();
    } finally {
      p.end = Date.now();
    }
  };
  const ticker = setInterval(() => {
    const m = worker.memory[worker.memory.length - 1];
    console.error(
      `  [${((Date.now() - t0) / 1000).toFixed(0)} s] ${counter.label}: ${counter.done}/${n}, worker rss ${mib(m?.rss)} heap ${mib(m?.heapUsed)}`,
    );
  }, 5_000);
  onCleanup(() => clearInterval(ticker));

  const problems: string[] = [];
  const note = (what: string, error: unknown) => {
    if (problems.length < 20) problems.push(`${what}: ${(error as Error).message}`);
  };

  // 1. start
  const startLatency: number[] = [];
  let startFailures = 0;
  await phase('start', () =>
    pool(n, concurrency, async (i) => {
      for (let attempt = 1; ; attempt++) {
        const began = performance.now();
        try {
          await andon.session({ id: id(i), prompt: PROMPT, context: { service: 'checkout-api', n: String(i) } });
          startLatency.push(performance.now() - began);
          counter.done++;
          return;
        } catch (error) {
          // Same id, same session (USE_EXISTING): retrying a start that timed out is safe.
          if (attempt < 3 && (TimeoutError.isInstance(error) || UnavailableError.isInstance(error))) continue;
          startFailures++;
          note(`start ${id(i)}`, error);
          return;
        }
      }
    }),
  );

  // 2. park
  const parked = await phase('park', () =>
    untilCount(client, `${SESSIONS} AND AndonState='awaitingPlanApproval'`, n, stallMs, (c) => (counter.done = c)),
  );

  // 3. approve
  const approveLatency: number[] = [];
  let approveFailures = 0;
  await phase('approve', () =>
    pool(n, concurrency, async (i) => {
      const session = andon.session(id(i));
      for (let attempt = 1; ; attempt++) {
        const began = performance.now();
        try {
          await session.approve({ comment: 'bench' });
          approveLatency.push(performance.now() - began);
          counter.done++;
          return;
        } catch (error) {
          if (attempt < 3 && (TimeoutError.isInstance(error) || UnavailableError.isInstance(error))) continue;
          // A retried approval refused because the session has moved on: the first one went through.
          if (attempt > 1 && InvalidStateError.isInstance(error) && error.state !== 'awaitingPlanApproval') {
            counter.done++;
            return;
          }
          approveFailures++;
          note(`approve ${id(i)}`, error);
          return;
        }
      }
    }),
  );

  // 4. finish
  await phase('finish', () => untilCount(client, `${SESSIONS} AND ExecutionStatus='Completed'`, n, stallMs, (c) => (counter.done = c)));
  clearInterval(ticker);

  // 5. verify
  const total = (await client.workflow.count(SESSIONS)).count;
  const completed = (await client.workflow.count(`${SESSIONS} AND ExecutionStatus='Completed' AND AndonState='completed'`)).count;
  const byStatus = (await client.workflow.count(`${SESSIONS} GROUP BY ExecutionStatus`)).groups
    .map((g) => `${String(g.groupValues[0])} ${g.count}`)
    .join(', ');
  const ok = total === n && completed === n;
  const stragglers: string[] = [];
  if (!ok) {
    try {
      for await (const execution of client.workflow.list({
        query: `${SESSIONS} AND (ExecutionStatus != 'Completed' OR AndonState != 'completed')`,
        pageSize: 20,
      })) {
        stragglers.push(
          `${execution.workflowId} (${execution.status.name}, ${execution.typedSearchAttributes.get(STATE_ATTRIBUTE) ?? '?'})`,
        );
        if (stragglers.length >= 10) break;
      }
    } catch (error) {
      stragglers.push(`(could not list them: ${(error as Error).message})`);
    }
  }
  const historyEvents = (await client.workflow.getHandle(id(0)).fetchHistory()).events?.length ?? 0;
  const finished = Date.now();

  // ---- report -----------------------------------------------------------------------------------
  const seconds = (p: Phase) => ((p.end ?? finished) - p.start) / 1000;
  const byName = (name: string) => phases.find((p) => p.name === name)!;
  const inPhase = <T extends { time: number }>(samples: T[], p: Phase) =>
    samples.filter((s) => s.time >= p.start && s.time <= (p.end ?? finished));
  const peak = <T>(samples: T[], key: (s: T) => number) => (samples.length ? Math.max(...samples.map(key)) : undefined);

  const mean = <T>(samples: T[], key: (x: T) => number) =>
    samples.length ? samples.reduce((sum, x) => sum + key(x), 0) / samples.length : NaN;
  const perSecond: Record<string, number> = {
    start: n - startFailures,
    park: parked,
    approve: n - approveFailures,
    finish: completed,
  };
  const rows = [['phase', 'seconds', 'per second', 'worker rss peak', 'main heap peak', 'worker cpu', 'server rss peak', 'server cpu']];
  const all: Phase = { name: 'start..finish', start: byName('start').start, end: byName('finish').end };
  for (const p of [...phases, all]) {
    const w = inPhase(worker.memory, p);
    const srv = inPhase(serverMemory, p);
    rows.push([
      p.name,
      seconds(p).toFixed(1),
      ((p === all ? completed : perSecond[p.name]!) / seconds(p)).toFixed(1),
      mib(peak(w, (x) => x.rss)),
      mib(peak(w, (x) => x.heapUsed)),
      percent(mean(w, (x) => x.cpu)),
      mib(peak(srv, (x) => x.rss)),
      percent(mean(srv, (x) => x.cpu)),
    ]);
  }
  console.log(`\n${table(rows)}`);
  console.log(
    `\nlatency (ms): start p50 ${ms(percentile(startLatency, 50))} p95 ${ms(percentile(startLatency, 95))} max ${ms(Math.max(...startLatency))}; ` +
      `approve p50 ${ms(percentile(approveLatency, 50))} p95 ${ms(percentile(approveLatency, 95))} max ${ms(Math.max(...approveLatency))} ` +
      `(at concurrency ${concurrency}; approvals of evicted sessions replay them)`,
  );
  console.log('(cpu: mean % of one core; main heap: the worker main thread only, workflows run in a worker thread counted in rss)');
  console.log(`worker memory over time (every ${Math.max(1, Math.ceil(worker.memory.length / 30))} s):`);
  console.log(memoryTimeline(worker.memory, phases, serverMemory, t0));
  console.log(`history events of one session: ${historyEvents} (follow-up window 0; budget 60)`);
  console.log(`sessions: ${total} found, ${completed} completed; by workflow status: ${byStatus || 'none'}`);
  console.log(`failures: ${startFailures} starts, ${approveFailures} approvals${problems.length ? `\n  ${problems.join('\n  ')}` : ''}`);
  if (stragglers.length) console.log(`not completed (first ${stragglers.length}):\n  ${stragglers.join('\n  ')}`);

  if (values.samples) {
    writeFileSync(
      values.samples,
      JSON.stringify(
        {
          sessions: n,
          concurrency,
          maxCachedWorkflows: worker.ready.maxCachedWorkflows,
          phases,
          worker: worker.memory,
          server: serverMemory,
        },
        null,
        1,
      ),
    );
    console.log(`samples: ${values.samples}`);
  }
  console.log(
    ok ? `\nOK: all ${n} sessions parked, approved and completed.` : `\nFAILED: ${n - completed} of ${n} sessions did not complete.`,
  );
  return ok ? 0 : 1;
}

/**
 * Waits until a visibility count reaches `target`, with a short backoff (no aggregate long-poll
 * exists). Gives up after `stallMs` without progress. Returns the last count.
 */
async function untilCount(
  client: Client,
  query: string,
  target: number,
  stallMs: number,
  onCount: (count: number) => void,
): Promise<number> {
  let last = -1;
  let progressed = Date.now();
  let backoff = 100;
  for (;;) {
    const { count } = await client.workflow.count(query);
    onCount(count);
    if (count >= target) return count;
    if (count !== last) {
      last = count;
      progressed = Date.now();
    } else if (Date.now() - progressed > stallMs) {
      console.error(`  no progress for ${stallMs / 1000} s at ${count}/${target}: ${query}`);
      return count;
    }
    await sleep(backoff);
    backoff = Math.min(backoff * 2, 1_000);
  }
}

function memoryTimeline(
  samples: { time: number; rss: number; heapUsed: number; cpu: number }[],
  phases: Phase[],
  server: { time: number; rss: number; cpu: number }[],
  t0: number,
): string {
  const every = Math.max(1, Math.ceil(samples.length / 30));
  const rows = [['t (s)', 'phase', 'worker rss', 'main heap', 'worker cpu', 'server rss', 'server cpu']];
  samples.forEach((x, i) => {
    if (i % every !== 0 && i !== samples.length - 1) return;
    const p = [...phases].reverse().find((ph) => x.time >= ph.start);
    const near = server.reduce<(typeof server)[number] | undefined>(
      (best, y) => (!best || Math.abs(y.time - x.time) < Math.abs(best.time - x.time) ? y : best),
      undefined,
    );
    rows.push([
      ((x.time - t0) / 1000).toFixed(0),
      p?.name ?? 'setup',
      mib(x.rss),
      mib(x.heapUsed),
      `${x.cpu}%`,
      mib(near?.rss),
      near ? `${near.cpu}%` : '-',
    ]);
  });
  return table(rows);
}

function percent(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(0)}%` : '-';
}

function integer(value: string | undefined, flag: string, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new Error(`${flag} must be an integer >= ${min}, got ${value}`);
  return n;
}

if (require.main === module) runMain(() => parkMain(process.argv.slice(2)));
