/**
 * Control: pause and resume at boundaries, cancel (the andon cord) stopping work in flight, and
 * reject with and without re-plan.
 */
import {
  InvalidStateError,
  SessionCancelledError,
  SessionNotFoundError,
  StalePlanError,
  type SessionClient,
  type TimelineEvent,
} from '../../src/client';
import { quickScript, startHarness, type Harness } from '../support/harness';
import { rejectionOf } from '../support/rejection';
import { TestAgent } from '../support/test-agent';

const threeSteps = quickScript({
  plans: [
    {
      title: 'Fix {title}',
      steps: [
        { title: 'Look', result: { description: 'looked' } },
        { title: 'Fix', result: { description: 'fixed' } },
        { title: 'Verify', result: { description: 'verified' } },
      ],
    },
  ],
});
const backend = new TestAgent({
  default: threeSteps,
  longStep: quickScript({ plans: [{ steps: [{ title: 'Long', result: { description: 'never reported' }, delayMs: 20_000 }] }] }),
  longPlan: quickScript({ planDelayMs: 20_000 }),
});

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ agent: backend });
});
afterAll(() => h.close());

const T = { timeoutMs: 20_000 };
const types = (events: TimelineEvent[]) => events.map((e) => e.type);
const count = (events: TimelineEvent[], type: TimelineEvent['type']) => events.filter((e) => e.type === type).length;

async function awaitingApproval(
  prompt: string,
  extra: { context?: Record<string, string>; followUpWindow?: number } = {},
): Promise<SessionClient> {
  const session = await h.andon.session({ prompt, ...extra });
  await session.waitFor('awaitingPlanApproval', T);
  return session;
}

describe('pause and resume', () => {
  it('pause while a step runs takes effect after that step; nothing runs while paused; resume completes', async () => {
    const session = await awaitingApproval('pause mid-step');
    const look = backend.watchStep(session.id, 'Look');
    await session.approve();
    await look.entered;

    const requested = await session.pause({ by: 'test:bob', reason: 'change freeze' });
    expect(requested).toMatchObject({ state: 'inProgress', pauseRequested: true, currentStep: 0 });
    expect(count((await session.timeline()).events, 'sessionPaused')).toBe(0);

    look.release();
    const paused = await session.waitFor('paused', T);
    expect(paused).toMatchObject({ state: 'paused', pauseRequested: false, currentStep: 1 });
    const atPause = await session.timeline();
    expect(types(atPause.events).slice(-2)).toEqual(['progressUpdated', 'sessionPaused']);
    expect(atPause.events.at(-1)).toMatchObject({ by: 'test:bob', reason: 'change freeze', originator: 'user' });

    // A round trip through the session (chat is answered while paused), then: still only one step.
    await expect(session.ask('status?')).resolves.toMatchObject({ reply: 'all good' });
    expect(backend.stepsOf(session.id)).toEqual(['Look']);
    const whilePaused = await session.timeline();
    expect(count(whilePaused.events, 'progressUpdated')).toBe(1);
    expect((await session.info()).state).toBe('paused');

    const resumed = await session.resume({ by: 'test:bob' });
    expect(resumed).toMatchObject({ state: 'inProgress', currentStep: 1 });
    await expect(session.result(T)).resolves.toMatchObject({ state: 'completed' });
    expect(backend.stepsOf(session.id)).toEqual(['Look', 'Fix', 'Verify']);
    const { events } = await session.timeline();
    expect(types(events)).toEqual([
      'sessionCreated',
      'planGenerated',
      'planApproved',
      'progressUpdated',
      'sessionPaused',
      'userMessaged',
      'agentMessaged',
      'sessionResumed',
      'progressUpdated',
      'progressUpdated',
      'sessionCompleted',
    ]);
    expect(events.find((e) => e.type === 'sessionResumed')).toMatchObject({ by: 'test:bob' });
  });

  it('pause while awaiting approval pauses at once; approve is refused while paused; resume returns to awaitingPlanApproval', async () => {
    const session = await awaitingApproval('pause while waiting');
    const paused = await session.pause({ reason: 'not now' });
    expect(paused).toMatchObject({ state: 'paused', pauseRequested: false });
    expect((await session.timeline()).events.at(-1)).toMatchObject({ type: 'sessionPaused', reason: 'not now', by: 'test:harness' });

    const approve = await rejectionOf(session.approve({ planId: 'plan-1' }));
    expect(InvalidStateError.isInstance(approve)).toBe(true);
    expect(approve).toMatchObject({ state: 'paused' });
    const reject = await rejectionOf(session.reject('no', { planId: 'plan-1' }));
    expect(reject).toMatchObject({ name: 'InvalidStateError', state: 'paused' });
    const again = await rejectionOf(session.pause());
    expect(again).toMatchObject({ name: 'InvalidStateError', state: 'paused' });
    expect((await session.info()).state).toBe('paused');

    const resumed = await session.resume();
    expect(resumed).toMatchObject({ state: 'awaitingPlanApproval', plan: { id: 'plan-1' } });
    const second = await rejectionOf(session.resume());
    expect(second).toMatchObject({ name: 'InvalidStateError', state: 'awaitingPlanApproval' });
    await session.approve({ planId: 'plan-1' });
    await expect(session.result(T)).resolves.toMatchObject({ state: 'completed' });
    expect(backend.stepsOf(session.id)).toEqual(['Look', 'Fix', 'Verify']);
  });

  it('resume withdraws a pending pause: no pause, no events, the work goes on', async () => {
    const session = await awaitingApproval('change of mind');
    const look = backend.watchStep(session.id, 'Look');
    await session.approve();
    await look.entered;
    expect(await session.pause()).toMatchObject({ state: 'inProgress', pauseRequested: true });
    const withdrawn = await session.resume();
    expect(withdrawn).toMatchObject({ state: 'inProgress', pauseRequested: false });
    look.release();

    await expect(session.result(T)).resolves.toMatchObject({ state: 'completed' });
    const { events } = await session.timeline();
    expect(count(events, 'sessionPaused')).toBe(0);
    expect(count(events, 'sessionResumed')).toBe(0);
    expect(count(events, 'progressUpdated')).toBe(3);
  });

  it('a pause requested during the last step takes effect after it; resume goes on to the summary', async () => {
    const session = await awaitingApproval('pause at the end');
    const verify = backend.watchStep(session.id, 'Verify');
    await session.approve();
    await verify.entered;
    expect(await session.pause({ reason: 'review first' })).toMatchObject({ state: 'inProgress', pauseRequested: true, currentStep: 2 });
    verify.release();

    const paused = await session.waitFor('paused', T);
    expect(paused).toMatchObject({ pauseRequested: false, currentStep: 3 });
    expect(paused.summary).toBeUndefined();
    expect(types((await session.timeline()).events).slice(-2)).toEqual(['progressUpdated', 'sessionPaused']);

    await session.resume();
    const outcome = await session.result(T);
    expect(outcome.summary).toBe('done: pause at the end');
    expect(await session.info()).toMatchObject({ state: 'completed', pauseRequested: false });
    expect(backend.stepsOf(session.id)).toEqual(['Look', 'Fix', 'Verify']);
    expect(types((await session.timeline()).events).slice(-3)).toEqual(['sessionPaused', 'sessionResumed', 'sessionCompleted']);
  });
});

describe('cancel', () => {
  it('stops a long step at once: cancelled with reason and by, no progress for the step, result() throws', async () => {
    const session = await h.andon.run({ prompt: 'pull the cord', context: { script: 'longStep' } });
    const step = backend.watchStep(session.id, 'Long', false);
    await step.entered;
    expect((await session.info()).state).toBe('inProgress');

    const started = Date.now();
    const view = await session.cancel('wrong host', { by: 'test:carol' });
    expect(view).toMatchObject({ state: 'cancelled', reason: 'wrong host', pauseRequested: false });
    // The workflow closes without waiting for the 20 s step.
    const final = await h.client.workflow.getHandle(session.id).result();
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(final).toMatchObject({ state: 'cancelled', reason: 'wrong host' });

    const { events } = await session.timeline();
    expect(events.at(-1)).toMatchObject({ type: 'sessionCancelled', by: 'test:carol', reason: 'wrong host', originator: 'user' });
    expect(count(events, 'progressUpdated')).toBe(0);
    expect(count(events, 'sessionCompleted')).toBe(0);

    const error = await rejectionOf(session.result(T));
    expect(SessionCancelledError.isInstance(error)).toBe(true);
    expect((error as SessionCancelledError).reason).toBe('wrong host');
    expect((error as SessionCancelledError).session.state).toBe('cancelled');

    // The agent's call itself is told to stop (through the activity's heartbeat), not left running.
    const signal = backend.stepSignals.get(`${session.id}/Long`)!;
    const aborted = new Promise<boolean>((resolve) => {
      if (signal.aborted) return resolve(true);
      signal.addEventListener('abort', () => resolve(true), { once: true });
      setTimeout(() => resolve(false), 8_000).unref();
    });
    expect(await aborted).toBe(true);
  });

  it('stops planning at once', async () => {
    const session = await h.andon.session({ prompt: 'cancel the planner', context: { script: 'longPlan' } });
    expect((await session.waitFor('planning', T)).state).toBe('planning');
    const started = Date.now();
    await session.cancel('never mind');
    await h.client.workflow.getHandle(session.id).result();
    expect(Date.now() - started).toBeLessThan(3_000);
    const { events } = await session.timeline();
    expect(types(events)).toEqual(['sessionCreated', 'sessionCancelled']);
  });

  it('is refused for a completed session (InvalidStateError) and changes nothing', async () => {
    const session = await h.andon.run({ prompt: 'done already', followUpWindow: 10_000 });
    await session.result(T);
    const before = await session.timeline();
    const error = await rejectionOf(session.cancel('too late'));
    expect(InvalidStateError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ state: 'completed' });
    const after = await session.timeline();
    expect(after.lastSeq).toBe(before.lastSeq);
    expect((await session.info()).state).toBe('completed');
  });

  it('is refused for a cancelled session', async () => {
    const session = await awaitingApproval('cancel twice');
    await session.cancel('first');
    const error = await rejectionOf(session.cancel('second'));
    // Its workflow has closed, so Temporal refuses the call; the client reports the session's final state.
    expect(InvalidStateError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ state: 'cancelled' });
    expect(SessionNotFoundError.isInstance(error)).toBe(false);
    const view = await session.info();
    expect(view).toMatchObject({ state: 'cancelled', reason: 'first' });
    expect(count((await session.timeline()).events, 'sessionCancelled')).toBe(1);
  });
});

describe('reject', () => {
  it('without replan ends the session cancelled, recording planRejected and sessionCancelled', async () => {
    const session = await awaitingApproval('reject me');
    const view = await session.reject('too risky', { planId: 'plan-1', by: 'test:dave' });
    expect(view).toMatchObject({ state: 'cancelled', reason: 'plan plan-1 rejected: too risky' });
    const { events } = await session.timeline();
    expect(types(events)).toEqual(['sessionCreated', 'planGenerated', 'planRejected', 'sessionCancelled']);
    expect(events[2]).toMatchObject({ planId: 'plan-1', by: 'test:dave', reason: 'too risky', replan: false });
    expect(events[3]).toMatchObject({ by: 'test:dave', reason: 'plan plan-1 rejected: too risky' });
    const error = await rejectionOf(session.result(T));
    expect(SessionCancelledError.isInstance(error)).toBe(true);
    expect(backend.stepsOf(session.id)).toEqual([]);
  });

  it('with replan plans round 2 with the reason as feedback; the old plan is stale', async () => {
    const session = await awaitingApproval('replan me');
    const view = await session.reject('smaller steps please', { planId: 'plan-1', replan: true });
    expect(view.state).toBe('planning');
    const awaiting = await session.waitFor('awaitingPlanApproval', T);
    expect(awaiting.plan?.id).toBe('plan-2');
    const requests = backend.planRequests.filter((r) => r.sessionId === session.id);
    expect(requests.map((r) => [r.round, r.feedback, r.previousPlan?.id])).toEqual([
      [1, [], undefined],
      [2, ['smaller steps please'], 'plan-1'],
    ]);

    const stale = await rejectionOf(session.approve({ planId: 'plan-1' }));
    expect(StalePlanError.isInstance(stale)).toBe(true);
    expect(stale).toMatchObject({ state: 'awaitingPlanApproval', currentPlanId: 'plan-2' });
    await expect(session.reject('no', { planId: 'plan-1' })).rejects.toMatchObject({ name: 'StalePlanError', currentPlanId: 'plan-2' });

    await session.approve({ planId: 'plan-2' });
    await expect(session.result(T)).resolves.toMatchObject({ state: 'completed' });
    const { events } = await session.timeline();
    expect(types(events)).toEqual([
      'sessionCreated',
      'planGenerated',
      'planRejected',
      'planGenerated',
      // The two stale decisions were refused, and recorded with who tried and why.
      'approvalRefused',
      'approvalRefused',
      'planApproved',
      'progressUpdated',
      'progressUpdated',
      'progressUpdated',
      'sessionCompleted',
    ]);
    expect(events[2]).toMatchObject({ replan: true, reason: 'smaller steps please' });
    expect(events[4]).toMatchObject({ decision: 'approve', planId: 'plan-1', code: 'StalePlan', by: 'test:harness' });
    expect(events[5]).toMatchObject({ decision: 'reject', planId: 'plan-1', code: 'StalePlan', by: 'test:harness' });
    expect(events.find((e) => e.type === 'planApproved')).toMatchObject({ planId: 'plan-2' });
    expect(events.filter((e) => e.type === 'progressUpdated').map((e) => (e as { stepId?: string }).stepId)).toEqual([
      'plan-2-step-1',
      'plan-2-step-2',
      'plan-2-step-3',
    ]);
  });
});
