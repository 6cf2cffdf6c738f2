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
 * Then the same five phases for the bare-Temporal baseline of the same shape on the same server,
 * with the same workflow cache (bench/bare-workflows.ts `bareParkSession`: an activity, a wait for
 * an approval update, five activities, done; its own worker process), and the two side by side
 * (`--skip-baseline` leaves it out).
 *
 * Each worker runs in its own process and reports process.memoryUsage() every second; worker
 * memory is bounded by its workflow cache (--max-cached-workflows, default: `npm start`'s, 500): a
 * parked session that falls out of the cache costs the worker nothing until its approval, when it
 * is replayed from history.
 *
 * Waiting for the aggregate (2 and 4) uses a visibility count with a short backoff (100 ms
 * doubling to 1 s): Temporal has no long-poll for "N workflows reached a state", and waiting on
 * N history long-polls would measure the watchers, not the sessions.
 *
 * `--checkpoints 1000,5000,10000` measures how costs grow with the number parked: starting stops
 * at each level until that many are parked, then the worker's RSS is read and a sample of the
 * parked sessions (`--checkpoint-sample`, spread from the oldest, long evicted, to the newest) is
 * approved one at a time, timing each approval; then starting goes on. The pauses are not counted
 * in the start rate. The sampled sessions finish with the rest and are verified like them.
 *
 * `--workers 2` runs a second worker process on the same task queue (both sides), so the rates
 * show what another worker buys on this machine.
 *
 * Exits 1 if any session is lost, failed or did not complete.
 */
import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { Andon, InvalidStateError, TimeoutError, UnavailableError } from '../src/client';
import { STATE_ATTRIBUTE } from '../src/session/search-attributes';
import { TEMPORAL_CLI_VERSION } from '../src/temporal/cli-binary';
import {
  cpuSecondsOf,
  machine,
  mib,
  ms,
  NPM_START_MAX_CACHED_WORKFLOWS,
  onCleanup,
  percentile,
  pool,
  rssOf,
  runMain,
  sleep,
  startBenchServer,
  startWorkerProcess,
  table,
  type BenchWorker,
} from './support';
import { bareApproveUpdate, bareParkSession } from './bare-workflows';
import { parseLevels, spreadSample } from './stats';

const TASK_QUEUE = 'bench-park';
const BARE_QUEUE = 'bench-park-bare';
const PROMPT = 'checkout-api error rate above 5%';

type Kind = 'andon' | 'bare';
/** Both sides are counted with the same queries, by workflow type. */
const SESSIONS: Record<Kind, string> = { andon: "WorkflowType='andonSession'", bare: "WorkflowType='bareParkSession'" };

interface Phase {
  name: string;
  start: number;
  end?: number;
  /** Milliseconds within the phase spent on checkpoints, which its rate leaves out. */
  paused?: number;
}

/** What one --checkpoints level measured on one side. */
interface Checkpoint {
  level: number;
  /** Parked when measured (the level less the sessions sampled at earlier levels). */
  parked: number;
  /** Seconds from the first start to all of this level parked, checkpoints before it excluded. */
  seconds: number;
  /** Worker RSS (all workers) once the level was parked, and its peak since the previous level. */
  rss?: number;
  rssPeak?: number;
  serverRss?: number;
  approveLatency: number[];
  approveFailures: number;
}

export async function parkMain(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      sessions: { type: 'string' },
      concurrency: { type: 'string', default: '50' },
      'max-cached-workflows': { type: 'string' },
      'worker-heap-mb': { type: 'string' },
      script: { type: 'string' },
      'stall-seconds': { type: 'string', default: '120' },
      samples: { type: 'string' },
      'sqlite-pragma': { type: 'string', multiple: true, default: [] },
      'skip-baseline': { type: 'boolean', default: false },
      checkpoints: { type: 'string' },
      'checkpoint-sample': { type: 'string', default: '20' },
      workers: { type: 'string', default: '1' },
    },
  });
  const checkpoints = values.checkpoints === undefined ? [] : parseLevels(values.checkpoints, '--checkpoints', 1);
  const n = integer(values.sessions ?? String(checkpoints[checkpoints.length - 1] ?? 10_000), '--sessions', 1);
  if (checkpoints.length && checkpoints[checkpoints.length - 1]! > n) {
    throw new Error(`--checkpoints: the last level (${checkpoints[checkpoints.length - 1]}) is above --sessions (${n})`);
  }
  const checkpointSample = integer(values['checkpoint-sample'], '--checkpoint-sample', 1);
  if (checkpointSample > 1_000) throw new Error(`--checkpoint-sample must be at most 1000, got ${checkpointSample}`);
  // Two is what this measures (one worker against two); a few more are allowed, each is a process.
  const workerCount = integer(values.workers, '--workers', 1);
  if (workerCount > 8) throw new Error(`--workers must be at most 8, got ${workerCount}`);
  const concurrency = integer(values.concurrency, '--concurrency', 1);
  const maxCachedWorkflows =
    values['max-cached-workflows'] === undefined
      ? NPM_START_MAX_CACHED_WORKFLOWS
      : integer(values['max-cached-workflows'], '--max-cached-workflows', 0);
  const heapMiB = values['worker-heap-mb'] === undefined ? undefined : integer(values['worker-heap-mb'], '--worker-heap-mb', 64);
  const stallMs = integer(values['stall-seconds'], '--stall-seconds', 1) * 1000;

  const bench = await startBenchServer(values['sqlite-pragma']);
  console.log(
    `park: ${n} sessions, concurrency ${concurrency}, ${workerCount} worker process${workerCount > 1 ? 'es' : ''} per side${checkpoints.length ? `, checkpoints at ${checkpoints.join(', ')} parked (sample ${checkpointSample})` : ''}, Temporal CLI ${TEMPORAL_CLI_VERSION} dev server (SQLite ${bench.pragmas.join(', ')})`,
  );
  console.log(`machine: ${machine()}`);

  const connection = await Connection.connect({ address: bench.address });
  onCleanup(() => connection.close());
  const client = new Client({ connection, namespace: 'default' });

  const serverMemory: Sample[] = [];
  let serverCpu = { at: performance.now(), seconds: cpuSecondsOf(bench.server.process.pid) ?? 0 };
  const serverSampler = setInterval(() => {
    const rss = rssOf(bench.server.process.pid);
    const now = { at: performance.now(), seconds: cpuSecondsOf(bench.server.process.pid) ?? 0 };
    const cpu = Math.round(((now.seconds - serverCpu.seconds) * 100_000) / Math.max(1, now.at - serverCpu.at));
    serverCpu = now;
    if (rss !== undefined) serverMemory.push({ time: Date.now(), rss, cpu });
  }, 1_000);
  onCleanup(() => clearInterval(serverSampler));

  const common = { n, concurrency, stallMs, client, serverMemory, checkpoints, checkpointSample };
  const andonWorkers = await startWorkers(workerCount, {
    kind: 'andon',
    address: bench.address,
    taskQueue: TASK_QUEUE,
    maxCachedWorkflows,
    heapMiB,
    script: values.script,
  });
  const worker = andonWorkers[0]!;
  console.log(
    `andon worker: own process, maxCachedWorkflows ${worker.ready.maxCachedWorkflows}${values['max-cached-workflows'] === undefined ? " (npm start's default)" : ''}, ` +
      `heap limit ${worker.ready.heapLimitMiB} MiB, agent ${values.script ?? 'scripts/demo.json with delays 0'}`,
  );
  const andon = new Andon({ client, taskQueue: TASK_QUEUE, identity: 'bench', defaults: { followUpWindowMs: 0 } });
  const andonRun = await runSide({
    ...common,
    kind: 'andon',
    worker,
    others: andonWorkers.slice(1),
    start: (i) =>
      andon.session({ id: `park-${i}`, prompt: PROMPT, context: { service: 'checkout-api', n: String(i) } }).then(() => undefined),
    approve: (i) =>
      andon
        .session(`park-${i}`)
        .approve({ comment: 'bench' })
        .then(() => undefined),
    // Same id, same session (USE_EXISTING): retrying a call that timed out is safe.
    retryable: (error) => TimeoutError.isInstance(error) || UnavailableError.isInstance(error),
    // A retried approval refused because the session has moved on: the first one went through.
    approvedEarlier: (error) => InvalidStateError.isInstance(error) && error.state !== 'awaitingPlanApproval',
    id: (i) => `park-${i}`,
  });
  await Promise.all(andonWorkers.map((w) => w.stop()));

  let bareRun: SideResult | undefined;
  if (!values['skip-baseline']) {
    const bareWorkers = await startWorkers(workerCount, {
      kind: 'bare',
      address: bench.address,
      taskQueue: BARE_QUEUE,
      maxCachedWorkflows: worker.ready.maxCachedWorkflows,
      heapMiB,
    });
    const bareWorker = bareWorkers[0]!;
    console.log(`\nbare Temporal baseline: bareParkSession, own worker process, the same cache (${bareWorker.ready.maxCachedWorkflows})`);
    const bareId = (i: number) => `bare-park-${i}`;
    bareRun = await runSide({
      ...common,
      kind: 'bare',
      worker: bareWorker,
      others: bareWorkers.slice(1),
      start: (i) =>
        client.workflow
          .start(bareParkSession, { workflowId: bareId(i), taskQueue: BARE_QUEUE, args: [5], workflowIdConflictPolicy: 'USE_EXISTING' })
          .then(() => undefined),
      approve: (i) =>
        client.workflow
          .getHandle(bareId(i))
          .executeUpdate(bareApproveUpdate, { args: [{ comment: 'bench' }] })
          .then(() => undefined),
      retryable: (error) => (error as Error).name === 'ServiceError',
      approvedEarlier: (error) => error instanceof WorkflowUpdateFailedError,
      id: bareId,
    });
    await Promise.all(bareWorkers.map((w) => w.stop()));
  }

  // ---- report -----------------------------------------------------------------------------------
  if (bareRun) {
    console.log(`\nandon beside bare Temporal, same server, same cache (${worker.ready.maxCachedWorkflows}), ${n} each:`);
    console.log(comparison(andonRun, bareRun));
    console.log('(ratio: andon / bare for times and memory, bare / andon for rates: above 1 means andon costs more)');
    if (checkpoints.length) {
      console.log(`\nas the parked count grows, andon beside bare Temporal (approvals of ${checkpointSample} parked, one at a time):`);
      console.log(checkpointComparison(andonRun, bareRun));
    }
  }
  printSide('andon', andonRun, n, concurrency);
  if (bareRun) printSide('bare Temporal', bareRun, n, concurrency);
  if (values.samples) {
    writeFileSync(
      values.samples,
      JSON.stringify(
        {
          sessions: n,
          concurrency,
          maxCachedWorkflows: worker.ready.maxCachedWorkflows,
          phases: andonRun.phases,
          worker: andonRun.worker,
          otherWorkers: andonRun.others,
          checkpoints: andonRun.checkpoints,
          server: serverMemory,
          ...(bareRun
            ? {
                baseline: {
                  phases: bareRun.phases,
                  worker: bareRun.worker,
                  otherWorkers: bareRun.others,
                  checkpoints: bareRun.checkpoints,
                },
              }
            : {}),
        },
        null,
        1,
      ),
    );
    console.log(`samples: ${values.samples}`);
  }
  const ok = andonRun.ok && (bareRun?.ok ?? true);
  console.log(
    andonRun.ok
      ? `\nOK: all ${n} sessions parked, approved and completed.`
      : `\nFAILED: ${n - andonRun.completed} of ${n} sessions did not complete.`,
  );
  if (bareRun && !bareRun.ok) console.log(`baseline FAILED: ${n - bareRun.completed} of ${n} bare workflows did not complete.`);
  return ok ? 0 : 1;
}

interface Sample {
  time: number;
  rss: number;
  cpu: number;
}

interface SideSpec {
  kind: Kind;
  n: number;
  concurrency: number;
  stallMs: number;
  client: Client;
  worker: BenchWorker;
  /** More worker processes on the same task queue (--workers). */
  others: BenchWorker[];
  serverMemory: Sample[];
  checkpoints: number[];
  checkpointSample: number;
  start(i: number): Promise<void>;
  approve(i: number): Promise<void>;
  retryable(error: unknown): boolean;
  approvedEarlier(error: unknown): boolean;
  id(i: number): string;
}

interface SideResult {
  phases: Phase[];
  worker: BenchWorker['memory'];
  others: BenchWorker['memory'][];
  server: Sample[];
  checkpoints: Checkpoint[];
  /** Sessions approved at checkpoints (not in the approve phase). */
  sampled: number;
  t0: number;
  finished: number;
  startLatency: number[];
  approveLatency: number[];
  startFailures: number;
  approveFailures: number;
  parked: number;
  total: number;
  completed: number;
  byStatus: string;
  problems: string[];
  stragglers: string[];
  historyEvents: number;
  ok: boolean;
}

/** One side's five phases: start, park, approve, finish, verify. */
async function runSide(spec: SideSpec): Promise<SideResult> {
  const { kind, n, concurrency, stallMs, client, worker } = spec;
  const sessions = SESSIONS[kind];
  const t0 = Date.now();
  const phases: Phase[] = [];
  let counter = { label: '', done: 0 };
  const phase = async <T>(name: string, fn: (p: Phase) => Promise<T>): Promise<T> => {
    const p: Phase = { name, start: Date.now() };
    phases.push(p);
    counter = { label: name, done: 0 };
    try {
      return await fn(p);
    } finally {
      p.end = Date.now();
    }
  };
  const ticker = setInterval(() => {
    const m = worker.memory[worker.memory.length - 1];
    console.error(
      `  [${kind} ${((Date.now() - t0) / 1000).toFixed(0)} s] ${counter.label}: ${counter.done}/${n}, worker rss ${mib(m?.rss)} heap ${mib(m?.heapUsed)}`,
    );
  }, 5_000);
  onCleanup(() => clearInterval(ticker));

  const problems: string[] = [];
  const note = (what: string, error: unknown) => {
    if (problems.length < 20) problems.push(`${what}: ${(error as Error).message}`);
  };
  /** Calls `fn` for the given sessions, at most `concurrency` at once, retrying what may be retried. */
  const drive = async (what: 'start' | 'approve', latency: number[], indices: number[], inFlight = concurrency): Promise<number> => {
    let failures = 0;
    await pool(indices.length, inFlight, async (k) => {
      const i = indices[k]!;
      for (let attempt = 1; ; attempt++) {
        const began = performance.now();
        try {
          await spec[what](i);
          latency.push(performance.now() - began);
          counter.done++;
          return;
        } catch (error) {
          if (attempt < 3 && spec.retryable(error)) continue;
          if (what === 'approve' && attempt > 1 && spec.approvedEarlier(error)) {
            counter.done++;
            return;
          }
          failures++;
          note(`${what} ${spec.id(i)}`, error);
          return;
        }
      }
    });
    return failures;
  };

  const parkedQuery = `${sessions} AND AndonState='awaitingPlanApproval'`;
  const workers = [worker, ...spec.others];
  const range = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => from + k);
  const sampled = new Set<number>();
  const checkpoints: Checkpoint[] = [];
  // 1. start (with --checkpoints: up to each level, then until it is parked, then a sample approved)
  const startLatency: number[] = [];
  let startFailures = 0;
  await phase('start', async (p) => {
    let from = 0;
    let since = p.start;
    for (const level of [...spec.checkpoints.filter((l) => l < n), n]) {
      startFailures += await drive('start', startLatency, range(from, level));
      from = level;
      if (!spec.checkpoints.includes(level)) continue;
      const paused = Date.now();
      const parked = await untilCount(client, parkedQuery, level - sampled.size, stallMs, () => undefined);
      const seconds = (Date.now() - p.start - (p.paused ?? 0)) / 1000;
      await sleep(1_100); // a memory sample taken with all of them parked
      const rss = sumLatest(workers.map((w) => w.memory));
      const rssPeak = workers.reduce(
        (sum, w) =>
          sum +
          (peak(
            w.memory.filter((s) => s.time >= since),
            (s) => s.rss,
          ) ?? 0),
        0,
      );
      const sample = spreadSample(level, spec.checkpointSample, sampled);
      sample.forEach((i) => sampled.add(i));
      const approveLatency: number[] = [];
      counter = { label: `checkpoint ${level}: approve sample`, done: 0 };
      const approveFailures = await drive('approve', approveLatency, sample, 1);
      counter = { label: 'start', done: level };
      checkpoints.push({
        level,
        parked,
        seconds,
        rss,
        rssPeak: rssPeak || undefined,
        serverRss: spec.serverMemory[spec.serverMemory.length - 1]?.rss,
        approveLatency,
        approveFailures,
      });
      p.paused = (p.paused ?? 0) + (Date.now() - paused);
      since = Date.now();
    }
  });
  // 2. park
  const parked = await phase('park', () => untilCount(client, parkedQuery, n - sampled.size, stallMs, (c) => (counter.done = c)));
  // 3. approve
  const approveLatency: number[] = [];
  const approveFailures = await phase('approve', () =>
    drive(
      'approve',
      approveLatency,
      range(0, n).filter((i) => !sampled.has(i)),
    ),
  );
  // 4. finish
  await phase('finish', () => untilCount(client, `${sessions} AND ExecutionStatus='Completed'`, n, stallMs, (c) => (counter.done = c)));
  clearInterval(ticker);

  // 5. verify
  const total = (await client.workflow.count(sessions)).count;
  const completed = (await client.workflow.count(`${sessions} AND ExecutionStatus='Completed' AND AndonState='completed'`)).count;
  const byStatus = (await client.workflow.count(`${sessions} GROUP BY ExecutionStatus`)).groups
    .map((g) => `${String(g.groupValues[0])} ${g.count}`)
    .join(', ');
  const ok = total === n && completed === n;
  const stragglers: string[] = [];
  if (!ok) {
    try {
      for await (const execution of client.workflow.list({
        query: `${sessions} AND (ExecutionStatus != 'Completed' OR AndonState != 'completed')`,
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
  const historyEvents = (await client.workflow.getHandle(spec.id(0)).fetchHistory()).events?.length ?? 0;
  return {
    phases,
    worker: worker.memory,
    others: spec.others.map((w) => w.memory),
    server: spec.serverMemory,
    checkpoints,
    sampled: sampled.size,
    t0,
    finished: Date.now(),
    startLatency,
    approveLatency,
    startFailures,
    approveFailures,
    parked,
    total,
    completed,
    byStatus,
    problems,
    stragglers,
    historyEvents,
    ok,
  };
}

const seconds = (r: SideResult, p: Phase) => ((p.end ?? r.finished) - p.start - (p.paused ?? 0)) / 1000;
const phaseOf = (r: SideResult, name: string) => r.phases.find((p) => p.name === name)!;
const inPhase = <T extends { time: number }>(r: SideResult, samples: T[], p: Phase) =>
  samples.filter((s) => s.time >= p.start && s.time <= (p.end ?? r.finished));
const peak = <T>(samples: T[], key: (s: T) => number) => (samples.length ? Math.max(...samples.map(key)) : undefined);
const mean = <T>(samples: T[], key: (x: T) => number) =>
  samples.length ? samples.reduce((sum, x) => sum + key(x), 0) / samples.length : NaN;
const whole = (r: SideResult): Phase => ({
  name: 'start..finish',
  start: phaseOf(r, 'start').start,
  end: phaseOf(r, 'finish').end,
  paused: phaseOf(r, 'start').paused,
});

/** A rate for the tables: '-' when there is none (an empty or instant phase, as `park` is after --checkpoints). */
function perSecond(value: number): string {
  return Number.isFinite(value) ? value.toFixed(1) : '-';
}

/** Sessions per second of a phase (what it counted, over its duration); NaN if it took under 0.1 s. */
function rate(r: SideResult, name: string, n: number): number {
  const counted: Record<string, number> = {
    start: n - r.startFailures,
    park: r.parked,
    approve: n - r.sampled - r.approveFailures,
    finish: r.completed,
    'start..finish': r.completed,
  };
  const took = seconds(r, name === 'start..finish' ? whole(r) : phaseOf(r, name));
  return took < 0.1 ? NaN : counted[name]! / took;
}

function comparison(a: SideResult, b: SideResult): string {
  const n = a.total;
  const rows = [['', 'andon', 'bare Temporal', 'ratio']];
  for (const name of ['start', 'park', 'approve', 'finish', 'start..finish']) {
    const [x, y] = [rate(a, name, n), rate(b, name, n)];
    rows.push([`${name} /s`, perSecond(x), perSecond(y), Number.isFinite(y / x) ? `${(y / x).toFixed(2)}x` : '-']);
  }
  for (const [label, p] of [
    ['start p50 ms', 50],
    ['approve p50 ms', 50],
    ['approve p95 ms', 95],
  ] as const) {
    const key = label.startsWith('start') ? 'startLatency' : 'approveLatency';
    const [x, y] = [percentile(a[key], p), percentile(b[key], p)];
    rows.push([label, ms(x), ms(y), `${(x / y).toFixed(2)}x`]);
  }
  const rss = (r: SideResult, p: Phase) => peak(inPhase(r, r.worker, p), (s) => s.rss) ?? NaN;
  for (const name of ['park', 'approve', 'start..finish']) {
    const [x, y] = [
      rss(a, name === 'start..finish' ? whole(a) : phaseOf(a, name)),
      rss(b, name === 'start..finish' ? whole(b) : phaseOf(b, name)),
    ];
    rows.push([`worker rss peak, ${name}`, mib(x), mib(y), `${(x / y).toFixed(2)}x`]);
  }
  const idle = (r: SideResult) => r.worker.find((s) => s.time >= r.t0)?.rss ?? r.worker[0]?.rss ?? NaN;
  rows.push(['worker rss at start', mib(idle(a)), mib(idle(b)), `${(idle(a) / idle(b)).toFixed(2)}x`]);
  if (a.others.length) {
    const all = (r: SideResult) => [r.worker, ...r.others].reduce((sum, m) => sum + (peak(m, (s) => s.rss) ?? 0), 0);
    rows.push([`rss peaks, ${a.others.length + 1} workers`, mib(all(a)), mib(all(b)), `${(all(a) / all(b)).toFixed(2)}x`]);
  }
  rows.push(['history events', String(a.historyEvents), String(b.historyEvents), `${(a.historyEvents / b.historyEvents).toFixed(2)}x`]);
  return table(rows);
}

function printSide(label: string, r: SideResult, n: number, concurrency: number): void {
  console.log(`\n${label}:`);
  const rows = [['phase', 'seconds', 'per second', 'worker rss peak', 'main heap peak', 'worker cpu', 'server rss peak', 'server cpu']];
  for (const p of [...r.phases, whole(r)]) {
    const w = inPhase(r, r.worker, p);
    const srv = inPhase(r, r.server, p);
    rows.push([
      p.name,
      seconds(r, p).toFixed(1),
      perSecond(rate(r, p.name, n)),
      mib(peak(w, (x) => x.rss)),
      mib(peak(w, (x) => x.heapUsed)),
      percent(mean(w, (x) => x.cpu)),
      mib(peak(srv, (x) => x.rss)),
      percent(mean(srv, (x) => x.cpu)),
    ]);
  }
  console.log(table(rows));
  console.log(
    `latency (ms): start p50 ${ms(percentile(r.startLatency, 50))} p95 ${ms(percentile(r.startLatency, 95))} max ${ms(Math.max(...r.startLatency))}; ` +
      `approve p50 ${ms(percentile(r.approveLatency, 50))} p95 ${ms(percentile(r.approveLatency, 95))} max ${ms(Math.max(...r.approveLatency))} ` +
      `(at concurrency ${concurrency}; approvals of evicted sessions replay them)`,
  );
  console.log('(cpu: mean % of one core; main heap: the worker main thread only, workflows run in a worker thread counted in rss)');
  console.log(`worker memory over time (every ${Math.max(1, Math.ceil(r.worker.length / 30))} s):`);
  console.log(
    memoryTimeline(
      r.worker.filter((s) => s.time >= r.t0 - 2_000 && s.time <= r.finished),
      r.phases,
      r.server,
      r.t0,
    ),
  );
  r.others.forEach((m, k) =>
    console.log(`worker ${k + 2} (same task queue): rss peak ${mib(peak(m, (x) => x.rss))}, mean cpu ${percent(mean(m, (x) => x.cpu))}`),
  );
  if (r.checkpoints.length) {
    console.log(`as the parked count grew (approvals of a sample, one at a time; rss of all workers):`);
    console.log(checkpointTable(r.checkpoints));
  }
  console.log(`history events of one: ${r.historyEvents}${label === 'andon' ? ' (follow-up window 0; budget 60)' : ''}`);
  console.log(`found ${r.total}, ${r.completed} completed; by workflow status: ${r.byStatus || 'none'}`);
  console.log(
    `failures: ${r.startFailures} starts, ${r.approveFailures} approvals${r.problems.length ? `\n  ${r.problems.join('\n  ')}` : ''}`,
  );
  if (r.stragglers.length) console.log(`not completed (first ${r.stragglers.length}):\n  ${r.stragglers.join('\n  ')}`);
}

function checkpointTable(checkpoints: Checkpoint[]): string {
  const rows = [['level', 'parked', 'reached after s', 'worker rss', 'rss peak', 'server rss', 'approve p50 ms', 'p95', 'max', 'failed']];
  for (const c of checkpoints) {
    rows.push([
      String(c.level),
      String(c.parked),
      c.seconds.toFixed(1),
      mib(c.rss),
      mib(c.rssPeak),
      mib(c.serverRss),
      ms(percentile(c.approveLatency, 50)),
      ms(percentile(c.approveLatency, 95)),
      ms(Math.max(...c.approveLatency)),
      String(c.approveFailures),
    ]);
  }
  return table(rows);
}

/** Per level: andon's approve latency and worker RSS over the baseline's (above 1: andon costs more). */
function checkpointComparison(a: SideResult, b: SideResult): string {
  const rows = [['level', 'approve p50 andon', 'bare', 'ratio', 'worker rss andon', 'bare', 'ratio']];
  const ratio = (x: number, y: number) => (Number.isFinite(x / y) ? `${(x / y).toFixed(2)}x` : '-');
  for (const x of a.checkpoints) {
    const y = b.checkpoints.find((c) => c.level === x.level);
    if (!y) continue;
    const [pa, pb] = [percentile(x.approveLatency, 50), percentile(y.approveLatency, 50)];
    rows.push([String(x.level), ms(pa), ms(pb), ratio(pa, pb), mib(x.rss), mib(y.rss), ratio(x.rss ?? NaN, y.rss ?? NaN)]);
  }
  return table(rows);
}

/** `count` worker processes of one kind on the same task queue, started one after another (each bundles). */
async function startWorkers(count: number, spec: Parameters<typeof startWorkerProcess>[0]): Promise<BenchWorker[]> {
  const workers: BenchWorker[] = [];
  for (let k = 0; k < count; k++) workers.push(await startWorkerProcess(spec));
  return workers;
}

/** The sum of each worker's latest RSS sample; undefined if one has none yet. */
function sumLatest(memory: BenchWorker['memory'][]): number | undefined {
  let sum = 0;
  for (const m of memory) {
    const last = m[m.length - 1];
    if (!last) return undefined;
    sum += last.rss;
  }
  return sum;
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
