/**
 * Bounded state: a session carries only its newest timeline events across continue-as-new and
 * archives the rest in the next run's start event. However many messages or alert repeats it
 * takes, it keeps running, continues-as-new, and its whole timeline (every seq, none missing)
 * reads back through the SDK, paged and streamed.
 *
 * The message count is ANDON_SOAK_MESSAGES (default 500 here, to keep the suite quick on a
 * small machine); the soak run is `ANDON_SOAK_MESSAGES=10000 npx jest test/integration/bounded-state.test.ts`.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { alertSignal } from '../../src/protocol/messages';
import type { TimelineEvent } from '../../src/session/schema';
import type { SessionClient } from '../../src/client';
import { startDevServer, type DevServer } from '../../src/temporal/dev-server';
import { freePort, TEST_SQLITE_PRAGMAS } from '../support/ports';
import { quickScript, startHarness, type Harness } from '../support/harness';

const MESSAGES = Number(process.env.ANDON_SOAK_MESSAGES ?? 500);
const ALERT_REPEATS = 1_000;
/** Signals in flight at once, and how many messages may wait for a reply before more are sent. */
const BATCH = 50;
const BACKLOG = 200;

// About 100–200 ms per message on a loaded 2-core machine (one reply activity each, one session).
jest.setTimeout(Math.max(240_000, MESSAGES * 250));

let server: DevServer;
let h: Harness;
beforeAll(async () => {
  // The server suggests continue-as-new early, so every test here crosses several runs.
  server = await startDevServer({
    binary: process.env.TEMPORAL_CLI_PATH!,
    dbFile: path.join(mkdtempSync(path.join(os.tmpdir(), 'andon-bounded-')), 'bounded.db'),
    port: await freePort(),
    ui: false,
    sqlitePragmas: TEST_SQLITE_PRAGMAS,
    extraArgs: ['--dynamic-config-value', 'limit.historyCount.suggestContinueAsNew=1000'],
  });
  h = await startHarness({ address: server.address, agent: quickScript() });
});
afterAll(async () => {
  await h?.close();
  await server?.stop();
});

/** Every event, paged through `timeline()` (1,000 at a time). */
async function wholeTimeline(session: SessionClient): Promise<TimelineEvent[]> {
  const events: TimelineEvent[] = [];
  for (;;) {
    const page = await session.timeline({ after: events.at(-1)?.seq ?? 0, limit: 1000, timeoutMs: 60_000 });
    events.push(...page.events);
    if (page.events.length < 1000) return events;
  }
}

/** How many runs the session has had; each within the history the server suggests (1,000 events here), give or take a batch. */
async function runsOf(id: string): Promise<number> {
  let runs = 0;
  for await (const run of h.client.workflow.list({ query: `WorkflowId = '${id}'` })) {
    runs++;
    const events = run.historyLength || (await h.client.workflow.getHandle(id, run.runId).describe()).historyLength;
    expect(events).toBeLessThan(2_000);
  }
  return runs;
}

async function until(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not reached within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function expectWhole(events: TimelineEvent[], lastSeq: number): void {
  expect(events).toHaveLength(lastSeq);
  expect(events.every((e, i) => e.seq === i + 1)).toBe(true);
}

it('40 messages of 32,000 characters leave the session running; every event reads back', async () => {
  const session = await h.andon.session({ prompt: 'long messages' });
  await session.waitFor('awaitingPlanApproval', { timeoutMs: 30_000 });
  const long = (i: number) => `${i} `.padEnd(32_000, 'x');
  // Five at a time: the queue waiting for replies holds at most 256 K characters.
  for (let batch = 0; batch < 8; batch++) {
    await Promise.all(Array.from({ length: 5 }, (_, i) => session.send(long(batch * 5 + i))));
    await until(async () => (await session.info()).pendingMessages === 0, 60_000);
  }
  const view = await session.info();
  expect(view.state).toBe('awaitingPlanApproval');
  expect(await runsOf(session.id)).toBeGreaterThan(1);

  const events = await wholeTimeline(session);
  expectWhole(events, view.lastSeq);
  const sent = events.filter((e) => e.type === 'userMessaged');
  expect(sent.map((e) => e.message.split(' ')[0]).sort((a, b) => Number(a) - Number(b))).toEqual(
    Array.from({ length: 40 }, (_, i) => String(i)),
  );
  // Replies ("echo: " + 32,000 characters) are cut to the event text bound, saying so.
  const replies = events.filter((e) => e.type === 'agentMessaged' && e.inReplyTo);
  expect(replies).toHaveLength(40);
  const cut = replies.filter((e) => e.type === 'agentMessaged' && /… \[6 more characters not kept\]$/.test(e.message));
  expect(cut).toHaveLength(40);

  await session.approve();
  await session.result({ timeoutMs: 60_000 });
});

it('1,000 repeats of its alert: the session keeps waiting, continues as new, and reads back every repeat', async () => {
  const session = await h.andon.session({ prompt: 'flapping alert' });
  await session.waitFor('awaitingPlanApproval', { timeoutMs: 30_000 });
  const handle = h.client.workflow.getHandle(session.id);
  for (let i = 0; i < ALERT_REPEATS; i += BATCH) {
    await Promise.all(
      Array.from({ length: Math.min(BATCH, ALERT_REPEATS - i) }, (_, j) =>
        handle.signal(alertSignal, {
          source: 'test',
          fingerprint: 'flap',
          status: 'firing',
          summary: `repeat ${i + j + 1}`,
          labels: { service: 'db', note: 'y'.repeat(500) },
        }),
      ),
    );
  }
  await until(async () => (await session.info()).alert?.deliveries === ALERT_REPEATS, 120_000);
  const view = await session.info();
  expect(view.state).toBe('awaitingPlanApproval');
  expect(await runsOf(session.id)).toBeGreaterThan(1);

  const events = await wholeTimeline(session);
  expectWhole(events, view.lastSeq);
  expect(events.filter((e) => e.type === 'alertReceived')).toHaveLength(ALERT_REPEATS);

  // The stream reads the same events from the archive, then goes on live to the end.
  const streamed: number[] = [];
  const streaming = (async () => {
    for await (const event of session.stream()) streamed.push(event.seq);
  })();
  await session.approve();
  await session.result({ timeoutMs: 60_000 });
  await streaming;
  expect(streamed.slice(0, events.length)).toEqual(events.map((e) => e.seq));
  expect(streamed.every((seq, i) => seq === i + 1)).toBe(true);
});

it(`${MESSAGES} messages: every one is answered, the session continues as new, and its whole timeline reads back`, async () => {
  const session = await h.andon.session({ prompt: 'a chatty session' });
  await session.waitFor('awaitingPlanApproval', { timeoutMs: 30_000 });
  for (let i = 0; i < MESSAGES; i += BATCH) {
    await until(async () => (await session.info()).pendingMessages <= BACKLOG, 120_000);
    await Promise.all(Array.from({ length: Math.min(BATCH, MESSAGES - i) }, (_, j) => session.send(`message ${i + j + 1}`)));
  }
  await until(async () => (await session.info()).pendingMessages === 0, Math.max(120_000, MESSAGES * 50));
  const view = await session.info();
  expect(view.state).toBe('awaitingPlanApproval');
  expect(await runsOf(session.id)).toBeGreaterThan(1);

  const events = await wholeTimeline(session);
  expectWhole(events, view.lastSeq);
  expect(events.filter((e) => e.type === 'userMessaged')).toHaveLength(MESSAGES);
  expect(events.filter((e) => e.type === 'agentMessaged' && e.inReplyTo)).toHaveLength(MESSAGES);
  expect(events.filter((e) => e.type === 'inputRejected')).toEqual([]);
  await session.approve();
  await session.result({ timeoutMs: 60_000 });
});
