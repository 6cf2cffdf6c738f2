/**
 * `npm run bench -- growth [--messages 0,10,100,1000] [--steps 3,10,30]`
 *
 * How a session's costs grow with what it does, on the bench's own dev server:
 *
 *   chat   a standard session (the demo plan, five steps) asked `m` chat messages while it awaits
 *          approval (one `ask` at a time, each answered by the scripted agent), then approved and
 *          finished; one session per value of --messages;
 *   steps  a session whose plan has `n` steps, approved and finished; one per value of --steps.
 *
 * Each finished session is measured from the server's own records, over its whole run chain
 * (continue-as-new included): history events and bytes (each event as stored, protobuf-encoded),
 * the largest single payload, the timeline a reader sees (all runs), and the session record
 * carried across continue-as-new (the last run's input, when there was one). Ratios first: how
 * each cost grew from the smallest to the largest value, and the cost of one more message or step.
 *
 * The follow-up window is 0, so a session completes when its summary is recorded.
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { Andon } from '../src/client';
import { TEMPORAL_CLI_VERSION } from '../src/temporal/cli-binary';
import { stepsAgentName } from './scripts';
import { growthSummary, growthTable, kib, ms, parseLevels, percentile, type GrowthRow } from './stats';
import { machine, onCleanup, runMain, startBenchServer, startWorkerProcess } from './support';

const TASK_QUEUE = 'bench-growth';
const PROMPT = 'checkout-api error rate above 5%';
/** What the chat asks, in turn: the demo's replies match the first three; the last gets its default reply. */
const QUESTIONS = ['why roll back?', 'what is the risk?', 'how do we roll back?', 'any news from the on-call?'];

export async function growthMain(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      messages: { type: 'string', default: '0,10,100,1000' },
      steps: { type: 'string', default: '3,10,30' },
      'sqlite-pragma': { type: 'string', multiple: true, default: [] },
    },
  });
  // Bounds: a chat of 10,000 messages takes minutes per session here; a plan of 200 steps is past any real one.
  const messages = parseLevels(values.messages, '--messages', 0);
  const steps = parseLevels(values.steps, '--steps', 1);
  if (messages[messages.length - 1]! > 10_000) throw new Error('--messages: at most 10000');
  if (steps[steps.length - 1]! > 200) throw new Error('--steps: at most 200');

  const bench = await startBenchServer(values['sqlite-pragma']);
  console.log(
    `growth: chat ${messages.join(', ')} messages; plans of ${steps.join(', ')} steps; Temporal CLI ${TEMPORAL_CLI_VERSION} dev server (SQLite ${bench.pragmas.join(', ')})`,
  );
  console.log(`machine: ${machine()}`);
  await startWorkerProcess({ kind: 'andon', address: bench.address, taskQueue: TASK_QUEUE, planSteps: steps });
  const connection = await Connection.connect({ address: bench.address });
  onCleanup(() => connection.close());
  const client = new Client({ connection, namespace: 'default' });
  const andon = new Andon({ client, taskQueue: TASK_QUEUE, identity: 'bench', defaults: { followUpWindowMs: 0 } });

  const chat: GrowthRow[] = [];
  const types = new Map<string, Measured['byType']>();
  const askLatency = new Map<number, number[]>();
  for (const m of messages) {
    process.stderr.write(`  chat: ${m} messages...\n`);
    const session = await andon.session({ id: `growth-chat-${m}`, prompt: PROMPT, context: { service: 'checkout-api' } });
    await session.waitFor('awaitingPlanApproval', { timeoutMs: 60_000 });
    const latency: number[] = [];
    for (let i = 0; i < m; i++) {
      const t0 = performance.now();
      await session.ask(QUESTIONS[i % QUESTIONS.length]!, { messageId: `m-${i}`, timeoutMs: 60_000 });
      latency.push(performance.now() - t0);
    }
    askLatency.set(m, latency);
    await session.approve({ comment: 'bench' });
    await finished(client, session.id);
    const { byType, ...row } = await measure(client, andon, session.id);
    chat.push({ series: 'chat', x: m, ...row });
    types.set(`chat, ${m} messages`, byType);
  }

  const plans: GrowthRow[] = [];
  for (const n of steps) {
    process.stderr.write(`  steps: ${n}...\n`);
    const session = await andon.session({ id: `growth-steps-${n}`, prompt: PROMPT, agent: stepsAgentName(n) });
    await session.waitFor('awaitingPlanApproval', { timeoutMs: 60_000 });
    await session.approve({ comment: 'bench' });
    await finished(client, session.id);
    const { byType, ...row } = await measure(client, andon, session.id);
    plans.push({ series: 'steps', x: n, ...row });
    types.set(`steps, ${n}`, byType);
  }

  console.log('\nhow the costs grow (first -> last, last / first, and per unit between them):\n');
  for (const line of [...growthSummary(chat, 'message'), ...growthSummary(plans, 'step')]) console.log(line);
  console.log(`\n${growthTable([...chat, ...plans])}`);
  console.log(
    '\n(chat: the demo session asked x messages while awaiting approval, then approved and finished; steps: a plan of x steps.' +
      '\n carried: the session record the last run started with after continue-as-new, "-" if it never continued;' +
      "\n its timeline is cut to the newest 128 KiB, the rest is archived in the run's start event.)",
  );
  console.log('\nwhere the history bytes go (the largest of each series, by event type):');
  for (const key of [`chat, ${messages[messages.length - 1]} messages`, `steps, ${steps[steps.length - 1]}`]) {
    const byType = types.get(key);
    if (byType) console.log(`  ${key}: ${topTypes(byType)}`);
  }
  const asks = [...askLatency].filter(([, l]) => l.length > 0);
  if (asks.length) {
    console.log(
      `ask latency, ms (p50 / p95 of each chat's last ${Math.min(...asks.map(([, l]) => l.length), 50)} asks): ` +
        asks
          .map(([m, l]) => {
            const tail = l.slice(-50);
            return `${m} messages ${ms(percentile(tail, 50))} / ${ms(percentile(tail, 95))}`;
          })
          .join('; '),
    );
  }
  return 0;
}

/** Waits until the session's workflow (the last run of its chain) has closed, and checks it completed. */
async function finished(client: Client, workflowId: string): Promise<void> {
  await client.workflow.getHandle(workflowId).result();
}

type Measured = Omit<GrowthRow, 'series' | 'x'> & {
  /** Events and bytes by event type, all runs: where the history goes. */
  byType: Map<string, { count: number; bytes: number }>;
};

/** The session's run chain, newest first, read from each run's start event (no visibility lag). */
async function runChain(client: Client, workflowId: string): Promise<temporal.api.history.v1.IHistoryEvent[][]> {
  const chain: temporal.api.history.v1.IHistoryEvent[][] = [];
  let runId: string | undefined;
  for (;;) {
    const events = (await client.workflow.getHandle(workflowId, runId).fetchHistory()).events ?? [];
    chain.push(events);
    const previous = events[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId;
    if (!previous || chain.length > 1_000) return chain;
    runId = previous;
  }
}

async function measure(client: Client, andon: Andon, workflowId: string): Promise<Measured> {
  const chain = await runChain(client, workflowId);
  const all = chain.flat();
  const byType = new Map<string, { count: number; bytes: number }>();
  let historyBytes = 0;
  for (const event of all) {
    const bytes = temporal.api.history.v1.HistoryEvent.encode(event).finish().length;
    const type = (temporal.api.enums.v1.EventType[event.eventType ?? 0] ?? 'unknown').replace(/^EVENT_TYPE_/, '');
    const entry = byType.get(type) ?? { count: 0, bytes: 0 };
    byType.set(type, { count: entry.count + 1, bytes: entry.bytes + bytes });
    historyBytes += bytes;
  }
  const largestPayloadBytes = Math.max(0, ...all.flatMap((e) => payloadSizes(e)));
  // The newest run's input, when it was continued: { config, carried, archived } (workflows/session/record.ts carryOver).
  let carriedBytes: number | undefined;
  let carriedTimelineBytes: number | undefined;
  const input = chain[0]![0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0]?.data;
  if (chain.length > 1 && input) {
    const parsed = JSON.parse(Buffer.from(input).toString('utf8')) as { carried?: { timeline?: unknown[] } };
    carriedBytes = jsonBytes(parsed.carried);
    carriedTimelineBytes = jsonBytes(parsed.carried?.timeline ?? []);
  }
  return {
    runs: chain.length,
    events: all.length,
    historyBytes,
    timelineBytes: await timelineBytes(andon, workflowId),
    carriedBytes,
    carriedTimelineBytes,
    largestPayloadBytes,
    byType,
  };
}

/** The event types holding most of a history's bytes. */
function topTypes(byType: Measured['byType'], count = 5): string {
  const total = [...byType.values()].reduce((sum, e) => sum + e.bytes, 0);
  return [...byType]
    .sort(([, a], [, b]) => b.bytes - a.bytes)
    .slice(0, count)
    .map(([type, e]) => `${type} ${e.count} events ${kib(e.bytes)} KiB (${((100 * e.bytes) / total).toFixed(0)}%)`)
    .join('; ');
}

/** The whole timeline as the SDK reads it (archived events included), as UTF-8 JSON. */
async function timelineBytes(andon: Andon, workflowId: string): Promise<number> {
  const session = andon.session(workflowId);
  let bytes = 0;
  let after = 0;
  for (;;) {
    const page = await session.timeline({ after, limit: 1000 });
    for (const event of page.events) bytes += jsonBytes(event);
    const last = page.events[page.events.length - 1];
    if (!last || last.seq >= page.lastSeq) return bytes;
    after = last.seq;
  }
}

function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value) ?? '', 'utf8');
}

/** Sizes of every payload (an object with `data` bytes and `metadata`) anywhere in an event. */
function payloadSizes(value: unknown, depth = 0): number[] {
  if (value === null || typeof value !== 'object' || depth > 20 || value instanceof Uint8Array) return [];
  const record = value as Record<string, unknown>;
  if (record.data instanceof Uint8Array && 'metadata' in record) return [record.data.length];
  return Object.values(record).flatMap((child) => payloadSizes(child, depth + 1));
}

if (require.main === module) runMain(() => growthMain(process.argv.slice(2)));
