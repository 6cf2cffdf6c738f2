/**
 * Failures: a permanent backend failure fails the session with its message as the reason, a
 * transient one is retried by Temporal, and waiting for a state the session never reaches ends.
 */
import { InvalidStateError, SessionFailedError, type TimelineEvent } from '../../src/client';
import { quickScript, startHarness, type Harness } from '../support/harness';
import type { Agent } from '../../src/agents/agent';
import { rejectionOf } from '../support/rejection';
import { TestAgent } from '../support/test-agent';

const twoSteps = (fixFailures: { attempt: number; kind: 'transient' | 'permanent'; message: string }[]) =>
  quickScript({
    plans: [
      {
        steps: [
          { title: 'Look', result: { description: 'looked' } },
          { title: 'Fix', result: { description: 'fixed' }, failures: fixFailures },
        ],
      },
    ],
  });

/** A backend whose plan breaks the PlanResult contract (no steps). */
const brokenPlanner: Agent = {
  name: 'broken',
  plan: async () => ({ kind: 'plan', steps: [] }),
  executeStep: () => Promise.reject(new Error('unreachable')),
  reply: async () => ({ message: 'hi' }),
  summarize: () => Promise.reject(new Error('unreachable')),
};

const backend = new TestAgent({
  default: quickScript(),
  permanentStep: twoSteps([{ attempt: 1, kind: 'permanent', message: 'disk is read-only' }]),
  transientStep: twoSteps([{ attempt: 1, kind: 'transient', message: 'network blip' }]),
  permanentPlan: quickScript({ planFailures: [{ attempt: 1, kind: 'permanent', message: 'no runbook for this alert' }] }),
  transientPlan: quickScript({ planFailures: [{ attempt: 1, kind: 'transient', message: 'model overloaded' }] }),
  brokenPlan: brokenPlanner,
});

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ agent: backend });
});
afterAll(() => h.close());

const T = { timeoutMs: 20_000 };
const types = (events: TimelineEvent[]) => events.map((e) => e.type);

describe('backend failures', () => {
  it('a permanent failure in a step fails the session with the failure message as reason, without retrying', async () => {
    const session = await h.andon.run({ prompt: 'read-only disk', context: { script: 'permanentStep' } });
    const error = await rejectionOf(session.result(T));
    expect(SessionFailedError.isInstance(error)).toBe(true);
    expect((error as SessionFailedError).reason).toBe('disk is read-only');
    expect((error as SessionFailedError).session).toMatchObject({ state: 'failed', reason: 'disk is read-only' });
    expect((error as Error).message).toContain('disk is read-only');

    const { events } = await session.timeline();
    expect(types(events)).toEqual(['sessionCreated', 'planGenerated', 'planApproved', 'progressUpdated', 'sessionFailed']);
    expect(events.at(-1)).toMatchObject({ type: 'sessionFailed', reason: 'disk is read-only', originator: 'system' });
    expect(backend.callsOf(session.id)).toEqual(['plan#1', 'step:Look#1', 'step:Fix#1']);
    // A failed session closes at once, returning its final view.
    const handle = h.client.workflow.getHandle(session.id);
    await expect(handle.result()).resolves.toMatchObject({ state: 'failed', reason: 'disk is read-only' });
    expect((await handle.describe()).status.name).toBe('COMPLETED');
  });

  it('a transient failure on attempt 1 is retried and the session completes', async () => {
    const session = await h.andon.run({ prompt: 'blip', context: { script: 'transientStep' } });
    await expect(session.result(T)).resolves.toMatchObject({ state: 'completed', summary: 'done: blip' });
    expect(backend.callsOf(session.id)).toEqual(['plan#1', 'step:Look#1', 'step:Fix#1', 'step:Fix#2', 'summarize#1']);
    const { events } = await session.timeline();
    expect(types(events)).toEqual([
      'sessionCreated',
      'planGenerated',
      'planApproved',
      'progressUpdated',
      'progressUpdated',
      'sessionCompleted',
    ]);
    expect(events.filter((e) => e.type === 'progressUpdated').map((e) => (e as { title: string }).title)).toEqual(['Look', 'Fix']);
  });

  it('a permanent failure during planning fails the session before any plan', async () => {
    const session = await h.andon.session({ prompt: 'unknown alert', context: { script: 'permanentPlan' } });
    const error = await rejectionOf(session.result(T));
    expect(SessionFailedError.isInstance(error)).toBe(true);
    expect((error as SessionFailedError).reason).toBe('no runbook for this alert');
    const { events } = await session.timeline();
    expect(types(events)).toEqual(['sessionCreated', 'sessionFailed']);
    expect(backend.callsOf(session.id)).toEqual(['plan#1']);
    const view = await session.info();
    expect(view).toMatchObject({ state: 'failed', reason: 'no runbook for this alert' });
    expect(view.plan).toBeUndefined();
  });

  it('a transient failure during planning is retried and the plan arrives', async () => {
    const session = await h.andon.session({ prompt: 'busy model', context: { script: 'transientPlan' } });
    const view = await session.waitFor('awaitingPlanApproval', T);
    expect(view.plan?.id).toBe('plan-1');
    expect(backend.callsOf(session.id)).toEqual(['plan#1', 'plan#2']);
    expect(types((await session.timeline()).events)).toEqual(['sessionCreated', 'planGenerated']);
    await session.cancel('done testing');
  });

  it('an invalid result from the backend fails the session naming what was wrong', async () => {
    const session = await h.andon.session({ prompt: 'broken backend', context: { script: 'brokenPlan' } });
    const error = await rejectionOf(session.result(T));
    expect(SessionFailedError.isInstance(error)).toBe(true);
    expect((error as SessionFailedError).reason).toMatch(/^the agent backend returned an invalid result: steps: /);
    expect(backend.callsOf(session.id)).toEqual(['plan#1']);
  });
});

describe('waiting for a state the session never reaches', () => {
  it('waitFor fails with InvalidStateError when the session completes without passing through it', async () => {
    const session = await h.andon.run({ prompt: 'no approval needed' });
    const error = await rejectionOf(session.waitFor('awaitingPlanApproval', T));
    expect(InvalidStateError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ state: 'completed' });
    expect((error as Error).message).toContain('ended completed before reaching awaitingPlanApproval');
  });

  it('waitFor fails with InvalidStateError(failed) when the session fails first', async () => {
    const session = await h.andon.run({ prompt: 'doomed', context: { script: 'permanentStep' } });
    const error = await rejectionOf(session.waitFor(['paused', 'completed'], T));
    expect(InvalidStateError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ state: 'failed' });
    expect((error as Error).message).toContain('paused or completed');
  });

  it('waitFor a terminal state the session did reach resolves with its final view', async () => {
    const session = await h.andon.run({ prompt: 'doomed again', context: { script: 'permanentStep' } });
    await expect(session.waitFor(['failed', 'cancelled'], T)).resolves.toMatchObject({ state: 'failed', reason: 'disk is read-only' });
  });
});
