/**
 * Edges where a session meets Temporal directly: workflow cancellation, messages delivered with
 * the start, agent replies that fail, and a pause asked for during the last step.
 */
import { WorkflowClient } from '@temporalio/client';
import { AgentReplyError, type TimelineEvent } from '../../src/client';
import { SESSION_WORKFLOW_TYPE } from '../../src/session/search-attributes';
import type { SessionWorkflowInput } from '../../src/protocol/messages';
import { quickScript, startHarness, twoStepPlan, type Harness } from '../support/harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({
    agent: quickScript({
      plans: [twoStepPlan(1500)],
      // A reply the agent cannot give: the backend rejects it permanently.
      replies: [
        { match: 'explode', reply: '{context.missing}' },
        { match: 'status', reply: 'all good' },
      ],
    }),
  });
});
afterAll(() => h.close());

const types = (events: TimelineEvent[]) => events.map((e) => e.type);

function rawConfig(id: string): SessionWorkflowInput {
  return {
    config: { id, prompt: 'raw start', title: 'raw start', context: {}, requirePlanApproval: true, followUpWindowMs: 0 },
  };
}

it('Temporal workflow cancellation ends the session as cancelled, by "temporal"', async () => {
  const session = await h.andon.session({ prompt: 'cancel me through Temporal' });
  await session.waitFor('awaitingPlanApproval', { timeoutMs: 20_000 });
  await h.client.workflow.getHandle(session.id).cancel();
  const view = await session.waitFor('cancelled', { timeoutMs: 20_000 });
  expect(view.reason).toBe('the workflow was cancelled through Temporal');
  const { events } = await session.timeline();
  expect(events[events.length - 1]).toMatchObject({ type: 'sessionCancelled', by: 'temporal' });
  // The workflow itself completes normally with the final view: nothing stuck, nothing failed.
  expect((await h.client.workflow.getHandle(session.id).result()).state).toBe('cancelled');
});

it('messages delivered with the start come after sessionCreated; a cancel with the start ends it before planning', async () => {
  const client: WorkflowClient = h.client.workflow;
  const sent = `sws-send-${Date.now()}`;
  await client.signalWithStart(SESSION_WORKFLOW_TYPE, {
    workflowId: sent,
    taskQueue: h.taskQueue,
    args: [rawConfig(sent)],
    signal: 'send',
    signalArgs: [{ message: 'hello from the start', by: 'raw' }],
  });
  const withMessage = h.andon.session(sent);
  await withMessage.waitFor('awaitingPlanApproval', { timeoutMs: 20_000 });
  const { events } = await withMessage.timeline();
  expect(types(events).slice(0, 2)).toEqual(['sessionCreated', 'userMessaged']);

  const cancelled = `sws-cancel-${Date.now()}`;
  await client.signalWithStart(SESSION_WORKFLOW_TYPE, {
    workflowId: cancelled,
    taskQueue: h.taskQueue,
    args: [rawConfig(cancelled)],
    signal: 'cancel',
    signalArgs: [{ reason: 'false alarm', by: 'raw' }],
  });
  const final = await h.client.workflow.getHandle(cancelled).result();
  expect(final).toMatchObject({ state: 'cancelled', reason: 'false alarm' });
  expect(final.plan).toBeUndefined();
});

it('an ask the agent cannot answer fails with AgentReplyError and the session goes on', async () => {
  const session = await h.andon.session({ prompt: 'reply failure' });
  await session.waitFor('awaitingPlanApproval', { timeoutMs: 20_000 });
  const error = await session.ask('please explode').catch((e: unknown) => e);
  if (!AgentReplyError.isInstance(error)) throw error;
  expect(error.message).toMatch(/the agent could not reply/);
  expect((await session.ask('status?')).reply).toBe('all good');
  expect((await session.info()).state).toBe('awaitingPlanApproval');
  const { events } = await session.timeline();
  expect(events.find((e) => e.type === 'inputRejected')).toMatchObject({ message: 'please explode' });
  await session.cancel('done');
});

it('a pause asked for during the last step takes effect before the summary; resume completes it', async () => {
  const session = await h.andon.session({ prompt: 'pause at the end' });
  await session.waitFor('awaitingPlanApproval', { timeoutMs: 20_000 });
  await session.approve();
  // Step 2 of 2 (the last) runs for 1.5 s: pause while it does.
  for await (const event of session.stream()) if (event.type === 'progressUpdated') break;
  const requested = await session.pause({ reason: 'check before wrapping up' });
  expect(requested).toMatchObject({ state: 'inProgress', pauseRequested: true });
  const paused = await session.waitFor('paused', { timeoutMs: 20_000 });
  expect(paused.summary).toBeUndefined();
  await session.resume();
  const outcome = await session.result({ timeoutMs: 20_000 });
  expect(outcome.summary).toBe('done: pause at the end');
  const { events } = await session.timeline();
  expect(types(events).slice(-5)).toEqual(['progressUpdated', 'progressUpdated', 'sessionPaused', 'sessionResumed', 'sessionCompleted']);
});
