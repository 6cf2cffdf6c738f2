/**
 * The standard session (alert, plan, approval, five steps, done) must stay within 60 history
 * events, follow-up window included: history is what every replay, every worker cache miss and
 * the 51,200-event limit pay for. An event count is deterministic, so this is a test, not a benchmark.
 */
import { temporal } from '@temporalio/proto';
import { DEMO_SCRIPT, startHarness, type Harness } from '../support/harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ agent: DEMO_SCRIPT });
});
afterAll(() => h.close());

it('a standard session closes in at most 60 history events, follow-up window included', async () => {
  const session = await h.andon.session({
    prompt: 'checkout-api error rate above 5%',
    context: { service: 'checkout-api', severity: 'critical' },
    followUpWindow: 300,
  });
  const view = await session.waitFor('awaitingPlanApproval', { timeoutMs: 30_000 });
  expect(view.plan?.steps).toHaveLength(5);
  await session.approve();
  await session.result({ timeoutMs: 30_000 });
  const handle = h.client.workflow.getHandle(session.id);
  await handle.result();

  const events = (await handle.fetchHistory()).events ?? [];
  const types = events.map((e) => temporal.api.enums.v1.EventType[e.eventType!]);
  expect(types[types.length - 1]).toBe('EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED');
  expect(types.filter((t) => t === 'EVENT_TYPE_ACTIVITY_TASK_SCHEDULED')).toHaveLength(6); // plan + 5 steps
  expect(events.length).toBeLessThanOrEqual(60);
});
