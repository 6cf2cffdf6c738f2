/**
 * `npm run bench -- ops [--iterations 50] [--warmup 5] [--sqlite-pragma p]...`
 *
 * Each session operation next to Temporal's own round trip for the same message, on the same
 * dev server, measured in alternating pairs (andon, bare, bare, andon, ...) so load from anything
 * else on the machine falls on both sides alike:
 *
 *   start    andon.session(config)                 vs client.workflow.start of a workflow waiting on a condition
 *   approve  SessionClient.approve (update + validator) vs a bare update with a validator that sets a flag
 *   ask      SessionClient.ask (reply: an activity) vs a bare update whose handler calls an activity
 *   event    send / approve -> the event out of SessionClient.stream()
 *            vs a bare signal / update -> a history long-poll (waitNewEvent) seeing WorkflowTaskCompleted
 *
 * Plus the history length of a standard session (budget: 60 events).
 *
 * The andon side is the real thing (createWorker, the scripted demo agent with its delays set to
 * 0, the SDK); the bare side is bench/bare-workflows.ts with its own worker and task queue. Each
 * worker runs in its own process; this process is only the client.
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { Andon, type SessionClient } from '../src/client';
import type { TimelineEvent } from '../src/session/schema';
import { bareApproveUpdate, bareAskUpdate, bareSendSignal, bareViewQuery, type bareSession } from './bare-workflows';
import { TEMPORAL_CLI_VERSION } from '../src/temporal/cli-binary';
import { machine, ms, onCleanup, percentile, runMain, startBenchServer, startWorkerProcess, table } from './support';

const ANDON_QUEUE = 'bench-andon';
const BARE_QUEUE = 'bench-bare';
const PROMPT = 'checkout-api error rate above 5%';

type Side = 'andon' | 'bare';
const OPS = ['start', 'approve', 'ask', 'event: send', 'event: approve', 'read: info'] as const;
/** Not a budget: shown because every stream and waitFor wake-up pays one such read. */
const INFORMATIVE = new Set<Op>(['read: info']);
type Op = (typeof OPS)[number];

const BASELINES: Record<Op, [string, string]> = {
  start: ['andon.session(config)', 'workflow.start, workflow waits on a condition'],
  approve: ['session.approve() (update + validator)', 'update with a validator that sets a flag'],
  ask: ['session.ask() -> scripted reply (activity)', 'update -> activity returning a string'],
  'event: send': ['session.send() -> userMessaged out of session.stream()', 'signal -> history long-poll sees WorkflowTaskCompleted'],
  'event: approve': ['session.approve() -> planApproved out of session.stream()', 'update -> history long-poll sees WorkflowTaskCompleted'],
  'read: info': ['session.info() (describe + view query)', 'query returning two fields'],
};

export async function opsMain(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      iterations: { type: 'string', default: '50' },
      warmup: { type: 'string', default: '5' },
      'sqlite-pragma': { type: 'string', multiple: true, default: [] },
    },
  });
  const iterations = positive(values.iterations, '--iterations');
  const warmup = Number(values.warmup);
  const total = warmup + iterations;

  const bench = await startBenchServer(values['sqlite-pragma']);
  console.log(
    `ops: ${iterations} iterations after ${warmup} warm-up, Temporal CLI ${TEMPORAL_CLI_VERSION} dev server (SQLite ${bench.pragmas.join(', ')})`,
  );
  console.log(`machine: ${machine()}`);
  await Promise.all([
    startWorkerProcess({ kind: 'andon', address: bench.address, taskQueue: ANDON_QUEUE }),
    startWorkerProcess({ kind: 'bare', address: bench.address, taskQueue: BARE_QUEUE }),
  ]);

  const connection = await Connection.connect({ address: bench.address });
  onCleanup(() => connection.close());
  const client = new Client({ connection, namespace: 'default' });
  const andon = new Andon({ client, taskQueue: ANDON_QUEUE, identity: 'bench', defaults: { followUpWindowMs: 0 } });
  // Streams get their own connection, instrumented so a measurement starts only once the stream
  // is caught up and long-polling (see `longPolling`).
  const watchConnection = await Connection.connect({ address: bench.address });
  onCleanup(() => watchConnection.close());
  const longPolls = instrumentLongPolls(watchConnection);
  const watchAndon = new Andon({
    client: new Client({ connection: watchConnection, namespace: 'default' }),
    taskQueue: ANDON_QUEUE,
    identity: 'bench',
    liveWaits: process.env.ANDON_LIVE_WAITS !== '0',
  });

  const samples = new Map<string, number[]>();
  const record = (op: Op, side: Side, i: number, value: number) => {
    if (i < warmup) return;
    const key = `${op}/${side}`;
    samples.set(key, [...(samples.get(key) ?? []), value]);
  };
  /** Runs both sides of one iteration, alternating which goes first. */
  const pair = async (i: number, andonSide: () => Promise<void>, bareSide: () => Promise<void>) => {
    if (i % 2 === 0) {
      await andonSide();
      await bareSide();
    } else {
      await bareSide();
      await andonSide();
    }
  };
  const progress = (what: string) => process.stderr.write(`  ${what}...\n`);

  // Two sets of sessions (and bare workflows): one is approved plainly, the other while streaming.
  const sets = ['a', 'b'] as const;
  const sessions: Record<(typeof sets)[number], SessionClient[]> = { a: [], b: [] };

  progress(`start (${2 * total} pairs)`);
  for (const set of sets) {
    for (let i = 0; i < total; i++) {
      await pair(
        i,
        async () => {
          const t0 = performance.now();
          const session = await andon.session({ id: `ops-${set}-${i}`, prompt: PROMPT, context: { service: 'checkout-api' } });
          record('start', 'andon', i, performance.now() - t0);
          await session.waitFor('awaitingPlanApproval', { timeoutMs: 60_000 });
          sessions[set][i] = session;
        },
        async () => {
          const watch = new HistoryWatch(client, bareId(set, i));
          const t0 = performance.now();
          await client.workflow.start<typeof bareSession>('bareSession', { workflowId: bareId(set, i), taskQueue: BARE_QUEUE });
          record('start', 'bare', i, performance.now() - t0);
          await watch.taskCompleted(0);
        },
      );
    }
  }

  progress(`ask (${total} pairs)`);
  for (let i = 0; i < total; i++) {
    await pair(
      i,
      async () => {
        const t0 = performance.now();
        await sessions.a[i]!.ask('why roll back?');
        record('ask', 'andon', i, performance.now() - t0);
      },
      async () => {
        const t0 = performance.now();
        await client.workflow
          .getHandle(bareId('a', i))
          .executeUpdate(bareAskUpdate, { args: [{ message: 'why roll back?', messageId: `m-${i}`, by: 'bench' }] });
        record('ask', 'bare', i, performance.now() - t0);
      },
    );
  }

  progress(`read: info (${total} pairs)`);
  for (let i = 0; i < total; i++) {
    await pair(
      i,
      async () => {
        const t0 = performance.now();
        await sessions.a[i]!.info();
        record('read: info', 'andon', i, performance.now() - t0);
      },
      async () => {
        const t0 = performance.now();
        await client.workflow.getHandle(bareId('a', i)).query(bareViewQuery);
        record('read: info', 'bare', i, performance.now() - t0);
      },
    );
  }

  progress(`event: send (${total} pairs)`);
  for (let i = 0; i < total; i++) {
    await pair(
      i,
      async () => {
        const session = sessions.b[i]!;
        const value = await timeStreamed(watchAndon.session(session.id), longPolls, 'userMessaged', () => session.send('any news?'));
        record('event: send', 'andon', i, value);
      },
      async () => {
        const handle = client.workflow.getHandle(bareId('b', i));
        const value = await timeWatched(client, bareId('b', i), () => handle.signal(bareSendSignal, { message: 'any news?', by: 'bench' }));
        record('event: send', 'bare', i, value);
      },
    );
  }

  progress(`approve (${total} pairs)`);
  for (let i = 0; i < total; i++) {
    await pair(
      i,
      async () => {
        const t0 = performance.now();
        await sessions.a[i]!.approve({ comment: 'go' });
        record('approve', 'andon', i, performance.now() - t0);
        await sessions.a[i]!.result({ timeoutMs: 60_000 }); // let its steps finish before the next pair
      },
      async () => {
        const t0 = performance.now();
        await client.workflow.getHandle(bareId('a', i)).executeUpdate(bareApproveUpdate, { args: [{ by: 'bench', comment: 'go' }] });
        record('approve', 'bare', i, performance.now() - t0);
      },
    );
  }

  progress(`event: approve (${total} pairs)`);
  for (let i = 0; i < total; i++) {
    await pair(
      i,
      async () => {
        const session = sessions.b[i]!;
        const value = await timeStreamed(watchAndon.session(session.id), longPolls, 'planApproved', () =>
          session.approve({ comment: 'go' }),
        );
        record('event: approve', 'andon', i, value);
        await session.result({ timeoutMs: 60_000 });
      },
      async () => {
        const handle = client.workflow.getHandle(bareId('b', i));
        const value = await timeWatched(client, bareId('b', i), () =>
          handle.executeUpdate(bareApproveUpdate, { args: [{ by: 'bench', comment: 'go' }] }),
        );
        record('event: approve', 'bare', i, value);
      },
    );
  }

  progress('history of a standard session');
  const history = await standardSessionHistory(andon);

  const rows = [['operation', 'andon p50', 'p95', 'bare p50', 'p95', 'ratio p50', 'p95', '<= 1.2x']];
  for (const op of OPS) {
    const a = samples.get(`${op}/andon`) ?? [];
    const b = samples.get(`${op}/bare`) ?? [];
    const [a50, a95, b50, b95] = [percentile(a, 50), percentile(a, 95), percentile(b, 50), percentile(b, 95)];
    const verdict = INFORMATIVE.has(op) ? '(info)' : a50 / b50 <= 1.2 ? 'yes' : 'NO';
    rows.push([op, ms(a50), ms(a95), ms(b50), ms(b95), `${(a50 / b50).toFixed(2)}x`, `${(a95 / b95).toFixed(2)}x`, verdict]);
  }
  console.log(`\nlatency in ms, ${iterations} samples per cell (start: ${2 * iterations})\n`);
  console.log(table(rows));
  console.log('\nwhat each row compares (andon | bare Temporal):');
  for (const op of OPS) console.log(`  ${op.padEnd(15)} ${BASELINES[op][0]} | ${BASELINES[op][1]}`);
  console.log(`\nhistory events, standard session (plan, approval, 5 steps, done, follow-up window closed; budget 60):`);
  console.log(`  andon.session(): ${history.session}   andon.alert(): ${history.alert}`);
  return 0;
}

function bareId(set: string, i: number): string {
  return `bare-${set}-${i}`;
}

/**
 * Times `trigger` -> the first timeline event of `type` coming out of `session.stream()`. The
 * clock starts once the stream has caught up and its history long-poll is in flight, as for a
 * watcher that has been open a while.
 */
async function timeStreamed(
  session: SessionClient,
  longPolls: LongPolls,
  type: TimelineEvent['type'],
  trigger: () => Promise<unknown>,
): Promise<number> {
  const controller = new AbortController();
  try {
    const { lastSeq } = await session.info();
    const polling = longPolls.next(session.id);
    const stream = session.stream({ after: lastSeq, signal: controller.signal });
    let next = stream.next();
    // Nothing is due before the trigger: a stream that yields or fails now is a broken measurement.
    let armed = false;
    const early = next.then((r) => {
      if (!armed) throw new Error(`stream of ${session.id} yielded before the trigger: ${JSON.stringify(r.value)}`);
    });
    await Promise.race([polling, early]);
    armed = true;
    const t0 = performance.now();
    const triggered = trigger();
    const failed = failureOf(triggered);
    for (;;) {
      const { value, done } = await Promise.race([next, failed]);
      if (done) throw new Error(`stream of ${session.id} ended before a ${type} event`);
      if (value.type === type) {
        const elapsed = performance.now() - t0;
        await triggered;
        return elapsed;
      }
      next = stream.next();
    }
  } finally {
    controller.abort();
  }
}

/** Times `trigger` -> a history long-poll on a bare workflow sees the next WorkflowTaskCompleted. */
async function timeWatched(client: Client, workflowId: string, trigger: () => Promise<unknown>): Promise<number> {
  const watch = new HistoryWatch(client, workflowId);
  const seen = await watch.catchUp();
  const t0 = performance.now();
  const completed = watch.taskCompleted(seen);
  const triggered = trigger();
  await Promise.race([completed, failureOf(triggered)]);
  const elapsed = performance.now() - t0;
  await triggered;
  return elapsed;
}

/** Rejects when `promise` does; never settles otherwise (so a failed trigger cannot leave a wait hanging). */
function failureOf(promise: Promise<unknown>): Promise<never> {
  return promise.then(() => new Promise<never>(() => undefined));
}

/** The bare watcher: Temporal's history long-poll, with nothing of andon's on top. */
class HistoryWatch {
  private nextPageToken?: Uint8Array;
  private lastEventId = 0;

  constructor(
    private readonly client: Client,
    private readonly workflowId: string,
  ) {}

  /** Reads the history so far; returns the last event id. */
  async catchUp(): Promise<number> {
    await this.poll();
    return this.lastEventId;
  }

  /** Resolves on the first WorkflowTaskCompleted after event `after`. */
  async taskCompleted(after: number): Promise<void> {
    for (;;) {
      const events = await this.poll();
      if (events.some((e) => e.workflowTaskCompletedEventAttributes && Number(e.eventId) > after)) return;
    }
  }

  private async poll() {
    const response = await this.client.workflowService.getWorkflowExecutionHistory({
      namespace: this.client.options.namespace,
      execution: { workflowId: this.workflowId },
      nextPageToken: this.nextPageToken,
      waitNewEvent: true,
      maximumPageSize: 1000,
    });
    const events = response.history?.events ?? [];
    if (events.length) this.lastEventId = Number(events[events.length - 1]!.eventId);
    this.nextPageToken = response.nextPageToken?.length ? response.nextPageToken : undefined;
    return events;
  }
}

interface LongPolls {
  /** Resolves when a history long-poll continuing from a page token, or an update outcome poll, is sent for `workflowId`. */
  next(workflowId: string): Promise<void>;
}

/**
 * Wraps one connection's GetWorkflowExecutionHistory and PollWorkflowExecutionUpdate so the bench
 * knows when a watcher is caught up: it is then waiting on a long-poll that continues from a page
 * token, or on the outcome of its accepted `waitForEvents`. Bench-only; the SDK's
 * own connection is left alone.
 */
function instrumentLongPolls(connection: Connection): LongPolls {
  const service = connection.workflowService;
  const original = service.getWorkflowExecutionHistory.bind(service);
  const waiting = new Map<string, () => void>();
  type Request = Parameters<typeof original>[0];
  (service as { getWorkflowExecutionHistory: (request: Request) => ReturnType<typeof original> }).getWorkflowExecutionHistory = (
    request: Request,
  ) => {
    const id = request.execution?.workflowId ?? '';
    if (request.waitNewEvent && request.nextPageToken?.length && waiting.has(id)) {
      waiting.get(id)!();
      waiting.delete(id);
    }
    return original(request);
  };
  // A watcher on the long-poll update (waitForEvents) is caught up once it polls for the outcome of an accepted wait.
  const originalPoll = service.pollWorkflowExecutionUpdate.bind(service);
  type PollRequest = Parameters<typeof originalPoll>[0];
  (service as { pollWorkflowExecutionUpdate: (request: PollRequest) => ReturnType<typeof originalPoll> }).pollWorkflowExecutionUpdate = (
    request: PollRequest,
  ) => {
    const id = request.updateRef?.workflowExecution?.workflowId ?? '';
    if (waiting.has(id)) {
      waiting.get(id)!();
      waiting.delete(id);
    }
    return originalPoll(request);
  };
  return { next: (workflowId) => new Promise<void>((resolve) => waiting.set(workflowId, resolve)) };
}

/** History length of the standard session, started as a session and as an alert. */
async function standardSessionHistory(andon: Andon): Promise<{ session: number; alert: number }> {
  const run = async (session: SessionClient) => {
    await session.waitFor('awaitingPlanApproval', { timeoutMs: 60_000 });
    await session.approve();
    await session.result({ timeoutMs: 60_000 });
    const handle = andon.client.workflow.getHandle(session.id);
    await handle.result();
    const events = (await handle.fetchHistory()).events ?? [];
    const last = temporal.api.enums.v1.EventType[events[events.length - 1]!.eventType!];
    if (last !== 'EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED') throw new Error(`${session.id} ended with ${last}`);
    return events.length;
  };
  const config = { prompt: PROMPT, context: { service: 'checkout-api', severity: 'critical' }, followUpWindow: 300 };
  const session = await run(await andon.session({ ...config, id: 'ops-history-session' }));
  const alert = await run(
    await andon.alert(
      { source: 'bench', fingerprint: 'checkout-api-5xx', status: 'firing', summary: PROMPT, labels: { service: 'checkout-api' } },
      { ...config, id: 'ops-history-alert' },
    ),
  );
  return { session, alert };
}

function positive(value: string | undefined, flag: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} must be a positive integer, got ${value}`);
  return n;
}

if (require.main === module) runMain(() => opsMain(process.argv.slice(2)));
