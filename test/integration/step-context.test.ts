/**
 * A step's request carries only the most recent outcomes of earlier steps (PREVIOUS_OUTCOMES): each
 * request is an activity input kept in history, and carrying every outcome made a long plan's
 * history grow with the square of its steps. The summary still sees every outcome.
 */
import type { SummarizeRequest } from '../../src/agents/agent';
import { quickScript, startHarness, type Harness } from '../support/harness';
import { TestAgent } from '../support/test-agent';
import { PREVIOUS_OUTCOMES } from '../../workflows/session/steps';

const STEPS = PREVIOUS_OUTCOMES + 5;
const longPlan = quickScript({
  plans: [
    {
      title: 'A long plan',
      steps: Array.from({ length: STEPS }, (_, i) => ({ title: `Step ${i + 1}`, result: { description: `did ${i + 1}` } })),
    },
  ],
});
const agent = new TestAgent({ default: longPlan });
const summaries: SummarizeRequest[] = [];
const summarize = agent.summarize.bind(agent);
agent.summarize = (request, options) => {
  summaries.push(request);
  return summarize(request, options);
};

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ agent });
});
afterAll(() => h.close());

it(`gives each step at most the ${PREVIOUS_OUTCOMES} latest earlier outcomes, oldest first, and the summary every one`, async () => {
  const session = await h.andon.session({ prompt: 'long plan', requirePlanApproval: false });
  const outcome = await session.result({ timeoutMs: 60_000 });
  expect(outcome.state).toBe('completed');

  const requests = agent.stepRequests.filter((r) => r.sessionId === session.id);
  expect(requests.map((r) => r.step.title)).toEqual(Array.from({ length: STEPS }, (_, i) => `Step ${i + 1}`));
  requests.forEach((request, i) => {
    const expected = Array.from({ length: i }, (_, k) => `Step ${k + 1}`).slice(-PREVIOUS_OUTCOMES);
    expect(request.previous.map((p) => p.title)).toEqual(expected);
  });
  expect(requests.at(-1)!.previous).toHaveLength(PREVIOUS_OUTCOMES);
  const summary = summaries.find((r) => r.sessionId === session.id)!;
  expect(summary.steps.map((o) => o.title)).toEqual(Array.from({ length: STEPS }, (_, i) => `Step ${i + 1}`));
});
