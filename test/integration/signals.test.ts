/**
 * The session protocol from a caller that does not use andon's code: a plain Temporal client
 * addressing the workflow, its signals, updates and queries by name with JSON objects, as another
 * language's SDK or the `temporal` CLI would (docs/protocol.md). andon's SDK is used only to wait
 * for a state (it long-polls history, no polling).
 */
import { randomUUID } from 'node:crypto';
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { SessionState } from '../../src/client';
import { quickScript, startHarness, type Harness } from '../support/harness';

// The protocol's shapes, written out as a non-TypeScript caller would know them from the docs.
interface RawEvent {
  seq: number;
  type: string;
  originator: string;
  [field: string]: unknown;
}
interface RawView {
  id: string;
  state: string;
  lastSeq: number;
  updateTime: string;
  plan?: { id: string };
  [field: string]: unknown;
}
interface RawPage {
  events: RawEvent[];
  lastSeq: number;
  state: string;
}

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ agent: quickScript() });
});
afterAll(() => h.close());

/** Starts a session the way docs/protocol.md describes: workflow type, id and a complete config. */
async function rawStart(config: Record<string, unknown> = {}): Promise<WorkflowHandle> {
  const id = `raw-${randomUUID()}`;
  return h.client.workflow.start('andonSession', {
    taskQueue: h.taskQueue,
    workflowId: id,
    args: [
      {
        config: {
          id,
          prompt: 'Free disk space on db-1',
          title: 'Disk full on db-1',
          context: { host: 'db-1' },
          requirePlanApproval: true,
          followUpWindowMs: 0,
          requestedBy: 'raw:starter',
          ...config,
        },
      },
    ],
  });
}

async function waitFor(handle: WorkflowHandle, state: SessionState): Promise<void> {
  await h.andon.session(handle.workflowId).waitFor(state, { timeoutMs: 20_000 });
}

const view = (handle: WorkflowHandle) => handle.query<RawView>('view');
const timeline = (handle: WorkflowHandle, input?: unknown) =>
  input === undefined ? handle.query<RawPage>('timeline') : handle.query<RawPage, [unknown]>('timeline', input);

/** Everything in the view but what any recorded event changes. */
function stable({ lastSeq: _lastSeq, updateTime: _updateTime, ...rest }: RawView) {
  return rest;
}

async function refusedUpdate(handle: WorkflowHandle, name: string, input: unknown): Promise<ApplicationFailure> {
  const error = await handle.executeUpdate(name, { args: [input] }).then(
    (value) => {
      throw new Error(`update ${name} was not refused: ${JSON.stringify(value)}`);
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(WorkflowUpdateFailedError);
  const cause = (error as WorkflowUpdateFailedError).cause;
  expect(cause).toBeInstanceOf(ApplicationFailure);
  return cause as ApplicationFailure;
}

describe('driving a session by name', () => {
  it('start, queries, ask, approve by signal, and the final view as the workflow result', async () => {
    const handle = await rawStart();
    await waitFor(handle, 'awaitingPlanApproval');

    const awaiting = await view(handle);
    expect(awaiting).toMatchObject({
      id: handle.workflowId,
      state: 'awaitingPlanApproval',
      title: 'Disk full on db-1',
      requestedBy: 'raw:starter',
    });
    expect(awaiting.plan?.id).toBe('plan-1');

    const page = await timeline(handle, { after: 0 });
    expect(page).toMatchObject({ lastSeq: 2, state: 'awaitingPlanApproval' });
    expect(page.events.map((e) => [e.seq, e.type])).toEqual([
      [1, 'sessionCreated'],
      [2, 'planGenerated'],
    ]);
    expect((await timeline(handle, { after: 1, limit: 1 })).events.map((e) => e.seq)).toEqual([2]);
    // No input, and invalid input, give the defaults.
    expect((await timeline(handle)).events).toHaveLength(2);
    expect((await timeline(handle, { after: -5, limit: 0 })).events).toHaveLength(2);

    const answer = await handle.executeUpdate<{ messageId: string; reply: string }, [unknown]>('ask', {
      args: [{ message: 'status?', messageId: 'raw-msg-1', by: 'raw:alice' }],
    });
    expect(answer).toEqual({ messageId: 'raw-msg-1', reply: 'all good' });

    await handle.signal('approve', { planId: 'plan-1', by: 'raw', comment: 'go' });
    const final = await handle.result();
    expect(final).toMatchObject({ id: handle.workflowId, state: 'completed', summary: 'done: Free disk space on db-1' });

    const { events } = await timeline(handle, { after: 0 });
    expect(events.map((e) => e.type)).toEqual([
      'sessionCreated',
      'planGenerated',
      'userMessaged',
      'agentMessaged',
      'planApproved',
      'progressUpdated',
      'progressUpdated',
      'sessionCompleted',
    ]);
    expect(events[2]).toMatchObject({ messageId: 'raw-msg-1', by: 'raw:alice' });
    expect(events[4]).toMatchObject({ planId: 'plan-1', by: 'raw', comment: 'go', originator: 'user' });
    // Queries still work after the workflow closed.
    expect((await view(handle)).state).toBe('completed');
  });

  it('an update by name returns the new view', async () => {
    const handle = await rawStart();
    await waitFor(handle, 'awaitingPlanApproval');
    const approved = await handle.executeUpdate<RawView, [unknown]>('approve', { args: [{ planId: 'plan-1', by: 'raw:alice' }] });
    expect(approved).toMatchObject({ state: 'inProgress', currentStep: 0, plan: { id: 'plan-1' } });
    await expect(handle.result()).resolves.toMatchObject({ state: 'completed' });
  });

  it('signals pause, resume and cancel by name', async () => {
    const handle = await rawStart();
    await waitFor(handle, 'awaitingPlanApproval');
    await handle.signal('pause', { by: 'raw:bob', reason: 'freeze' });
    await waitFor(handle, 'paused');
    await handle.signal('resume', { by: 'raw:bob' });
    await waitFor(handle, 'awaitingPlanApproval');
    await handle.signal('cancel', { reason: 'not needed', by: 'raw:bob' });
    await expect(handle.result()).resolves.toMatchObject({ state: 'cancelled', reason: 'not needed' });
    const { events } = await timeline(handle, { after: 2 });
    expect(events.map((e) => [e.type, e.by])).toEqual([
      ['sessionPaused', 'raw:bob'],
      ['sessionResumed', 'raw:bob'],
      ['sessionCancelled', 'raw:bob'],
    ]);
  });
});

describe('refused signals', () => {
  it('bad input is recorded as inputRejected and changes nothing else', async () => {
    const handle = await rawStart();
    await waitFor(handle, 'awaitingPlanApproval');
    const before = await view(handle);

    await handle.signal('send', { message: '', by: 'raw:eve' });
    await handle.signal('approve', { planId: '', by: 'raw:eve' });
    await handle.signal('reject', { by: 'raw:eve' });
    await handle.signal('cancel', { reason: '   ', by: 42 });
    await handle.signal('cancel'); // no input is `{}`: the reason is missing

    // A query is answered after the workflow has processed the signals already in its history.
    const after = await view(handle);
    expect(stable(after)).toEqual(stable(before));
    expect(after.lastSeq).toBe(before.lastSeq + 5);
    const { events } = await timeline(handle, { after: before.lastSeq });
    expect(events.map((e) => [e.type, e.originator, e.reason, e.by])).toEqual([
      ['inputRejected', 'system', 'InvalidArgument', 'raw:eve'],
      ['inputRejected', 'system', 'InvalidArgument', 'raw:eve'],
      ['inputRejected', 'system', 'InvalidArgument', 'raw:eve'],
      // `by` is only recorded when it is a string.
      ['inputRejected', 'system', 'InvalidArgument', undefined],
      ['inputRejected', 'system', 'InvalidArgument', undefined],
    ]);
    expect(events.map((e) => e.message)).toEqual([
      'invalid input: message: must not be empty',
      expect.stringMatching(/^invalid input: planId: /),
      expect.stringMatching(/^invalid input: reason: /),
      // The first bad field, in the schema's order.
      expect.stringMatching(/^invalid input: by: /),
      expect.stringMatching(/^invalid input: reason: /),
    ]);
    await handle.signal('cancel', { reason: 'done testing' });
  });

  it('a command in the wrong state is recorded (a decision as approvalRefused, others as inputRejected) and changes nothing else', async () => {
    const handle = await rawStart();
    await waitFor(handle, 'awaitingPlanApproval');
    await handle.executeUpdate('pause', { args: [{ by: 'raw:bob' }] });
    const paused = await view(handle);
    expect(paused.state).toBe('paused');

    await handle.signal('approve', { by: 'raw:eve' });
    await handle.signal('resume', { by: 'raw:eve' }); // accepted: back to awaitingPlanApproval
    await handle.signal('approve', { planId: 'plan-9', by: 'raw:eve' }); // stale
    await handle.signal('resume', { by: 'raw:eve' }); // not paused any more

    const after = await view(handle);
    expect(after).toMatchObject({ state: 'awaitingPlanApproval', plan: { id: 'plan-1' }, lastSeq: paused.lastSeq + 4 });
    const { events } = await timeline(handle, { after: paused.lastSeq });
    // A refused decision is recorded once, as approvalRefused (who tried, the code, why), not also as inputRejected.
    expect(events.map((e) => [e.type, e.code ?? e.reason ?? null, e.by])).toEqual([
      ['approvalRefused', 'InvalidState', 'raw:eve'],
      ['sessionResumed', null, 'raw:eve'],
      ['approvalRefused', 'StalePlan', 'raw:eve'],
      ['inputRejected', 'InvalidState', 'raw:eve'],
    ]);
    expect(events[0]).toMatchObject({ decision: 'approve', planId: 'plan-1', originator: 'user' });
    expect(events[0]?.reason).toBe(`cannot approve session ${handle.workflowId}: no plan is awaiting approval (state: paused)`);
    expect(events[2]).toMatchObject({ decision: 'approve', planId: 'plan-9' });
    expect(events[2]?.reason).toBe('plan plan-9 is no longer current: the plan awaiting approval is plan-1');
    expect(events[3]?.message).toContain('(state: awaitingPlanApproval)');
    await handle.signal('cancel', { reason: 'done testing' });
  });
});

describe('refused updates', () => {
  it('bad input fails with ApplicationFailure InvalidArgument naming the field, and writes nothing to history', async () => {
    const handle = await rawStart();
    await waitFor(handle, 'awaitingPlanApproval');
    const historyBefore = (await handle.fetchHistory()).events?.length;
    const viewBefore = await view(handle);

    const cases: [string, unknown, string][] = [
      ['approve', { planId: '' }, 'planId'],
      ['approve', { comment: 'x'.repeat(4_001) }, 'comment'],
      ['reject', { reason: '   ' }, 'reason'],
      ['reject', { reason: 'no', replan: 'yes' }, 'replan'],
      ['ask', { message: '' }, 'message'],
      ['ask', { message: 'hi', messageId: '' }, 'messageId'],
      ['pause', { by: '' }, 'by'],
      ['resume', { by: 7 }, 'by'],
      ['cancel', {}, 'reason'],
      ['cancel', 'not an object', '(input)'],
    ];
    for (const [name, input, field] of cases) {
      const failure = await refusedUpdate(handle, name, input);
      expect({ name, type: failure.type, nonRetryable: failure.nonRetryable, details: failure.details }).toEqual({
        name,
        type: 'InvalidArgument',
        nonRetryable: true,
        details: [{ state: 'awaitingPlanApproval', field }],
      });
      expect(failure.message).toMatch(new RegExp(`^invalid input: ${field.replace(/[()]/g, '\\$&')}: `));
    }

    // Nothing was written: no history events, no timeline events, the same view.
    expect((await handle.fetchHistory()).events?.length).toBe(historyBefore);
    expect(await view(handle)).toEqual(viewBefore);
    await handle.signal('cancel', { reason: 'done testing' });
  });

  it('the wrong state fails with InvalidState, writing nothing; a refused decision is recorded on the timeline', async () => {
    const handle = await rawStart();
    await waitFor(handle, 'awaitingPlanApproval');
    const historyBefore = (await handle.fetchHistory()).events?.length;

    const resume = await refusedUpdate(handle, 'resume', { by: 'raw:eve' });
    expect(resume).toMatchObject({ type: 'InvalidState', nonRetryable: true, details: [{ state: 'awaitingPlanApproval' }] });
    // Refused by the validator: nothing written.
    expect((await handle.fetchHistory()).events?.length).toBe(historyBefore);

    // A decision passes the validator (its input is fine) and is refused by the handler, which records it first.
    const seqBefore = (await view(handle)).lastSeq;
    const stale = await refusedUpdate(handle, 'reject', { planId: 'plan-0', reason: 'old', by: 'raw:eve' });
    expect(stale).toMatchObject({ type: 'StalePlan', nonRetryable: true, details: [{ state: 'awaitingPlanApproval', planId: 'plan-1' }] });
    const historyStale = (await handle.fetchHistory()).events?.length;
    expect(historyStale).toBeGreaterThan(historyBefore!);
    expect((await timeline(handle, { after: seqBefore })).events).toEqual([
      expect.objectContaining({
        type: 'approvalRefused',
        decision: 'reject',
        planId: 'plan-0',
        by: 'raw:eve',
        code: 'StalePlan',
        reason: stale.message,
      }),
    ]);
    expect((await view(handle)).state).toBe('awaitingPlanApproval');

    // Input is checked before state: an invalid approve in a wrong state is InvalidArgument, and writes nothing.
    await handle.executeUpdate('pause', { args: [{}] });
    const historyPaused = (await handle.fetchHistory()).events?.length;
    expect(historyPaused).toBeGreaterThan(historyStale!);
    const pausedView = await view(handle);
    const both = await refusedUpdate(handle, 'approve', { planId: '' });
    expect(both).toMatchObject({ type: 'InvalidArgument', details: [{ state: 'paused', field: 'planId' }] });
    expect((await handle.fetchHistory()).events?.length).toBe(historyPaused);
    expect(await view(handle)).toEqual(pausedView);

    const wrongState = await refusedUpdate(handle, 'approve', { by: 'raw:eve' });
    expect(wrongState).toMatchObject({ type: 'InvalidState', details: [{ state: 'paused' }] });
    expect((await handle.fetchHistory()).events?.length).toBeGreaterThan(historyPaused!);
    expect((await timeline(handle, { after: pausedView.lastSeq })).events).toEqual([
      expect.objectContaining({
        type: 'approvalRefused',
        decision: 'approve',
        by: 'raw:eve',
        code: 'InvalidState',
        reason: wrongState.message,
      }),
    ]);
    expect((await view(handle)).state).toBe('paused');
    await handle.signal('cancel', { reason: 'done testing' });
  });
});
