/**
 * A step that fails in a way a person should judge (the backend's StepFailed) does not fail the
 * session: it waits for a decision (`decideStep`: retry the step, skip it, or abort), which goes
 * through the session's approval policy like an approval. A chat message is only chat.
 */
import type { Agent, CallOptions, StepRequest } from '../../src/agents/agent';
import { AgentError } from '../../src/agents/agent';
import { ScriptedAgent } from '../../src/agents/scripted';
import { InvalidStateError, NotAllowedError, type SessionClient, type TimelineEvent } from '../../src/client';
import type { ApprovalPolicyInput } from '../../src/session/approval';
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

async function failedAtFix(prompt: string, approval?: ApprovalPolicyInput): Promise<SessionClient> {
  const session = await h.andon.session({ prompt, approval });
  await session.waitFor('awaitingPlanApproval', T);
  await session.approve({ by: 'test:lead' });
  const view = await session.waitFor('awaitingUserFeedback', T);
  expect(view.stepFailure).toMatchObject({ stepId: 'plan-1-step-2', title: 'Fix', reason: 'exit status 1: service still unhealthy' });
  const { events } = await session.timeline();
  expect(events.at(-1)).toMatchObject({
    type: 'agentMessaged',
    message: expect.stringMatching(/Step 2 "Fix" failed: .*retry, skip or abort/s),
  });
  return session;
}

it('retry runs the failed step again and the session completes', async () => {
  const session = await failedAtFix('retry me');
  await session.decideStep('retry', { by: 'test:oncall' });
  const outcome = await session.result(T);
  expect(outcome.summary).toBe('done: retry me');
  const { events } = await session.timeline();
  expect(events.filter((e) => e.type === 'progressUpdated').map((e) => (e as { title: string }).title)).toEqual([
    'Look',
    'Retrying: Fix',
    'Fix',
  ]);
});

it('skip records the step as skipped and goes on', async () => {
  const session = await failedAtFix('skip me');
  await session.decideStep('skip', { by: 'test:oncall', stepId: 'plan-1-step-2', reason: 'checked by hand' });
  await session.result(T);
  const { events } = await session.timeline();
  expect(events.find((e) => e.type === 'progressUpdated' && e.title === 'Skipped: Fix')).toMatchObject({
    description: expect.stringContaining('skipped by test:oncall'),
  });
});

it('abort cancels the session with who and why', async () => {
  const session = await failedAtFix('abort me');
  await session.decideStep('abort', { by: 'test:oncall' });
  const view = await session.waitFor('cancelled', T);
  expect(view.reason).toMatch(/aborted by test:oncall after step "Fix" failed/);
  expect(types((await session.timeline()).events).at(-1)).toBe('sessionCancelled');
});

it('a chat message saying skip, retry or abort is only chat: the step still awaits a decision', async () => {
  const session = await failedAtFix('chat is not a decision');
  await session.send('skip', { by: 'test:anyone' });
  await session.send('abort', { by: 'test:anyone' });
  await session.ask('retry');
  const view = await session.info();
  expect(view.state).toBe('awaitingUserFeedback');
  expect(view.stepFailure).toMatchObject({ stepId: 'plan-1-step-2' });
  const { events } = await session.timeline();
  expect(events.some((e) => e.type === 'progressUpdated' && e.title.startsWith('Skipped'))).toBe(false);
  await session.cancel('test done');
});

it("a step decision needs someone the session's approval policy allows; a refusal is recorded", async () => {
  const session = await failedAtFix('only the lead decides', { approvers: ['test:lead'] });
  await expect(session.decideStep('skip', { by: 'test:intruder' })).rejects.toBeInstanceOf(NotAllowedError);
  // The signal form is refused the same way (nobody to answer: the timeline has it).
  await h.client.workflow.getHandle(session.id).signal('decideStep', { decision: 'skip', by: 'test:intruder2' });
  await h.andon.session(session.id).ask('status?');
  const refused = (await session.timeline()).events.filter((e) => e.type === 'approvalRefused');
  expect(refused).toEqual([
    expect.objectContaining({ decision: 'skip', by: 'test:intruder', code: 'NotAllowed' }),
    expect.objectContaining({ decision: 'skip', by: 'test:intruder2', code: 'NotAllowed' }),
  ]);
  expect((await session.info()).state).toBe('awaitingUserFeedback');
  await expect(session.decideStep('skip', { by: 'test:lead', stepId: 'plan-1-step-1' })).rejects.toBeInstanceOf(InvalidStateError);
  await session.decideStep('skip', { by: 'test:lead' });
  expect((await session.result(T)).state).toBe('completed');
});

it('refuses a step decision when no step has failed', async () => {
  const session = await h.andon.session({ prompt: 'nothing failed' });
  await session.waitFor('awaitingPlanApproval', T);
  await expect(session.decideStep('skip')).rejects.toBeInstanceOf(InvalidStateError);
  await session.cancel('test done');
});
