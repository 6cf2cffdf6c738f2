/**
 * Approval policies against the real dev server: who may decide, how many distinct people must
 * approve, the requester rule, identities across channels, groups, the plan an approval binds
 * to, and deadlines (reminders, escalation, the deadline's action). The workflow enforces the
 * policy, so it holds for andon's SDK and a raw Temporal caller alike; every refused attempt is
 * on the timeline with who tried and why.
 */
import { randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import {
  InvalidStateError,
  NotAllowedError,
  SessionCancelledError,
  SessionFailedError,
  StalePlanError,
  translateError,
  type SessionClient,
  type SessionView,
  type TimelineEvent,
} from '../../src/client';
import type { ApprovalPolicyInput } from '../../src/session/approval';
import { quickScript, startHarness, type Harness } from '../support/harness';
import { rejectionOf } from '../support/rejection';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ agent: quickScript() });
});
afterAll(() => h.close());

const T = { timeoutMs: 20_000 };
const types = (events: TimelineEvent[]) => events.map((e) => e.type);
type Event<K extends TimelineEvent['type']> = Extract<TimelineEvent, { type: K }>;
const ofType = <K extends TimelineEvent['type']>(events: TimelineEvent[], type: K) => events.filter((e): e is Event<K> => e.type === type);

/** A session under `approval`, waiting for its plan to be approved. */
async function awaiting(
  approval: ApprovalPolicyInput,
  requestedBy = 'api:requester',
): Promise<{ session: SessionClient; view: SessionView }> {
  const session = await h.andon.session({ prompt: `policy ${randomUUID()}`, approval, requestedBy });
  const view = await session.waitFor('awaitingPlanApproval', T);
  return { session, view };
}

/** Events after `after`, as they happen, up to the first one `stop` accepts (the stream, never a sleep). */
async function eventsUntil(
  session: SessionClient,
  stop: (e: TimelineEvent) => boolean,
  after = 0,
  timeoutMs = 20_000,
): Promise<TimelineEvent[]> {
  const seen: TimelineEvent[] = [];
  for await (const event of session.stream({ after, signal: AbortSignal.timeout(timeoutMs) })) {
    seen.push(event);
    if (stop(event)) return seen;
  }
  throw new Error(`the stream ended without the awaited event; saw: ${types(seen).join(', ')}`);
}

/** The refusal type behind an andon error (the ApplicationFailure the workflow refused with). */
const refusalType = (error: unknown) => ((error as { cause?: unknown }).cause as ApplicationFailure | undefined)?.type;

async function newEvents(session: SessionClient, after: number): Promise<TimelineEvent[]> {
  return (await session.timeline({ after })).events;
}

describe('who may approve', () => {
  it('an allowed approver moves the session on', async () => {
    const { session } = await awaiting({ approvers: ['alice', 'bob'] });
    const view = await session.approve({ by: 'alice', comment: 'go' });
    expect(view.state).toBe('inProgress');
    await expect(session.result(T)).resolves.toMatchObject({ state: 'completed' });
    const approved = ofType((await session.timeline()).events, 'planApproved');
    expect(approved).toEqual([expect.objectContaining({ planId: 'plan-1', by: 'alice', comment: 'go', originator: 'user' })]);
  });

  it('a disallowed one is refused with NotAllowedError and told why; the refusal is on the timeline with their identity', async () => {
    const { session, view } = await awaiting({ approvers: ['alice', 'bob'] });
    const error = await rejectionOf(session.approve({ by: 'slack:U666' }));
    expect(NotAllowedError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({
      state: 'awaitingPlanApproval',
      message: 'slack:U666 is not an approver of this session (approvers: alice, bob)',
    });
    const rejectError = await rejectionOf(session.reject('not yours to reject', { by: 'slack:U666' }));
    expect(NotAllowedError.isInstance(rejectError)).toBe(true);

    expect(await newEvents(session, view.lastSeq)).toEqual([
      expect.objectContaining({
        type: 'approvalRefused',
        decision: 'approve',
        planId: 'plan-1',
        by: 'slack:U666',
        code: 'NotAllowed',
        reason: (error as Error).message,
      }),
      expect.objectContaining({ type: 'approvalRefused', decision: 'reject', planId: 'plan-1', by: 'slack:U666', code: 'NotAllowed' }),
    ]);
    // Nothing else changed: an allowed approver still decides.
    expect((await session.info()).state).toBe('awaitingPlanApproval');
    await expect(session.approve({ by: 'bob' })).resolves.toMatchObject({ state: 'inProgress' });
  });

  it('groups: members of an approving group may decide, others may not', async () => {
    const { session } = await awaiting({ approvers: ['group:oncall'], groups: { oncall: ['bob', 'slack:U2'] } });
    const error = await rejectionOf(session.approve({ by: 'carol' }));
    expect(NotAllowedError.isInstance(error)).toBe(true);
    expect((error as Error).message).toContain('(approvers: group:oncall)');
    await expect(session.approve({ by: 'slack:U2' })).resolves.toMatchObject({ state: 'inProgress' });
  });

  it('the requester rule: with allowRequester false the requester is refused, and another person approves', async () => {
    const { session, view } = await awaiting({ allowRequester: false, people: { alice: ['slack:U1', 'api:alice'] } }, 'api:alice');
    expect(view.requestedBy).toBe('api:alice');
    // Under another of her identities she is still the requester.
    const error = await rejectionOf(session.approve({ by: 'slack:U1' }));
    expect(NotAllowedError.isInstance(error)).toBe(true);
    expect((error as Error).message).toBe('slack:U1 requested this session and may not approve its own plan');
    expect(ofType(await newEvents(session, view.lastSeq), 'approvalRefused')).toEqual([
      expect.objectContaining({ by: 'slack:U1', code: 'NotAllowed' }),
    ]);
    await expect(session.approve({ by: 'api:bob' })).resolves.toMatchObject({ state: 'inProgress' });
  });
});

describe('how many approve', () => {
  it('the same person approving twice counts once: the second is refused (DuplicateApproval) and recorded', async () => {
    const { session, view } = await awaiting({ required: 2 });
    const first = await session.approve({ by: 'alice' });
    expect(first).toMatchObject({
      state: 'awaitingPlanApproval',
      approval: { approvals: [{ person: 'alice', by: 'alice' }], required: 2 },
    });

    const again = await rejectionOf(session.approve({ by: 'alice' }));
    expect(InvalidStateError.isInstance(again)).toBe(true);
    expect(refusalType(again)).toBe('DuplicateApproval');
    expect(again).toMatchObject({ state: 'awaitingPlanApproval' });
    expect((again as Error).message).toBe('alice already approved plan plan-1 (1 of 2 approvals)');

    const after = await session.info();
    expect(after.approval?.approvals).toHaveLength(1);
    expect(
      (await newEvents(session, view.lastSeq)).map((e) => [e.type, 'by' in e ? e.by : undefined, 'code' in e ? e.code : undefined]),
    ).toEqual([
      ['approvalRecorded', 'alice', undefined],
      ['approvalRefused', 'alice', 'DuplicateApproval'],
    ]);
    await session.cancel('done testing');
  });

  it('two of three: the first approval is recorded and the plan still waits; the second distinct approver approves it', async () => {
    const { session, view } = await awaiting({ approvers: ['alice', 'bob', 'carol'], required: 2 });
    expect(view.approval).toEqual({ planId: 'plan-1', required: 2, approvals: [], escalated: false });

    const first = await session.approve({ by: 'carol', comment: 'looks right' });
    expect(first.state).toBe('awaitingPlanApproval');
    expect(first.approval).toMatchObject({ planId: 'plan-1', required: 2, approvals: [{ person: 'carol', by: 'carol' }] });
    expect(first.approval?.approvals).toHaveLength(1);

    const second = await session.approve({ by: 'alice' });
    expect(second).toMatchObject({ state: 'inProgress', currentStep: 0 });
    expect(second.approval).toBeUndefined();
    await expect(session.result(T)).resolves.toMatchObject({ state: 'completed' });

    const events = await newEvents(session, view.lastSeq);
    expect(types(events).slice(0, 2)).toEqual(['approvalRecorded', 'planApproved']);
    expect(events[0]).toMatchObject({
      planId: 'plan-1',
      by: 'carol',
      person: 'carol',
      approvals: 1,
      required: 2,
      comment: 'looks right',
      originator: 'user',
    });
    expect(events[1]).toMatchObject({ planId: 'plan-1', by: 'alice', originator: 'user' });
  });

  it('identities map to people across channels: alice via slack:U1 then api:alice counts once', async () => {
    const { session, view } = await awaiting({ required: 2, people: { alice: ['slack:U1', 'api:alice'] } });
    const first = await session.approve({ by: 'slack:U1' });
    expect(first.approval?.approvals).toEqual([expect.objectContaining({ person: 'alice', by: 'slack:U1' })]);

    const again = await rejectionOf(session.approve({ by: 'api:alice' }));
    expect(InvalidStateError.isInstance(again)).toBe(true);
    expect(refusalType(again)).toBe('DuplicateApproval');

    await expect(session.approve({ by: 'api:bob' })).resolves.toMatchObject({ state: 'inProgress' });
    const events = await newEvents(session, view.lastSeq);
    expect(events.slice(0, 3)).toEqual([
      expect.objectContaining({ type: 'approvalRecorded', by: 'slack:U1', person: 'alice', approvals: 1 }),
      expect.objectContaining({ type: 'approvalRefused', by: 'api:alice', code: 'DuplicateApproval' }),
      expect.objectContaining({ type: 'planApproved', by: 'api:bob' }),
    ]);
  });
});

describe('the plan an approval binds to', () => {
  it('a plan hash that is not the current plan’s is refused as stale (StalePlanError) and recorded; the current hash approves', async () => {
    const { session, view } = await awaiting({});
    expect(view.plan?.hash).toMatch(/^[0-9a-f]{16}$/);
    // SessionClient.approve has no planHash option: the update is sent as any caller would.
    const handle = h.client.workflow.getHandle(session.id);
    const stale = translateError(
      await rejectionOf(handle.executeUpdate('approve', { args: [{ planId: 'plan-1', planHash: '0123456789abcdef', by: 'api:alice' }] })),
      session.id,
    );
    expect(StalePlanError.isInstance(stale)).toBe(true);
    expect(stale).toMatchObject({ state: 'awaitingPlanApproval', currentPlanId: 'plan-1' });
    expect((stale as Error).message).toContain('the plan changed since it was shown');
    expect(await newEvents(session, view.lastSeq)).toEqual([
      expect.objectContaining({ type: 'approvalRefused', decision: 'approve', by: 'api:alice', code: 'StalePlan', planId: 'plan-1' }),
    ]);

    const approved = await handle.executeUpdate<SessionView, [unknown]>('approve', {
      args: [{ planId: 'plan-1', planHash: view.plan?.hash, by: 'api:alice' }],
    });
    expect(approved.state).toBe('inProgress');
  });
});

describe('every channel', () => {
  it('a raw Temporal signal from a disallowed identity is refused and recorded, once', async () => {
    const { session, view } = await awaiting({ approvers: ['alice'] });
    const handle = h.client.workflow.getHandle(session.id);
    await handle.signal('approve', { by: 'raw:mallory' });
    await handle.signal('reject', { reason: 'sabotage', by: 'raw:mallory' });
    // A query is answered after the signals already in history are processed.
    const after = await handle.query<SessionView>('view');
    expect(after.state).toBe('awaitingPlanApproval');
    expect(await newEvents(session, view.lastSeq)).toEqual([
      expect.objectContaining({ type: 'approvalRefused', decision: 'approve', by: 'raw:mallory', code: 'NotAllowed' }),
      expect.objectContaining({ type: 'approvalRefused', decision: 'reject', by: 'raw:mallory', code: 'NotAllowed' }),
    ]);
    // An allowed raw signal approves.
    await handle.signal('approve', { by: 'alice' });
    await expect(session.result(T)).resolves.toMatchObject({ state: 'completed' });
  });

  it('an invalid policy from a raw starter fails the session with a reason naming the field', async () => {
    const id = `raw-policy-${randomUUID()}`;
    await h.client.workflow.start('andonSession', {
      taskQueue: h.taskQueue,
      workflowId: id,
      args: [
        {
          config: {
            id,
            prompt: 'approve me by default',
            title: 'Bad policy',
            requirePlanApproval: true,
            followUpWindowMs: 0,
            approval: { approvers: ['alice'], deadline: { after: '1h', action: 'approve' } },
          },
        },
      ],
    });
    const session = h.andon.session(id);
    const error = await rejectionOf(session.result(T));
    expect(SessionFailedError.isInstance(error)).toBe(true);
    expect((error as SessionFailedError).reason).toBe('invalid approval policy: deadline.action: action "approve" needs lowRisk: true');
    expect(types((await session.timeline()).events)).toEqual(['sessionCreated', 'sessionFailed']);
  });
});

describe('budget changes', () => {
  it('a new budget on resume needs someone the policy allows; a refusal is recorded and the session stays paused', async () => {
    const { session, view } = await awaiting({ approvers: ['alice', 'api:requester'], allowRequester: false }, 'api:requester');
    await session.pause({ by: 'api:requester' });
    for (const by of ['mallory', 'api:requester']) {
      const refused = await rejectionOf(session.resume({ by, budget: { tokens: 1_000_000 } }));
      expect(NotAllowedError.isInstance(refused)).toBe(true);
    }
    const after = await session.info();
    expect(after.state).toBe('paused');
    expect(after.budget).toBeUndefined();
    const refusals = ofType(await newEvents(session, view.lastSeq), 'approvalRefused');
    expect(refusals).toEqual([
      expect.objectContaining({ decision: 'budget', by: 'mallory', code: 'NotAllowed' }),
      expect.objectContaining({ decision: 'budget', by: 'api:requester', code: 'NotAllowed', reason: expect.stringMatching(/requested/) }),
    ]);
    // Resuming without a budget change stays anyone's to do; an approver may change it.
    const resumed = await session.resume({ by: 'alice', budget: { tokens: 1_000_000 } });
    expect(resumed).toMatchObject({ state: 'awaitingPlanApproval', budget: { tokens: 1_000_000 } });
    await session.cancel('test done');
  });
});

describe('deadlines', () => {
  it('reminds the approvers, escalates, and then a lead may approve', async () => {
    const { session, view } = await awaiting({
      approvers: ['alice'],
      groups: { leads: ['lee', 'slack:U7'] },
      deadline: { after: '20s', remindEvery: '1s', escalateAfter: '3s', escalateTo: ['group:leads'], action: 'reject' },
    });
    expect(view.approval).toMatchObject({ escalated: false, deadline: expect.any(String) });
    expect(Date.parse(view.approval!.deadline!) - Date.parse(view.updateTime)).toBe(20_000);

    // Before the escalation a lead is not an approver.
    const early = await rejectionOf(session.approve({ by: 'lee' }));
    expect(NotAllowedError.isInstance(early)).toBe(true);

    const events = await eventsUntil(session, (e) => e.type === 'approvalEscalated', view.lastSeq);
    const reminders = ofType(events, 'approvalReminded');
    expect(reminders.length).toBeGreaterThanOrEqual(2);
    for (const reminder of reminders) expect(reminder).toMatchObject({ planId: 'plan-1', originator: 'system' });
    expect(reminders.map((r) => r.waitingMs >= 1_000)).toEqual(reminders.map(() => true));
    expect(events.at(-1)).toMatchObject({ type: 'approvalEscalated', planId: 'plan-1', escalateTo: ['group:leads'], originator: 'system' });

    expect((await session.info()).approval).toMatchObject({ escalated: true });
    await expect(session.approve({ by: 'slack:U7' })).resolves.toMatchObject({ state: 'inProgress' });
    await expect(session.result(T)).resolves.toMatchObject({ state: 'completed' });
    const all = (await session.timeline()).events;
    expect(ofType(all, 'approvalRefused')).toEqual([expect.objectContaining({ by: 'lee', code: 'NotAllowed' })]);
    expect(ofType(all, 'planApproved')).toEqual([expect.objectContaining({ by: 'slack:U7' })]);
  });

  it('action reject: reminders, then the deadline rejects the plan and the session ends cancelled', async () => {
    const { session, view } = await awaiting({ deadline: { after: '3s', remindEvery: '1s', action: 'reject' } });
    const error = await rejectionOf(session.result(T));
    expect(SessionCancelledError.isInstance(error)).toBe(true);
    expect((error as SessionCancelledError).reason).toBe('no decision on plan plan-1 before the deadline');

    const events = await newEvents(session, view.lastSeq);
    expect(types(events)).toEqual(['approvalReminded', 'approvalReminded', 'planRejected', 'sessionCancelled']);
    expect(events.slice(0, 2).map((e) => (e as Event<'approvalReminded'>).waitingMs >= 1_000)).toEqual([true, true]);
    expect((events[1] as Event<'approvalReminded'>).waitingMs).toBeGreaterThanOrEqual(2_000);
    expect(events[2]).toMatchObject({ planId: 'plan-1', by: 'policy:deadline', originator: 'system', replan: false });
    expect(events[3]).toMatchObject({
      by: 'policy:deadline',
      originator: 'system',
      reason: 'no decision on plan plan-1 before the deadline',
    });
  });

  it('action cancel: the session ends cancelled, no plan rejection recorded', async () => {
    const { session, view } = await awaiting({ deadline: { after: '2s', action: 'cancel' } });
    const error = await rejectionOf(session.result(T));
    expect(SessionCancelledError.isInstance(error)).toBe(true);
    const events = await newEvents(session, view.lastSeq);
    expect(types(events)).toEqual(['sessionCancelled']);
    expect(events[0]).toMatchObject({ by: 'policy:deadline', originator: 'system' });
  });

  it('action approve (low-risk only): the deadline approves the plan as the system and the session goes on', async () => {
    const { session, view } = await awaiting({ required: 2, deadline: { after: '2s', action: 'approve', lowRisk: true } });
    await session.approve({ by: 'alice' }); // one of two: not enough, and nobody else decides
    await expect(session.result(T)).resolves.toMatchObject({ state: 'completed' });
    const events = await newEvents(session, view.lastSeq);
    expect(types(events).slice(0, 2)).toEqual(['approvalRecorded', 'planApproved']);
    expect(events[1]).toMatchObject({ planId: 'plan-1', by: 'policy:deadline', originator: 'system' });
  });

  it('pause then resume does not postpone the deadline: it counts from when the plan first awaited approval', async () => {
    const { session, view } = await awaiting({ deadline: { after: '3s', action: 'cancel' } });
    const deadline = view.approval!.deadline!;
    await session.pause({ by: 'api:requester' });
    // Paused past the deadline: nothing decides while paused, and the resume finds the deadline gone.
    await new Promise((resolve) => setTimeout(resolve, Date.parse(deadline) - Date.now() + 500));
    const resumed = await session.resume({ by: 'api:requester' });
    expect(resumed.approval?.deadline).toBe(deadline);
    const error = await rejectionOf(session.result({ timeoutMs: 5_000 }));
    expect(SessionCancelledError.isInstance(error)).toBe(true);
    const events = await newEvents(session, view.lastSeq);
    expect(types(events)).toEqual(['sessionPaused', 'sessionResumed', 'sessionCancelled']);
    expect(events[2]).toMatchObject({ by: 'policy:deadline' });
  });

  it('a decision before the deadline stops the deadline: nothing is reminded or decided after it', async () => {
    const { session, view } = await awaiting({ deadline: { after: '2s', remindEvery: '1s', action: 'cancel' } });
    await session.approve({ by: 'alice' });
    // The approval ends the wait: no reminder and no deadline action follows it.
    await expect(session.result(T)).resolves.toMatchObject({ state: 'completed' });
    const events = await newEvents(session, view.lastSeq);
    const approvedAt = events.findIndex((e) => e.type === 'planApproved');
    expect(events[approvedAt]).toMatchObject({ by: 'alice' });
    expect(types(events.slice(approvedAt + 1))).toEqual(['progressUpdated', 'progressUpdated', 'sessionCompleted']);
  });
});
