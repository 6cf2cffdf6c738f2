/**
 * The rules of steps carried out through tools, on SessionRecord alone: which calls the plan
 * allows, reviews and their decisions, expiry, the budget, and what continue-as-new carries.
 */
import type { Plan, PlanStep } from '../../src/session/schema';
import { REFUSAL, type SessionWorkflowInput } from '../../src/protocol/messages';
import { SessionRecord, grantedBy } from '../../workflows/session-record';

const config: SessionWorkflowInput['config'] = {
  id: 'tools-1',
  title: 'Tool session',
  prompt: 'restart checkout-api',
  context: {},
  requirePlanApproval: true,
  followUpWindowMs: 0,
  budget: { tokens: 1_000 },
  review: { expireAfter: 60_000 },
};

let clock = Date.parse('2026-01-01T00:00:00.000Z');
const tick = () => new Date((clock += 1_000));

const step: PlanStep = {
  id: 'plan-1-step-1',
  index: 0,
  title: 'Restart',
  description: '',
  tools: [{ tool: 'restart', arguments: { service: 'checkout-api' } }, { tool: 'searchLog' }],
};
const plan: Plan = { id: 'plan-1', steps: [step] };

function running(): SessionRecord {
  const r = new SessionRecord({ config }, tick());
  r.setState('planning', tick());
  r.plan = plan;
  r.setState('awaitingPlanApproval', tick());
  expect(r.decideApprove({ by: 'alice' }, tick())).toBeUndefined();
  expect(r.state).toBe('inProgress');
  return r;
}

const call = (id: string, tool: string, args: Record<string, unknown>, risky = false) => ({ id, tool, arguments: args, risky });

describe('grantedBy', () => {
  it('allows a granted tool whose pinned arguments match, whatever the free ones are', () => {
    expect(grantedBy(step.tools!, { tool: 'restart', arguments: { service: 'checkout-api', force: true } })).toBe(true);
    expect(grantedBy(step.tools!, { tool: 'searchLog', arguments: { path: 'anything' } })).toBe(true);
  });
  it('refuses another tool, or a pinned argument with another value', () => {
    expect(grantedBy(step.tools!, { tool: 'restart', arguments: { service: 'payments' } })).toBe(false);
    expect(grantedBy(step.tools!, { tool: 'restart', arguments: {} })).toBe(false);
    expect(grantedBy(step.tools!, { tool: 'flushCache', arguments: {} })).toBe(false);
  });
  it('compares pinned objects and arrays by value', () => {
    const grants = [{ tool: 'run', arguments: { argv: ['a', 'b'], env: { X: '1' } } }];
    expect(grantedBy(grants, { tool: 'run', arguments: { argv: ['a', 'b'], env: { X: '1' } } })).toBe(true);
    expect(grantedBy(grants, { tool: 'run', arguments: { argv: ['a'], env: { X: '1' } } })).toBe(false);
  });
});

describe('reviews', () => {
  it('opens a review for each call outside the plan or of a risky tool, all at once', () => {
    const r = running();
    const done = r.turnTaken(step, { text: 'checking', toolCalls: [call('c1', 'searchLog', {}), call('c2', 'restart', { service: 'payments' }), call('c3', 'restart', { service: 'checkout-api' }, true)] }, tick());
    expect(done).toBe(false);
    expect(r.reviews.map((v) => [v.toolCallId, v.reason])).toEqual([
      ['c2', 'outsidePlan'],
      ['c3', 'risky'],
    ]);
    expect(r.reviews[0].expiresAt).toBe(new Date(Date.parse(r.reviews[0].createdAt) + 60_000).toISOString());
    expect(r.view().pendingReviews).toHaveLength(2);
    // The first call is allowed: it runs; the second waits.
    expect(r.nextCall()).toMatchObject({ call: { id: 'c1' }, waiting: false });
    r.callDone(r.nextCall()!.call, { status: 'ok', output: 'fine' }, tick());
    expect(r.nextCall()).toMatchObject({ call: { id: 'c2' }, waiting: true });
  });

  it('waits in awaitingUserFeedback and goes on once the call it waits on is decided', () => {
    const r = running();
    r.turnTaken(step, { text: '', toolCalls: [call('c2', 'restart', { service: 'payments' })] }, tick());
    r.awaitReview(tick());
    expect(r.state).toBe('awaitingUserFeedback');
    // A chat message is only chat: no re-plan.
    r.decideMessage('send', { message: 'how is it going?' }, tick());
    expect(r.state).toBe('awaitingUserFeedback');
    const id = r.reviews[0].id;
    expect(r.decideReview({ reviewId: id, decision: 'edit', arguments: { service: 'checkout-api' }, by: 'bob' }, tick())).toBeUndefined();
    expect(r.state).toBe('inProgress');
    expect(r.nextCall()).toMatchObject({ waiting: false, decision: { decision: 'edit', by: 'bob', arguments: { service: 'checkout-api' } } });
    r.callDone(r.nextCall()!.call, { status: 'ok', output: 'restarted' }, tick());
    expect(r.timeline.at(-1)).toMatchObject({ type: 'toolCalled', arguments: { service: 'checkout-api' }, reviewedBy: 'bob' });
    expect(r.work!.results).toEqual([{ toolCallId: 'c2', tool: 'restart', status: 'ok', output: 'restarted', editedArguments: { service: 'checkout-api' } }]);
  });

  it('refuses a decision on no pending review, and bad decisions, changing nothing', () => {
    const r = running();
    r.turnTaken(step, { text: '', toolCalls: [call('c2', 'restart', { service: 'payments' })] }, tick());
    const id = r.reviews[0].id;
    const seq = r.lastSeq;
    expect(r.decideReview({ reviewId: 'review-9', decision: 'approve' }, tick())).toMatchObject({ type: REFUSAL.invalidState, message: expect.stringContaining(`pending: ${id}`) });
    expect(r.decideReview({ reviewId: id, decision: 'deny' }, tick())).toMatchObject({ type: REFUSAL.invalidArgument, details: { field: 'reason' } });
    expect(r.decideReview({ reviewId: id, decision: 'edit' }, tick())).toMatchObject({ type: REFUSAL.invalidArgument, details: { field: 'arguments' } });
    expect(r.decideReview({ reviewId: id, decision: 'approve', arguments: {} }, tick())).toMatchObject({ type: REFUSAL.invalidArgument, details: { field: 'arguments' } });
    expect(r.lastSeq).toBe(seq);
    expect(r.reviews).toHaveLength(1);
    // Decided once; the second decision finds nothing pending.
    expect(r.decideReview({ reviewId: id, decision: 'deny', reason: 'no' }, tick())).toBeUndefined();
    expect(r.decideReview({ reviewId: id, decision: 'approve' }, tick())).toMatchObject({ type: REFUSAL.invalidState });
  });

  it('denies reviews nobody decided in time', () => {
    const r = running();
    r.turnTaken(step, { text: '', toolCalls: [call('c2', 'restart', { service: 'payments' })] }, tick());
    r.awaitReview(tick());
    const expiry = r.nextReviewExpiry()!;
    r.expireReviews(new Date(expiry - 1));
    expect(r.reviews).toHaveLength(1);
    r.expireReviews(new Date(expiry));
    expect(r.reviews).toHaveLength(0);
    expect(r.timeline.at(-1)).toMatchObject({ type: 'reviewDecided', decision: 'deny', by: 'policy:review-expired', originator: 'system' });
    expect(r.state).toBe('inProgress');
  });

  it('a review decided while paused lets the work go on at resume', () => {
    const r = running();
    r.turnTaken(step, { text: '', toolCalls: [call('c2', 'restart', { service: 'payments' })] }, tick());
    r.awaitReview(tick());
    expect(r.decidePause({ by: 'carol' }, tick())).toBeUndefined();
    expect(r.state).toBe('paused');
    r.decideReview({ reviewId: r.reviews[0].id, decision: 'approve', by: 'bob' }, tick());
    r.decideResume({ by: 'carol' }, tick());
    expect(r.state).toBe('inProgress');
  });

  it('clears reviews when the session ends', () => {
    const r = running();
    r.turnTaken(step, { text: '', toolCalls: [call('c2', 'restart', { service: 'payments' })] }, tick());
    r.decideCancel({ reason: 'stop', by: 'bob' }, tick());
    expect(r.view().pendingReviews).toEqual([]);
  });

  it('carries the work, reviews, usage and budget across continue-as-new', () => {
    const r = running();
    r.turnTaken(step, { text: '', toolCalls: [call('c2', 'restart', { service: 'payments' })], usage: { inputTokens: 10, outputTokens: 5, costUsd: 0.01 } }, tick());
    const next = new SessionRecord({ config, carried: JSON.parse(JSON.stringify(r.carry())) }, tick());
    expect(next.work).toEqual(r.work);
    expect(next.reviews).toEqual(r.reviews);
    expect(next.usage).toEqual({ inputTokens: 10, outputTokens: 5, costUsd: 0.01 });
    expect(next.budget).toEqual({ tokens: 1_000 });
  });

  it('ends the step when a turn calls no tool', () => {
    const r = running();
    expect(r.turnTaken(step, { text: 'All done.', toolCalls: [] }, tick())).toBe(true);
    r.workDone(step, 'All done.', tick());
    expect(r.currentStep).toBe(1);
    expect(r.work).toBeUndefined();
    expect(r.timeline.at(-1)).toMatchObject({ type: 'progressUpdated', description: 'All done.', stepId: step.id });
  });
});

describe('budget', () => {
  it('pauses when spent, and resumes only with a higher budget', () => {
    const r = running();
    r.addUsage({ inputTokens: 900, outputTokens: 100, costUsd: 0 });
    expect(r.overBudget()).toBe(true);
    r.budgetReached(tick());
    expect(r.state).toBe('paused');
    expect(r.timeline.slice(-2).map((e) => e.type)).toEqual(['budgetReached', 'sessionPaused']);
    expect(r.decideResume({ by: 'bob' }, tick())).toMatchObject({ type: REFUSAL.invalidArgument, details: { field: 'budget' } });
    expect(r.decideResume({ by: 'bob', budget: { tokens: 1_000 } }, tick())).toMatchObject({ type: REFUSAL.invalidArgument });
    expect(r.decideResume({ by: 'bob', budget: {} }, tick())).toMatchObject({ type: REFUSAL.invalidArgument, details: { field: 'budget' } });
    expect(r.state).toBe('paused');
    expect(r.decideResume({ by: 'bob', budget: { tokens: 5_000 } }, tick())).toBeUndefined();
    expect(r.state).toBe('inProgress');
    expect(r.view().budget).toEqual({ tokens: 5_000 });
  });

  it('counts cost against a cost budget', () => {
    const r = new SessionRecord({ config: { ...config, budget: { costUsd: 0.5 } } }, tick());
    r.addUsage({ inputTokens: 1, outputTokens: 1, costUsd: 0.25 });
    expect(r.overBudget()).toBe(false);
    r.addUsage({ inputTokens: 1, outputTokens: 1, costUsd: 0.25 });
    expect(r.overBudget()).toBe(true);
  });
});
