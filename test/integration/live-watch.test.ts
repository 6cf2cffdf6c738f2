/**
 * Live watching through `waitForEvents` (workflows/session/watchers.ts): a stream learns of each
 * new event from the answer of a long-poll update, one round trip. These tests check that the
 * fast path is really taken, that it delivers every event exactly once and in order, and that it
 * keeps doing so where it must step aside: more watchers than it serves, continue-as-new, a
 * worker killed mid-wait. Bad input is refused by the validator, naming the field, with nothing
 * written to history.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WorkflowUpdateFailedError, type Client } from '@temporalio/client';
import Fastify from 'fastify';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { workflowBundle } from '../support/harness';
import { waitForEventsUpdate } from '../../src/protocol/messages';
import type { SessionClient, TimelineEvent } from '../../src/client';
import { MAX_WATCHERS } from '../../workflows/session/watchers';
import { errorsPlugin } from '../../src/service/error-handler';
import { eventsPlugin } from '../../src/service/events';
import { SessionFeeds } from '../../src/service/feed';
import { freePort } from '../support/ports';
import { devServer, startWorkerProcess } from '../support/processes';
import { quickScript, startHarness, type Harness } from '../support/harness';
import { ScriptedAgent, parseScript } from '../../src/agents/scripted';

jest.setTimeout(120_000);

const dir = mkdtempSync(path.join(os.tmpdir(), 'andon-live-watch-'));
const T = { timeoutMs: 30_000 };
const EventType = temporal.api.enums.v1.EventType;

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ agent: quickScript(), liveWaits: true });
});
afterAll(() => h.close());

/** Everything a stream yields, until it ends on its own (a guard fails a hung stream instead). */
async function collect(session: SessionClient, after = 0): Promise<TimelineEvent[]> {
  const signal = AbortSignal.timeout(90_000);
  const events: TimelineEvent[] = [];
  for await (const event of session.stream({ after, signal })) events.push(event);
  if (signal.aborted) throw new Error(`the stream of ${session.id} did not end; got ${events.map((e) => e.seq).join(',')}`);
  return events;
}

/** Waits for watchers' long polls accepted in the session's runs (all of them), and the number of runs. */
async function acceptedWaits(client: Client, workflowId: string): Promise<{ waits: number; runs: number }> {
  let waits = 0;
  let runs = 0;
  for await (const execution of client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) {
    runs++;
    const history = await client.workflow.getHandle(workflowId, execution.runId).fetchHistory();
    for (const event of history.events ?? []) {
      if (event.eventType !== EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED) continue;
      if (event.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name === waitForEventsUpdate.name) waits++;
    }
  }
  return { waits, runs };
}

/** Every run of the session replays against the current workflow code (a wait must not make a history unreplayable). */
async function replays(client: Client, workflowId: string): Promise<void> {
  const bundle = workflowBundle();
  if (!bundle) throw new Error('no workflow bundle from the global setup');
  for await (const execution of client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) {
    const history = await client.workflow.getHandle(workflowId, execution.runId).fetchHistory();
    await Worker.runReplayHistory({ workflowBundle: bundle }, history, `${workflowId}/${execution.runId}`);
  }
}

const seqs = (events: TimelineEvent[]) => events.map((e) => e.seq);
const upTo = (events: TimelineEvent[], type: TimelineEvent['type']) => events.slice(0, events.findIndex((e) => e.type === type) + 1);

/** Resolves once `n` waits of the session are in flight (accepted, not completed) in its current run. */
async function waitsInFlight(client: Client, workflowId: string, n: number): Promise<void> {
  for (const deadline = Date.now() + 20_000; Date.now() < deadline;) {
    const events = (await client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
    const accepted = events.filter((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED).length;
    const completed = events.filter((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED).length;
    if (accepted - completed >= n) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`fewer than ${n} waits of ${workflowId} in flight after 20 s`);
}

it('a live stream is fed by waitForEvents: every event once, in order, as stored', async () => {
  const session = await h.andon.session({ prompt: 'watch fast' });
  await session.waitFor('awaitingPlanApproval', T);
  const streamed = collect(session);
  await waitsInFlight(h.client, session.id, 1);
  await session.approve({ by: 'test:alice' });
  const events = await streamed;
  const { events: stored } = await session.timeline();
  expect(seqs(events)).toEqual(seqs(upTo(stored, 'sessionCompleted')));
  expect(events.map((e) => e.type)).toEqual([
    'sessionCreated',
    'planGenerated',
    'planApproved',
    'progressUpdated',
    'progressUpdated',
    'sessionCompleted',
  ]);
  expect((await acceptedWaits(h.client, session.id)).waits).toBeGreaterThan(0);
  await replays(h.client, session.id);
});

it(`more watchers than the ${MAX_WATCHERS} it serves: the others read the slow way, and all see every event once`, async () => {
  const session = await h.andon.session({ prompt: 'many watchers' });
  await session.waitFor('awaitingPlanApproval', T);
  const watchers = Array.from({ length: MAX_WATCHERS + 3 }, () => collect(session, 1));
  await waitsInFlight(h.client, session.id, MAX_WATCHERS);
  await session.approve({ by: 'test:alice' });
  const all = await Promise.all(watchers);
  const { events: stored } = await session.timeline();
  const expected = seqs(upTo(stored, 'sessionCompleted')).filter((seq) => seq > 1);
  for (const events of all) expect(seqs(events)).toEqual(expected);
  // The waits never exceeded the cap (Temporal allows ten updates in flight; commands keep the rest).
  const history = (await h.client.workflow.getHandle(session.id).fetchHistory()).events ?? [];
  let inFlight = 0;
  let most = 0;
  for (const event of history) {
    if (event.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED)
      if (event.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name === waitForEventsUpdate.name) inFlight++;
    if (event.eventType === EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED) inFlight = Math.max(0, inFlight - 1);
    most = Math.max(most, inFlight);
  }
  expect(most).toBe(MAX_WATCHERS);
  await replays(h.client, session.id);
});

it('refuses bad input in the validator, naming the field, and writes nothing to history', async () => {
  const session = await h.andon.session({ prompt: 'bad waits' });
  await session.waitFor('awaitingPlanApproval', T);
  const handle = h.client.workflow.getHandle(session.id);
  const before = (await handle.fetchHistory()).events?.length;
  const cases: Array<[unknown, string]> = [
    [{ after: -1 }, 'after'],
    [{ after: 1.5 }, 'after'],
    [{ after: '3' }, 'after'],
    [{ after: 0, limit: 0 }, 'limit'],
    [{ after: 0, limit: 201 }, 'limit'],
    [{ after: 0, extra: true }, 'input'],
    [{}, 'after'],
    [null, 'input'],
    ['after', 'input'],
  ];
  // A small fuzz: random shapes and values, each refused or answered, never hanging or failing the workflow.
  const junk = [0, -5, 2 ** 60, 'x'.repeat(10_000), [], [1], { after: [] }, { after: null }, { limit: 5 }, true];
  for (const [input, field] of cases) {
    const error = await handle.executeUpdate(waitForEventsUpdate, { args: [input as never] }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkflowUpdateFailedError);
    const cause = (error as WorkflowUpdateFailedError).cause as { type?: string; message?: string };
    expect(cause.type).toBe('ValidationError');
    expect(cause.message).toContain(`${field}:`);
  }
  for (const input of junk) {
    await expect(handle.executeUpdate(waitForEventsUpdate, { args: [input as never] })).rejects.toBeInstanceOf(WorkflowUpdateFailedError);
  }
  expect((await handle.fetchHistory()).events?.length).toBe(before);
  // An answerable wait answers at once with what is there.
  const page = await handle.executeUpdate(waitForEventsUpdate, { args: [{ after: 0, limit: 1 }] });
  expect(seqs(page.events)).toEqual([1]);
  expect(page.state).toBe('awaitingPlanApproval');
  await session.cancel('done here');
});

it('follows the session across continue-as-new: every event once, in order', async () => {
  const server = await devServer(path.join(dir, 'can.db'), await freePort(), [
    '--dynamic-config-value',
    'limit.historyCount.suggestContinueAsNew=40',
  ]);
  const steps = Array.from({ length: 8 }, (_, i) => ({ title: `Step ${i + 1}`, result: { description: `did ${i + 1}` } }));
  const can = await startHarness({
    address: server.address,
    agent: quickScript({ plans: [{ steps }] }),
    followUpWindowMs: 5_000,
    liveWaits: true,
  });
  try {
    const session = await can.andon.session({ prompt: 'a long watched one' });
    await session.waitFor('awaitingPlanApproval', T);
    const streamed = collect(session);
    await waitsInFlight(can.client, session.id, 1);
    await session.approve();
    const events = await streamed;
    const { events: stored } = await session.timeline({ limit: 1000 });
    expect(seqs(stored)).toEqual(stored.map((_, i) => i + 1));
    expect(seqs(events)).toEqual(seqs(upTo(stored, 'sessionCompleted')));
    expect(events.filter((e) => e.type === 'progressUpdated')).toHaveLength(8);
    const { waits, runs } = await acceptedWaits(can.client, session.id);
    expect(runs).toBeGreaterThan(1);
    expect(waits).toBeGreaterThan(1);
    await replays(can.client, session.id);
  } finally {
    await can.close();
    await server.stop();
  }
});

it('a worker killed while a wait is in flight: the stream goes on with the next worker, nothing lost or repeated', async () => {
  const scriptFile = path.join(dir, 'quick.json');
  writeFileSync(scriptFile, JSON.stringify(quickScript()));
  const k = await startHarness({ worker: false, liveWaits: true });
  const child = await startWorkerProcess(k.address, k.taskQueue, scriptFile);
  try {
    const session = await k.andon.session({ prompt: 'survive a crash while watched' });
    await session.waitFor('awaitingPlanApproval', T);
    const streamed = collect(session);
    await waitsInFlight(k.client, session.id, 1);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    await k.startWorker(quickScript());
    await session.approve({ by: 'test:after-crash' });
    const events = await streamed;
    const { events: stored } = await session.timeline();
    expect(seqs(events)).toEqual(seqs(upTo(stored, 'sessionCompleted')));
    expect(events.filter((e) => e.type === 'planApproved')).toHaveLength(1);
    await replays(k.client, session.id);
  } finally {
    child.kill('SIGKILL');
    await k.close();
  }
});

it('a wait in flight when the follow-up window closes answers with nothing, and the workflow closes', async () => {
  const short = await startHarness({ agent: quickScript(), followUpWindowMs: 1_500, liveWaits: true });
  try {
    const session = await short.andon.run({ prompt: 'close while watched' });
    await session.result(T);
    const { lastSeq } = await session.info();
    const page = await short.client.workflow.getHandle(session.id).executeUpdate(waitForEventsUpdate, { args: [{ after: lastSeq }] });
    expect(page.events).toEqual([]);
    expect(page.state).toBe('completed');
    expect((await short.client.workflow.getHandle(session.id).describe()).status.name).not.toBe('RUNNING');
  } finally {
    await short.close();
  }
});

/** The seqs of an SSE response's event frames, read until its `end` frame. */
async function sseSeqs(response: Response): Promise<number[]> {
  const decoder = new TextDecoder();
  let text = '';
  for await (const chunk of response.body!) {
    text += decoder.decode(chunk as Uint8Array, { stream: true });
    if (text.includes('event: end\n')) break;
  }
  if (!text.includes('event: end\n')) throw new Error(`the SSE stream ended without an end frame: ${text.slice(-500)}`);
  return [...text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
}

it('SSE through continue-as-new and a worker killed mid-wait: every event once, in order', async () => {
  const server = await devServer(path.join(dir, 'sse.db'), await freePort(), [
    '--dynamic-config-value',
    'limit.historyCount.suggestContinueAsNew=40',
  ]);
  const scriptFile = path.join(dir, 'sse-script.json');
  const steps = Array.from({ length: 6 }, (_, i) => ({ title: `Step ${i + 1}`, result: { description: `did ${i + 1}` } }));
  writeFileSync(scriptFile, JSON.stringify(quickScript({ plans: [{ steps }] })));
  const k = await startHarness({ address: server.address, worker: false, liveWaits: true });
  const child = await startWorkerProcess(k.address, k.taskQueue, scriptFile);
  const feeds = new SessionFeeds({ source: (id, signal) => k.andon.session(id).stream({ after: 0, signal }), lingerMs: 100 });
  const app = Fastify({ logger: false, forceCloseConnections: true });
  try {
    await app.register(errorsPlugin, { retryAfterSeconds: 1 });
    await app.register(eventsPlugin, { andon: k.andon, feeds, heartbeatMs: 1_000 });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.server.address();
    if (!address || typeof address === 'string') throw new Error('no address');
    const session = await k.andon.session({ prompt: 'watched over SSE' });
    await session.waitFor('awaitingPlanApproval', T);
    const response = await fetch(`http://127.0.0.1:${address.port}/v1/sessions/${session.id}/events`, {
      headers: { accept: 'text/event-stream' },
      signal: AbortSignal.timeout(90_000),
    });
    expect(response.status).toBe(200);
    const read = sseSeqs(response);
    await waitsInFlight(k.client, session.id, 1);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    await k.startWorker(quickScript({ plans: [{ steps }] }));
    await session.approve({ by: 'test:after-crash' });
    const got = await read;
    const { events: stored } = await session.timeline({ limit: 1000 });
    expect(got).toEqual(seqs(upTo(stored, 'sessionCompleted')));
    const { waits, runs } = await acceptedWaits(k.client, session.id);
    expect(runs).toBeGreaterThan(1);
    expect(waits).toBeGreaterThan(1);
    await replays(k.client, session.id);
  } finally {
    child.kill('SIGKILL');
    feeds.close();
    await app.close();
    await k.close();
    await server.stop();
  }
});

it('watched while asked and approved (updates and activities crossing waits): the histories replay', async () => {
  for (let i = 0; i < 6; i++) {
    const session = await h.andon.session({ prompt: `crossing ${i}` });
    await session.waitFor('awaitingPlanApproval', T);
    const streamed = collect(session);
    await waitsInFlight(h.client, session.id, 1);
    await session.ask('status?');
    await session.send('fine');
    await session.approve();
    const events = await streamed;
    const { events: stored } = await session.timeline();
    expect(seqs(events)).toEqual(seqs(upTo(stored, 'sessionCompleted')));
    await replays(h.client, session.id);
  }
});

it('waits sent while a local activity (the summary) runs are refused or land after it: the histories replay', async () => {
  // A wait accepted in the task that delivers a local activity's result replays out of order (a
  // nondeterminism error, seen in service-events): the validator refuses (WatchLater) while a
  // local activity runs. Which task a wait lands in depends on timing, so this sends several.
  let entered!: () => void;
  const summarizing = new Promise<void>((resolve) => (entered = resolve));
  class SlowSummary extends ScriptedAgent {
    override async summarize(...args: Parameters<ScriptedAgent['summarize']>) {
      entered();
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      return super.summarize(...args);
    }
  }
  const slow = await startHarness({ agent: new SlowSummary(parseScript(quickScript())), liveWaits: true, followUpWindowMs: 3_000 });
  try {
    for (let i = 0; i < 3; i++) {
      const session = await slow.andon.run({ prompt: `slow summary ${i}` });
      const streamed = collect(session);
      await summarizing;
      const handle = slow.client.workflow.getHandle(session.id);
      const outcomes = await Promise.all(
        Array.from({ length: 3 }, (_, n) =>
          new Promise((resolve) => setTimeout(resolve, n * 300)).then(() =>
            handle.executeUpdate(waitForEventsUpdate, { args: [{ after: 0, limit: 1 }] }).then(
              (page) => (page.events.length === 1 ? 'answered' : 'empty'),
              (e: unknown) => ((e as WorkflowUpdateFailedError).cause as { type?: string } | undefined)?.type ?? String(e),
            ),
          ),
        ),
      );
      for (const outcome of outcomes) expect(['answered', 'WatchLater']).toContain(outcome);
      const events = await streamed;
      const { events: stored } = await session.timeline();
      expect(seqs(events)).toEqual(seqs(upTo(stored, 'sessionCompleted')));
      await session.result(T);
      await replays(slow.client, session.id);
    }
  } finally {
    await slow.close();
  }
});
