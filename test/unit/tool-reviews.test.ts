/**
 * The rules of steps carried out through tools, on the session record alone: which calls the plan
 * allows, reviews and their decisions, expiry, the budget, and what continue-as-new carries.
 */
import type { Plan, PlanStep } from '../../src/session/schema';
import { REFUSAL, type SessionWorkflowInput } from '../../src/protocol/messages';
import { decideApprove, decideCancel, decideMessage, decidePause, decideResume, decideReview } from '../../workflows/session/commands';
import { budgetReached } from '../../workflows/session/progress';
import {
  addUsage,
  lastSeq,
  nextCall,
  nextReviewExpiry,
  openSession,
  overBudget,
  setState,
  view,
  type Session,
} from '../../workflows/session/record';
import { awaitReview, callDone, expireReviews, grantedBy, turnTaken, workDone } from '../../workflows/session/tool-work';
import { at, first } from '../support/at';

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

function running(): Session {
  const r = openSession({ config }, tick());
  setState(r, 'planning', tick());
  r.record.plan = plan;
  setState(r, 'awaitingPlanApproval', tick());
  expect(decideApprove(r, { by: 'alice' }, tick())).toBeUndefined();
  expect(r.record.state).toBe('inProgress');
  return r;
}

const call = (id: string, tool: string, args: Record<string, unknown>, risky = false) => ({ id, tool, arguments: args, risky });

describe('grantedBy', () => {
  it('allows a granted tool called with exactly the granted arguments', () => {
    expect(grantedBy(step.tools!, { tool: 'restart', arguments: { service: 'checkout-api' } })).toBe(true);
    expect(grantedBy(step.tools!, { tool: 'searchLog', arguments: {} })).toBe(true);
  });
  it('refuses another tool, a pinned argument with another value, or any argument the grant does not name', () => {
    expect(grantedBy(step.tools!, { tool: 'restart', arguments: { service: 'payments' } })).toBe(false);
    expect(grantedBy(step.tools!, { tool: 'restart', arguments: {} })).toBe(false);
    expect(grantedBy(step.tools!, { tool: 'flushCache', arguments: {} })).toBe(false);
    // Used to pass: an argument the grant leaves out was free.
    expect(grantedBy(step.tools!, { tool: 'restart', arguments: { service: 'checkout-api', force: true } })).toBe(false);
  });
  it('treats a grant without arguments as no arguments, not as any arguments', () => {
    // Used to pass: `{ tool: 'searchLog' }` allowed every search, so a log line could steer one unreviewed.
    expect(grantedBy(step.tools!, { tool: 'searchLog', arguments: { path: '/etc/shadow', pattern: '.' } })).toBe(false);
    const commands = [{ tool: 'runReadOnlyCommand' }];
    expect(grantedBy(commands, { tool: 'runReadOnlyCommand', arguments: { argv: ['kubectl', 'get', 'secrets', '-o', 'yaml'] } })).toBe(
      false,
    );
  });
  it('compares pinned objects and arrays by value', () => {
    const grants = [{ tool: 'run', arguments: { argv: ['a', 'b'], env: { X: '1' } } }];
    expect(grantedBy(grants, { tool: 'run', arguments: { argv: ['a', 'b'], env: { X: '1' } } })).toBe(true);
    expect(grantedBy(grants, { tool: 'run', arguments: { argv: ['a'], env: { X: '1' } } })).toBe(false);
  });
  it('keeps the old rule for sessions that began before exact grants (the patch is absent)', () => {
    const r = running();
    const calls = [call('c1', 'searchLog', { path: 'demo/logs/a.log', pattern: 'x' }), call('c2', 'restart', { service: 'checkout-api' })];
    turnTaken(r, step, { text: '', toolCalls: calls }, tick(), () => false);
    expect(r.record.reviews).toEqual([]);
    const now = running();
    turnTaken(now, step, { text: '', toolCalls: calls }, tick());
    expect(now.record.reviews.map((v) => [v.toolCallId, v.reason])).toEqual([['c1', 'outsidePlan']]);
  });
});

describe('reviews', () => {
  it('opens a review for each call outside the plan or of a risky tool, all at once', () => {
    const r = running();
    const done = turnTaken(
      r,
      step,
      {
        text: 'checking',
        toolCalls: [
          call('c1', 'searchLog', {}),
          call('c2', 'restart', { service: 'payments' }),
          call('c3', 'restart', { service: 'checkout-api' }, true),
        ],
      },
      tick(),
    );
    expect(done).toBe(false);
    expect(r.record.reviews.map((v) => [v.toolCallId, v.reason])).toEqual([
      ['c2', 'outsidePlan'],
      ['c3', 'risky'],
    ]);
    expect(at(r.record.reviews, 0).expiresAt).toBe(new Date(Date.parse(at(r.record.reviews, 0).createdAt) + 60_000).toISOString());
    expect(view(r).pendingReviews).toHaveLength(2);
    // The first call is allowed: it runs; the second waits.
    expect(nextCall(r)).toMatchObject({ call: { id: 'c1' }, waiting: false });
    callDone(r, nextCall(r)!.call, { status: 'ok', output: 'fine' }, tick());
    expect(nextCall(r)).toMatchObject({ call: { id: 'c2' }, waiting: true });
  });

  it('waits in awaitingUserFeedback and goes on once the call it waits on is decided', () => {
    const r = running();
    turnTaken(r, step, { text: '', toolCalls: [call('c2', 'restart', { service: 'payments' })] }, tick());
    awaitReview(r, tick());
    expect(r.record.state).toBe('awaitingUserFeedback');
    // A chat message is only chat: no re-plan.
    decideMessage(r, 'send', { message: 'how is it going?' }, tick());
    expect(r.record.state).toBe('awaitingUserFeedback');
    const id = first(r.record.reviews).id;
    expect(decideReview(r, { reviewId: id, decision: 'edit', arguments: { service: 'checkout-api' }, by: 'bob' }, tick())).toBeUndefined();
    expect(r.record.state).toBe('inProgress');
    expect(nextCall(r)).toMatchObject({
      waiting: false,
      decision: { decision: 'edit', by: 'bob', arguments: { service: 'checkout-api' } },
    });
    callDone(r, nextCall(r)!.call, { status: 'ok', output: 'restarted' }, tick());
    expect(r.record.timeline.at(-1)).toMatchObject({ type: 'toolCalled', arguments: { service: 'checkout-api' }, reviewedBy: 'bob' });
    expect(r.record.work!.results).toEqual([
      { toolCallId: 'c2', tool: 'restart', status: 'ok', output: 'restarted', editedArguments: { service: 'checkout-api' } },
    ]);
  });

  it('refuses a decision on no pending review, and bad decisions, changing nothing', () => {
    const r = running();
    turnTaken(r, step, { text: '', toolCalls: [call('c2', 'restart', { service: 'payments' })] }, tick());
    const id = first(r.record.reviews).id;
    const seq = lastSeq(r);
    expect(decideReview(r, { reviewId: 'review-9', decision: 'approve' }, tick())).toMatchObject({
      type: REFUSAL.invalidState,
      message: expect.stringContaining(`pending: ${id}`),
    });
    expect(decideReview(r, { reviewId: id, decision: 'deny' }, tick())).toMatchObject({
      type: REFUSAL.invalidArgument,
      details: { field: 'reason' },
    });
    expect(decideReview(r, { reviewId: id, decision: 'edit' }, tick())).toMatchObject({
      type: REFUSAL.invalidArgument,
      details: { field: 'arguments' },
    });
    expect(decideReview(r, { reviewId: id, decision: 'approve', arguments: {} }, tick())).toMatchObject({
      type: REFUSAL.invalidArgument,
      details: { field: 'arguments' },
    });
    expect(lastSeq(r)).toBe(seq);
    expect(r.record.reviews).toHaveLength(1);
    // Decided once; the second decision finds nothing pending.
    expect(decideReview(r, { reviewId: id, decision: 'deny', reason: 'no' }, tick())).toBeUndefined();
    expect(decideReview(r, { reviewId: id, decision: 'approve' }, tick())).toMatchObject({ type: REFUSAL.invalidState });
  });

  it('denies reviews nobody decided in time', () => {
    const r = running();
    turnTaken(r, step, { text: '', toolCalls: [call('c2', 'restart', { service: 'payments' })] }, tick());
    awaitReview(r, tick());
    const expiry = nextReviewExpiry(r)!;
    expireReviews(r, new Date(expiry - 1));
    expect(r.record.reviews).toHaveLength(1);
    expireReviews(r, new Date(expiry));
    expect(r.record.reviews).toHaveLength(0);
    expect(r.record.timeline.at(-1)).toMatchObject({
      type: 'reviewDecided',
      decision: 'deny',
      by: 'policy:review-expired',
      originator: 'system',
    });
    expect(r.record.state).toBe('inProgress');
  });

  it('a review decided while paused lets the work go on at resume', () => {
    const r = running();
    turnTaken(r, step, { text: '', toolCalls: [call('c2', 'restart', { service: 'payments' })] }, tick());
    awaitReview(r, tick());
    expect(decidePause(r, { by: 'carol' }, tick())).toBeUndefined();
    expect(r.record.state).toBe('paused');
    decideReview(r, { reviewId: first(r.record.reviews).id, decision: 'approve', by: 'bob' }, tick());
    decideResume(r, { by: 'carol' }, tick());
    expect(r.record.state).toBe('inProgress');
  });

  it('clears reviews when the session ends', () => {
    const r = running();
    turnTaken(r, step, { text: '', toolCalls: [call('c2', 'restart', { service: 'payments' })] }, tick());
    decideCancel(r, { reason: 'stop', by: 'bob' }, tick());
    expect(view(r).pendingReviews).toEqual([]);
  });

  it('carries the work, reviews, usage and budget across continue-as-new', () => {
    const r = running();
    turnTaken(
      r,
      step,
      { text: '', toolCalls: [call('c2', 'restart', { service: 'payments' })], usage: { inputTokens: 10, outputTokens: 5, costUsd: 0.01 } },
      tick(),
    );
    const next = openSession({ config, carried: JSON.parse(JSON.stringify(r.record)) }, tick());
    expect(next.record.work).toEqual(r.record.work);
    expect(next.record.reviews).toEqual(r.record.reviews);
    expect(next.record.usage).toEqual({ inputTokens: 10, outputTokens: 5, costUsd: 0.01 });
    expect(next.record.budget).toEqual({ tokens: 1_000 });
  });

  it('ends the step when a turn calls no tool', () => {
    const r = running();
    expect(turnTaken(r, step, { text: 'All done.', toolCalls: [] }, tick())).toBe(true);
    workDone(r, step, 'All done.', tick());
    expect(r.record.currentStep).toBe(1);
    expect(r.record.work).toBeUndefined();
    expect(r.record.timeline.at(-1)).toMatchObject({ type: 'progressUpdated', description: 'All done.', stepId: step.id });
  });
});

describe('budget', () => {
  it('pauses when spent, and resumes only with a higher budget', () => {
    const r = running();
    addUsage(r, { inputTokens: 900, outputTokens: 100, costUsd: 0 });
    expect(overBudget(r)).toBe(true);
    budgetReached(r, tick());
    expect(r.record.state).toBe('paused');
    expect(r.record.timeline.slice(-2).map((e) => e.type)).toEqual(['budgetReached', 'sessionPaused']);
    expect(decideResume(r, { by: 'bob' }, tick())).toMatchObject({ type: REFUSAL.invalidArgument, details: { field: 'budget' } });
    expect(decideResume(r, { by: 'bob', budget: { tokens: 1_000 } }, tick())).toMatchObject({ type: REFUSAL.invalidArgument });
    expect(decideResume(r, { by: 'bob', budget: {} }, tick())).toMatchObject({
      type: REFUSAL.invalidArgument,
      details: { field: 'budget' },
    });
    expect(r.record.state).toBe('paused');
    expect(decideResume(r, { by: 'bob', budget: { tokens: 5_000 } }, tick())).toBeUndefined();
    expect(r.record.state).toBe('inProgress');
    expect(view(r).budget).toEqual({ tokens: 5_000 });
  });

  it('counts cost against a cost budget', () => {
    const r = openSession({ config: { ...config, budget: { costUsd: 0.5 } } }, tick());
    addUsage(r, { inputTokens: 1, outputTokens: 1, costUsd: 0.25 });
    expect(overBudget(r)).toBe(false);
    addUsage(r, { inputTokens: 1, outputTokens: 1, costUsd: 0.25 });
    expect(overBudget(r)).toBe(true);
  });
});
