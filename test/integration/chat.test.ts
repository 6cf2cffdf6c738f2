/**
 * Chat: ask and send, answered in order beside the session's work, idempotent on messageId,
 * with timeouts, in the follow-up window, and as the answer to the agent's question.
 */
import { randomUUID } from 'node:crypto';
import { askUpdate, cancelSignal } from '../../src/protocol/messages';
import { InvalidStateError, TimeoutError, type SessionClient, type TimelineEvent } from '../../src/client';
import { quickScript, startHarness, type Harness } from '../support/harness';
import { TestAgent } from '../support/test-agent';
import { at } from '../support/at';

const backend = new TestAgent({
  default: quickScript({
    replies: [
      { match: 'status', reply: 'all good on {title}' },
      { match: '^why', reply: 'because {context.service} said "{prompt}"; you asked "{message}" ({stepCount} steps)' },
      { match: 'status|why', reply: 'never used: an earlier reply matched first' },
    ],
  }),
  // The first step takes long enough for a burst of messages to be answered while it runs.
  slowStep: quickScript({
    plans: [
      {
        steps: [
          { title: 'Slow look', result: { description: 'looked slowly' }, delayMs: 1_500 },
          { title: 'Fix', result: { description: 'fixed' } },
        ],
      },
    ],
  }),
  question: quickScript({
    question: 'Which host is affected by {title}?',
    plans: [{ title: 'Fix the answered host', steps: [{ title: 'Fix', result: { description: 'fixed' } }] }],
  }),
});

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ agent: backend });
});
afterAll(() => h.close());

const T = { timeoutMs: 20_000 };

/** Reads the stream until an event matches: waits on the session's own change feed, no polling. */
async function eventMatching(session: SessionClient, predicate: (e: TimelineEvent) => boolean, after = 0): Promise<TimelineEvent> {
  for await (const event of session.stream({ after, signal: AbortSignal.timeout(20_000) })) {
    if (predicate(event)) return event;
  }
  throw new Error(`session ${session.id}: the stream ended without the event`);
}

type UserMessaged = Extract<TimelineEvent, { type: 'userMessaged' }>;
type AgentMessaged = Extract<TimelineEvent, { type: 'agentMessaged' }>;
const userMessages = (events: TimelineEvent[]) => events.filter((e): e is UserMessaged => e.type === 'userMessaged');
const agentMessages = (events: TimelineEvent[]) => events.filter((e): e is AgentMessaged => e.type === 'agentMessaged');

describe('ask', () => {
  it("returns the agent's reply: the first matching reply (case-insensitive), templated, else the default", async () => {
    const session = await h.andon.session({ prompt: 'disk full on db-1', title: 'db-1 disk', context: { service: 'db' } });
    await session.waitFor('awaitingPlanApproval', T);

    const status = await session.ask('STATUS please?', { messageId: 'm-status', by: 'test:alice' });
    expect(status).toEqual({ messageId: 'm-status', reply: 'all good on db-1 disk' });
    const why = await session.ask('why this plan?');
    expect(why.reply).toBe('because db said "disk full on db-1"; you asked "why this plan?" (2 steps)');
    const other = await session.ask('hello there');
    expect(other.reply).toBe('echo: hello there');

    // Messages while awaiting approval change nothing about the approval.
    const view = await session.info();
    expect(view).toMatchObject({ state: 'awaitingPlanApproval', pendingMessages: 0 });
    const { events } = await session.timeline();
    expect(userMessages(events).map((e) => [e.messageId, e.message, e.by])).toEqual([
      ['m-status', 'STATUS please?', 'test:alice'],
      [why.messageId, 'why this plan?', 'test:harness'],
      [other.messageId, 'hello there', 'test:harness'],
    ]);
    expect(agentMessages(events).map((e) => [e.inReplyTo, e.message, e.originator])).toEqual([
      ['m-status', status.reply, 'agent'],
      [why.messageId, why.reply, 'agent'],
      [other.messageId, other.reply, 'agent'],
    ]);

    await session.approve({ planId: 'plan-1' });
    await expect(session.result(T)).resolves.toMatchObject({ summary: 'done: disk full on db-1' });
  });

  it('answers every message sent and asked concurrently while a step runs, in order, none dropped', async () => {
    const session = await h.andon.run({ prompt: 'busy', context: { script: 'slowStep' } });
    await session.waitFor('inProgress', T);

    const texts = Array.from({ length: 8 }, (_, i) => `message ${i + 1}`);
    const calls = texts.map((text, i) => (i % 2 === 0 ? session.send(text).then((r) => ({ ...r, reply: undefined })) : session.ask(text)));
    const results = await Promise.all(calls);
    // Each ask got the reply to its own message.
    results.forEach((result, i) => {
      if (i % 2 === 1) expect(result.reply).toBe(`echo: ${texts[i]}`);
    });
    // Messages are answered in the order accepted, so once this one is answered all the sends are too.
    const last = await session.ask('last');
    expect(last.reply).toBe('echo: last');

    const { events } = await session.timeline();
    const asked = userMessages(events);
    const answered = agentMessages(events);
    const ids = [...results.map((r) => r.messageId), last.messageId];
    expect(asked.map((e) => e.messageId).sort()).toEqual([...ids].sort());
    expect(asked.at(-1)?.messageId).toBe(last.messageId);
    // Replies come in the same order as the messages, one each, each after its message.
    expect(answered.map((e) => e.inReplyTo)).toEqual(asked.map((e) => e.messageId));
    answered.forEach((reply, i) => {
      expect(reply.seq).toBeGreaterThan(at(asked, i).seq);
      expect(reply.message).toBe(`echo: ${at(asked, i).message}`);
      if (i > 0) expect(reply.seq).toBeGreaterThan(at(answered, i - 1).seq);
    });

    const outcome = await session.result(T);
    expect(outcome.summary).toBe('done: busy');
    // All of it happened while the first step was still running: chat does not wait for work.
    const after = await session.timeline();
    const steps = after.events.filter((e) => e.type === 'progressUpdated');
    expect(steps.map((e) => e.title)).toEqual(['Slow look', 'Fix']);
    expect(answered.at(-1)!.seq).toBeLessThan(at(steps, 0).seq);
  });

  it('answers messages while paused, and the session stays paused', async () => {
    const session = await h.andon.session({ prompt: 'paused chat' });
    await session.waitFor('awaitingPlanApproval', T);
    await session.pause({ reason: 'lunch' });
    await expect(session.ask('status?')).resolves.toMatchObject({ reply: 'all good on paused chat' });
    expect((await session.info()).state).toBe('paused');
    await session.cancel('done testing');
  });

  it('answers an ask repeated with the same messageId once: one userMessaged, one reply', async () => {
    const session = await h.andon.session({ prompt: 'idempotent' });
    await session.waitFor('awaitingPlanApproval', T);

    const first = await session.ask('hello', { messageId: 'dup-1' });
    const again = await session.ask('hello', { messageId: 'dup-1' });
    // A retry through another update id (another client, the CLI) reaches the workflow itself.
    const raw = await h.client.workflow
      .getHandle(session.id)
      .executeUpdate(askUpdate, { args: [{ message: 'hello, but different', messageId: 'dup-1' }], updateId: randomUUID() });
    // So does a send with the same id: ignored silently.
    await session.send('hello yet again', { messageId: 'dup-1' });
    const barrier = await session.ask('barrier');

    expect(first).toEqual({ messageId: 'dup-1', reply: 'echo: hello' });
    expect(again).toEqual(first);
    expect(raw).toEqual(first);
    const { events } = await session.timeline();
    expect(userMessages(events).map((e) => e.messageId)).toEqual(['dup-1', barrier.messageId]);
    expect(agentMessages(events).map((e) => e.inReplyTo)).toEqual(['dup-1', barrier.messageId]);
    expect(events.some((e) => e.type === 'inputRejected')).toBe(false);
    await session.cancel('done testing');
  });

  it('cancel stops the reply in flight and drops the queue: both asks fail with InvalidStateError(cancelled)', async () => {
    const session = await h.andon.session({ prompt: 'cancel while chatting' });
    await session.waitFor('awaitingPlanApproval', T);
    const gate = backend.hold('first (held)');
    const first = session.ask('first (held)', { messageId: 'c-1' });
    await gate.entered;
    // While the agent writes the first reply, a second message queues up, someone asks for its
    // reply, and the session is cancelled (signals: each is in the history once the call returns).
    await session.send('second', { messageId: 'c-2' });
    const second = session.ask('second', { messageId: 'c-2' });
    await h.client.workflow.getHandle(session.id).signal(cancelSignal, { reason: 'stop', by: 'test:carol' });

    // Both asks end with the session, while the agent is still holding the first reply.
    for (const ask of [first, second]) {
      const error = await ask.catch((e: unknown) => e);
      expect(InvalidStateError.isInstance(error)).toBe(true);
      expect(error).toMatchObject({ state: 'cancelled' });
    }

    await expect(session.result(T)).rejects.toMatchObject({ name: 'SessionCancelledError', reason: 'stop' });
    gate.release();
    expect(backend.replyRequests.filter((r) => r.sessionId === session.id).map((r) => r.message)).toEqual(['first (held)']);
    const { events } = await session.timeline();
    expect(userMessages(events).map((e) => e.messageId)).toEqual(['c-1', 'c-2']);
    expect(agentMessages(events)).toEqual([]);
    expect(events.some((e) => e.type === 'inputRejected')).toBe(false);
    expect(events.at(-1)).toMatchObject({ type: 'sessionCancelled', by: 'test:carol' });
  });
});

describe('ask without a worker', () => {
  it('fails fast with TimeoutError, and a retry with the same messageId is answered once when a worker is back', async () => {
    const idle = await startHarness({ worker: false, agent: quickScript() });
    try {
      const session = await idle.andon.session({ prompt: 'nobody home' });
      const started = Date.now();
      const error = await session.ask('anyone?', { messageId: 'lonely-1', timeoutMs: 500 }).catch((e: unknown) => e);
      expect(TimeoutError.isInstance(error)).toBe(true);
      expect(error).toMatchObject({ timeoutMs: 500 });
      expect((error as Error).message).toMatch(/did not finish within 500 ms/);
      expect(Date.now() - started).toBeLessThan(3_000);

      await idle.startWorker();
      const answer = await session.ask('anyone?', { messageId: 'lonely-1', timeoutMs: 20_000 });
      expect(answer).toEqual({ messageId: 'lonely-1', reply: 'echo: anyone?' });
      const { events } = await session.timeline();
      expect(userMessages(events).filter((e) => e.messageId === 'lonely-1')).toHaveLength(1);
      expect(agentMessages(events).filter((e) => e.inReplyTo === 'lonely-1')).toHaveLength(1);
      await session.cancel('done testing');
    } finally {
      await idle.close();
    }
  });
});

describe('the follow-up window', () => {
  it('a completed session keeps answering until the window passes, then closes; result() does not wait for it', async () => {
    const session = await h.andon.run({ prompt: 'follow me', followUpWindow: 3_000 });
    const handle = h.client.workflow.getHandle(session.id);

    const outcome = await session.result(T);
    expect(outcome).toMatchObject({ state: 'completed', summary: 'done: follow me' });
    expect((await handle.describe()).status.name).toBe('RUNNING');

    const followUp = await session.ask('what did you change?');
    expect(followUp.reply).toBe('echo: what did you change?');
    expect((await session.info()).state).toBe('completed');

    // The workflow closes on its own once the window passes with no new message.
    const final = await handle.result();
    expect(final).toMatchObject({ state: 'completed', summary: 'done: follow me' });
    expect((await handle.describe()).status.name).toBe('COMPLETED');
    const { events } = await session.timeline();
    expect(events.at(-1)).toMatchObject({ type: 'agentMessaged', inReplyTo: followUp.messageId });
    const completedAt = events.findIndex((e) => e.type === 'sessionCompleted');
    expect(events.slice(completedAt + 1).map((e) => e.type)).toEqual(['userMessaged', 'agentMessaged']);
  });
});

describe('the agent asks a question', () => {
  it('waits in awaitingUserFeedback; the next message is the answer and planning goes on with it', async () => {
    const session = await h.andon.session({ prompt: 'something is slow', title: 'slow api', context: { script: 'question' } });
    const waiting = await session.waitFor('awaitingUserFeedback', T);
    expect(waiting.plan).toBeUndefined();
    const before = await session.timeline();
    const question = before.events.at(-1);
    expect(question).toMatchObject({ type: 'agentMessaged', originator: 'agent', message: 'Which host is affected by slow api?' });
    expect((question as AgentMessaged).inReplyTo).toBeUndefined();

    const { messageId } = await session.send('api-3 only', { by: 'test:oncall' });
    const awaiting = await session.waitFor('awaitingPlanApproval', T);
    expect(awaiting.plan).toMatchObject({ id: 'plan-2', title: 'Fix the answered host' });

    // The agent got the answer as feedback in planning round 2.
    const requests = backend.planRequests.filter((r) => r.sessionId === session.id);
    expect(requests.map((r) => [r.round, r.feedback])).toEqual([
      [1, []],
      [2, ['api-3 only']],
    ]);
    // The answer is also a chat message, and answered as one.
    const reply = await eventMatching(session, (e) => e.type === 'agentMessaged' && e.inReplyTo === messageId);
    expect(reply).toMatchObject({ message: 'echo: api-3 only' });
    const { events } = await session.timeline();
    expect(events.slice(0, 3).map((e) => e.type)).toEqual(['sessionCreated', 'agentMessaged', 'userMessaged']);
    expect(events[2]).toMatchObject({ messageId, message: 'api-3 only', by: 'test:oncall' });
    expect(events.filter((e) => e.type === 'planGenerated')).toHaveLength(1);

    await session.approve({ planId: 'plan-2' });
    await expect(session.result(T)).resolves.toMatchObject({ state: 'completed' });
  });
});
