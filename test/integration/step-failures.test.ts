/**
 * A step that fails in a way a person should judge (the backend's StepFailed) does not fail the
 * session: it asks, and the next message decides: retry the step, skip it, or abort.
 */
import type { Agent, CallOptions, StepRequest } from '../../src/agents/agent';
import { AgentError } from '../../src/agents/agent';
import { ScriptedAgent } from '../../src/agents/scripted';
import type { SessionClient, TimelineEvent } from '../../src/client';
import { quickScript, startHarness, type Harness } from '../support/harness';

/** Fails step "Fix" the first time each session runs it; every later run succeeds. */
class FailsFixOnce implements Agent {
  readonly name = 'fails-fix-once';
  private readonly inner = new ScriptedAgent(quickScript());
  private readonly failed = new Set<string>();
  readonly plan = this.inner.plan.bind(this.inner);
  readonly reply = this.inner.reply.bind(this.inner);
  readonly summarize = this.inner.summarize.bind(this.inner);
  async executeStep(request: StepRequest, options: CallOptions) {
    if (request.step.title === 'Fix' && !this.failed.has(request.sessionId)) {
      this.failed.add(request.sessionId);
      throw new AgentError('exit status 1: service still unhealthy', { retryable: false, code: 'StepFailed' });
    }
    return this.inner.executeStep(request, options);
  }
}

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ agent: new FailsFixOnce() });
});
afterAll(() => h.close());

const T = { timeoutMs: 20_000 };
const types = (events: TimelineEvent[]) => events.map((e) => e.type);

async function failedAtFix(prompt: string): Promise<SessionClient> {
  const session = await h.andon.session({ prompt });
  await session.waitFor('awaitingPlanApproval', T);
  await session.approve();
  const view = await session.waitFor('awaitingUserFeedback', T);
  expect(view.stepFailure).toMatchObject({ stepId: 'plan-1-step-2', title: 'Fix', reason: 'exit status 1: service still unhealthy' });
  const { events } = await session.timeline();
  expect(events.at(-1)).toMatchObject({
    type: 'agentMessaged',
    message: expect.stringMatching(/Step 2 "Fix" failed: .*Reply retry, skip or abort/s),
  });
  return session;
}

it('retry runs the failed step again and the session completes', async () => {
  const session = await failedAtFix('retry me');
  await session.send('retry please');
  const outcome = await session.result(T);
  expect(outcome.summary).toBe('done: retry me');
  const { events } = await session.timeline();
  expect(events.filter((e) => e.type === 'progressUpdated').map((e) => (e as { title: string }).title)).toEqual(['Look', 'Fix']);
});

it('skip records the step as skipped and goes on', async () => {
  const session = await failedAtFix('skip me');
  await session.send('skip', { by: 'test:oncall' });
  await session.result(T);
  const { events } = await session.timeline();
  expect(events.find((e) => e.type === 'progressUpdated' && e.title === 'Skipped: Fix')).toMatchObject({
    description: expect.stringContaining('skipped by test:oncall'),
  });
});

it('abort cancels the session with who and why; other text is only chat', async () => {
  const session = await failedAtFix('abort me');
  await session.ask('what happened?');
  expect((await session.info()).state).toBe('awaitingUserFeedback');
  await session.send('abort', { by: 'test:oncall' });
  const view = await session.waitFor('cancelled', T);
  expect(view.reason).toMatch(/aborted by test:oncall after step "Fix" failed/);
  expect(types((await session.timeline()).events).at(-1)).toBe('sessionCancelled');
});
