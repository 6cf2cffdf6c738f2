/**
 * The commands people (and alert receivers) send a session. Each `decide*` checks input and state
 * and returns a refusal, or applies the command to the record. Both the update and the signal
 * form of a command go through the same function, so they can never disagree; a validator calls
 * it with `apply = false`: same checks, no change.
 *
 * Decisions (approve, reject): validators check only the input. Every other refusal (wrong
 * state, stale plan, not allowed, duplicate) must reach the handler, which records who tried
 * and why (`approvalRefused`) before refusing: the audit trail has every attempt.
 */
import { AlertNotification, Budget, isTerminal, type Plan } from '../../src/session/schema';
import { personOf, whyNotAllowed } from '../../src/session/approval';
import {
  ApproveInput,
  CancelInput,
  DecideStepInput,
  MessageInput,
  PauseInput,
  REFUSAL,
  RejectInput,
  ResumeInput,
  ReviewInput,
  type StepDecision,
} from '../../src/protocol/messages';
import {
  approvePlan,
  end,
  lastSeq,
  nextCall,
  overBudget,
  parseInput,
  pauseNow,
  recordEvent,
  refuseFullQueue,
  refuseUnless,
  setState,
  type Refusal,
  type Session,
} from './record';
import { approveChangesBy, rejectChanges, staleChangeSet } from './workspace';

export function decideApprove(s: Session, raw: unknown, now: Date, apply = true): Refusal | undefined {
  const parsed = parseInput(s, ApproveInput, raw);
  if ('refusal' in parsed || !apply) return 'refusal' in parsed ? parsed.refusal : undefined;
  const input = parsed.value;
  const by = input.by ?? 'unknown';
  const refusal = refuseDecision(s, 'approve', by, input.planId, input.planHash, now, input.changeSetHash);
  if (refusal) return refusal;
  const r = s.record;
  // A code session's change set awaiting approval: the same policy, counted the same way.
  if (r.state === 'awaitingChangeApproval') {
    approveChangesBy(s, by, input.comment, now);
    return undefined;
  }
  const plan = r.plan as Plan;
  const person = personOf(s.policy, by);
  r.approvals.push({ person, by, time: now.toISOString() });
  if (r.approvals.length < s.policy.required) {
    recordEvent(
      s,
      {
        type: 'approvalRecorded',
        originator: 'user',
        planId: plan.id,
        by,
        person,
        approvals: r.approvals.length,
        required: s.policy.required,
        comment: input.comment,
      },
      now,
    );
    return undefined;
  }
  approvePlan(s, by, input.comment, now);
  return undefined;
}

export function decideReject(s: Session, raw: unknown, now: Date, apply = true): Refusal | undefined {
  const parsed = parseInput(s, RejectInput, raw);
  if ('refusal' in parsed || !apply) return 'refusal' in parsed ? parsed.refusal : undefined;
  const input = parsed.value;
  const by = input.by ?? 'unknown';
  const refusal = refuseDecision(s, 'reject', by, input.planId, input.planHash, now, input.changeSetHash);
  if (refusal) return refusal;
  if (s.record.state === 'awaitingChangeApproval') {
    // Nothing is pushed; the session completes with the change set in its outputs.
    if (!input.replan) {
      rejectChanges(s, by, input.reason, now);
      return undefined;
    }
    return recordRefusal(
      s,
      'reject',
      by,
      {
        type: REFUSAL.invalidArgument,
        message: 'a change set awaiting approval cannot be re-planned: reject it without replan, or approve it',
        details: { state: s.record.state, field: 'replan' },
      },
      now,
    );
  }
  const plan = s.record.plan as Plan;
  recordEvent(s, { type: 'planRejected', originator: 'user', planId: plan.id, by, reason: input.reason, replan: input.replan }, now);
  if (input.replan) {
    s.record.feedback.push(input.reason);
    s.record.round += 1;
    setState(s, 'planning', now);
  } else {
    end(s, 'cancelled', `plan ${plan.id} rejected: ${input.reason}`, by, now);
  }
  return undefined;
}

/** Accepts a chat message. Returns the message id (an already-accepted id is not accepted again). */
export function decideMessage(
  s: Session,
  operation: 'send' | 'ask',
  raw: unknown,
  now: Date,
  apply = true,
): Refusal | { messageId: string; duplicate: boolean } {
  const parsed = parseInput(s, MessageInput, raw);
  if ('refusal' in parsed) return parsed.refusal;
  const input = parsed.value;
  const r = s.record;
  if (input.messageId && (r.answers.some((a) => a.id === input.messageId) || r.queue.some((m) => m.id === input.messageId))) {
    return { messageId: input.messageId, duplicate: true };
  }
  const refusal = refuseUnless(s, operation) ?? refuseFullQueue(s, input.message.length);
  if (refusal) return refusal;
  const messageId = input.messageId ?? `msg-${lastSeq(s) + 1}`;
  if (!apply) return { messageId, duplicate: false };
  const by = input.by ?? 'unknown';
  recordEvent(s, { type: 'userMessaged', originator: 'user', messageId, message: input.message, by }, now);
  r.queue.push({ id: messageId, text: input.message, by });
  r.acceptedMessages += 1;
  // While the agent waits for an answer, the next message is that answer: planning resumes with it.
  if (r.state === 'awaitingUserFeedback' && !r.work) {
    // Sessions started before decideStep existed still read a failed step's decision from chat;
    // now a message is just chat, and only `decideStep` (under the approval policy) decides.
    if (r.stepFailure) {
      if (!s.rules.decisionsByPolicy) answerStepFailure(s, input.message, by, now);
    } else {
      r.feedback.push(input.message);
      r.round += 1;
      setState(s, 'planning', now);
    }
  }
  return { messageId, duplicate: false };
}

/** The old answer to a failed step, read from a chat message (sessions started before decideStep). */
function answerStepFailure(s: Session, text: string, by: string, now: Date): void {
  const choice = /^\W*(retry|skip|abort)\b/i.exec(text)?.[1]?.toLowerCase();
  if (choice) applyStepDecision(s, choice as StepDecision, by, now);
}

/**
 * Decides a failed step (`decideStep`): retry it, skip it, or abort the session. Like an
 * approval, it needs someone the approval policy allows; a refusal is recorded (approvalRefused).
 */
export function decideStep(s: Session, raw: unknown, now: Date, apply = true): Refusal | undefined {
  const parsed = parseInput(s, DecideStepInput, raw);
  if ('refusal' in parsed || !apply) return 'refusal' in parsed ? parsed.refusal : undefined;
  const input = parsed.value;
  const by = input.by ?? 'unknown';
  const r = s.record;
  const failure = r.stepFailure;
  const refusal: Refusal | undefined =
    !failure || r.state !== 'awaitingUserFeedback' || r.work
      ? {
          type: REFUSAL.invalidState,
          message: `cannot decide a step of session ${s.config.id}: no failed step awaits a decision (state: ${r.state})`,
          details: { state: r.state },
        }
      : input.stepId !== undefined && input.stepId !== failure.stepId
        ? {
            type: REFUSAL.invalidState,
            message: `step ${input.stepId} is not the failed step: step ${failure.stepId} ("${failure.title}") awaits a decision`,
            details: { state: r.state, field: 'stepId' },
          }
        : refuseByPolicy(s, input.decision, by);
  if (refusal) return recordRefusal(s, input.decision, by, refusal, now);
  applyStepDecision(s, input.decision, by, now, input.reason);
  return undefined;
}

function applyStepDecision(s: Session, choice: StepDecision, by: string, now: Date, reason?: string): void {
  const r = s.record;
  const failure = r.stepFailure!;
  r.stepFailure = undefined;
  const why = reason ? ` (${reason})` : '';
  if (choice === 'abort')
    return end(s, 'cancelled', `aborted by ${by} after step "${failure.title}" failed: ${failure.reason}${why}`, by, now);
  if (choice === 'skip') {
    const description = `skipped by ${by} after it failed: ${failure.reason}${why}`;
    recordEvent(
      s,
      {
        type: 'progressUpdated',
        originator: 'user',
        title: `Skipped: ${failure.title}`,
        description,
        stepId: failure.stepId,
        artifacts: [],
      },
      now,
    );
    r.stepOutcomes.push({ stepId: failure.stepId, title: `Skipped: ${failure.title}`, description });
    r.currentStep = (r.currentStep ?? 0) + 1;
  } else if (s.rules.decisionsByPolicy) {
    // Who decided a retry is on the timeline too (older sessions recorded nothing).
    recordEvent(
      s,
      {
        type: 'progressUpdated',
        originator: 'user',
        title: `Retrying: ${failure.title}`,
        description: `retried by ${by} after it failed: ${failure.reason}${why}`,
        stepId: failure.stepId,
        artifacts: [],
      },
      now,
    );
  }
  setState(s, 'inProgress', now);
}

export function decidePause(s: Session, raw: unknown, now: Date, apply = true): Refusal | undefined {
  const parsed = parseInput(s, PauseInput, raw);
  if ('refusal' in parsed) return parsed.refusal;
  const refusal = refuseUnless(s, 'pause');
  if (refusal || !apply) return refusal;
  const input = parsed.value;
  const r = s.record;
  if (r.state === 'planning' || r.state === 'inProgress') {
    // Work in flight finishes first: the session pauses at the next boundary.
    r.pauseRequested = true;
    r.pauseBy = { by: input.by ?? 'unknown', reason: input.reason };
  } else {
    pauseNow(s, r.state, { by: input.by ?? 'unknown', reason: input.reason }, now);
  }
  return undefined;
}

export function decideResume(s: Session, raw: unknown, now: Date, apply = true): Refusal | undefined {
  const parsed = parseInput(s, ResumeInput, raw);
  if ('refusal' in parsed) return parsed.refusal;
  const r = s.record;
  const by = parsed.value.by ?? 'unknown';
  if (r.pauseRequested) {
    if (!apply) return undefined;
    // The pause had not taken effect yet: withdrawing it is all there is to do.
    r.pauseRequested = false;
    r.pauseBy = undefined;
    return undefined;
  }
  const refusal = refuseUnless(s, 'resume') ?? refuseSpent(s, parsed.value.budget);
  if (refusal || !apply) return refusal;
  const budget = parsed.value.budget;
  // A new budget lets the session spend more: a decision for the approvers, like the plan.
  if (budget && s.rules.decisionsByPolicy && JSON.stringify(budget) !== JSON.stringify(r.budget)) {
    const notAllowed = refuseByPolicy(s, 'budget', by);
    if (notAllowed) return recordRefusal(s, 'budget', by, notAllowed, now);
  }
  if (budget) r.budget = budget;
  recordEvent(s, { type: 'sessionResumed', originator: 'user', by }, now);
  const to = r.resumeTo ?? 'inProgress';
  r.resumeTo = undefined;
  setState(s, to, now);
  return undefined;
}

export function decideCancel(s: Session, raw: unknown, now: Date, apply = true): Refusal | undefined {
  const parsed = parseInput(s, CancelInput, raw);
  if ('refusal' in parsed) return parsed.refusal;
  const refusal = refuseUnless(s, 'cancel');
  if (refusal || !apply) return refusal;
  end(s, 'cancelled', parsed.value.reason, parsed.value.by ?? 'unknown', now);
  return undefined;
}

/**
 * Takes an alert notification. Repeats fold into the session as events. A resolve ends a
 * session that has not started executing (nobody needs to approve a fix for a problem that
 * went away); one already executing records it and goes on.
 */
export function decideAlert(s: Session, raw: unknown, now: Date): Refusal | undefined {
  const parsed = parseInput(s, AlertNotification, raw);
  if ('refusal' in parsed) return parsed.refusal;
  const alert = parsed.value;
  const r = s.record;
  const time = now.toISOString();
  r.alert = {
    source: alert.source,
    fingerprint: alert.fingerprint,
    status: alert.status,
    summary: alert.summary,
    firstReceived: r.alert?.firstReceived ?? time,
    lastReceived: time,
    deliveries: (r.alert?.deliveries ?? 0) + 1,
  };
  recordEvent(
    s,
    {
      type: 'alertReceived',
      originator: 'system',
      source: alert.source,
      fingerprint: alert.fingerprint,
      status: alert.status,
      summary: alert.summary,
      labels: alert.labels,
      url: alert.url,
      by: alert.by,
    },
    now,
  );
  const executing = r.state === 'inProgress' || (r.state === 'paused' && r.resumeTo === 'inProgress');
  if (alert.status === 'resolved' && !executing && !isTerminal(r.state)) {
    end(s, 'cancelled', `the alert resolved before the plan was carried out: ${alert.summary}`, alert.by ?? `alert:${alert.source}`, now);
  }
  return undefined;
}

/**
 * A decision on a pending review. Edited arguments must already be checked against the tool's
 * schema (the workflow asks the agent, which knows the tool). Returns a refusal, or applies it.
 */
export function decideReview(s: Session, raw: unknown, now: Date, apply = true): Refusal | undefined {
  const parsed = parseInput(s, ReviewInput, raw);
  if ('refusal' in parsed) return parsed.refusal;
  const input = parsed.value;
  const r = s.record;
  const review = r.reviews.find((x) => x.id === input.reviewId);
  if (!review) {
    const pending = r.reviews.map((x) => x.id);
    return {
      type: REFUSAL.invalidState,
      message:
        `no tool call awaits review as ${input.reviewId} in session ${s.config.id}` +
        (pending.length ? ` (pending: ${pending.join(', ')})` : ' (none is pending)'),
      details: { state: r.state, field: 'reviewId' },
    };
  }
  if (!apply) return undefined;
  const by = input.by ?? 'unknown';
  r.reviews = r.reviews.filter((x) => x !== review);
  r.work!.decisions[review.toolCallId] = { decision: input.decision, by, reason: input.reason, arguments: input.arguments };
  recordEvent(
    s,
    {
      type: 'reviewDecided',
      originator: by.startsWith('policy:') ? 'system' : 'user',
      reviewId: review.id,
      decision: input.decision,
      by,
      reason: input.reason,
      arguments: input.arguments,
    },
    now,
  );
  s.observer.reviewsChanged?.(s);
  // The call the session waits on is decided: the work goes on (or will, on resume).
  const next = nextCall(s);
  if (next && !next.waiting) {
    if (r.state === 'awaitingUserFeedback') setState(s, 'inProgress', now);
    else if (r.state === 'paused' && r.resumeTo === 'awaitingUserFeedback') r.resumeTo = 'inProgress';
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------

function refuseSpent(s: Session, budget: Budget | undefined): Refusal | undefined {
  if (!overBudget(s, budget ?? s.record.budget)) return undefined;
  const usage = s.record.usage!;
  return {
    type: REFUSAL.invalidArgument,
    message:
      `session ${s.config.id} spent its budget (${usage.inputTokens + usage.outputTokens} tokens, $${usage.costUsd.toFixed(4)}): ` +
      'resume with a higher budget, e.g. {"budget": {"tokens": ' +
      Math.max(1, (usage.inputTokens + usage.outputTokens) * 2) +
      '}}',
    details: { state: s.record.state, field: 'budget' },
  };
}

/** Checks a decision against state, plan and policy; a refusal is recorded before it is returned. */
function refuseDecision(
  s: Session,
  decision: 'approve' | 'reject',
  by: string,
  planId: string | undefined,
  hash: string | undefined,
  now: Date,
  changeSet?: string,
): Refusal | undefined {
  const refusal =
    refuseUnless(s, decision) ??
    refuseStale(s, planId, hash) ??
    refuseStaleChange(s, decision, hash, changeSet) ??
    refuseByPolicy(s, decision, by);
  return refusal ? recordRefusal(s, decision, by, refusal, now, planId) : undefined;
}

type Decision = 'approve' | 'reject' | StepDecision | 'budget';

/** Records who tried to decide and why they could not (`approvalRefused`): the audit trail has every attempt. */
function recordRefusal(s: Session, decision: Decision, by: string, refusal: Refusal, now: Date, planId?: string): Refusal {
  recordEvent(
    s,
    {
      type: 'approvalRefused',
      originator: 'user',
      decision,
      planId: planId ?? s.record.plan?.id,
      by,
      code: refusal.type as 'InvalidState',
      reason: refusal.message,
    },
    now,
  );
  refusal.recorded = true;
  return refusal;
}

function refuseByPolicy(s: Session, decision: Decision, by: string): Refusal | undefined {
  const r = s.record;
  const why = whyNotAllowed(s.policy, by, s.config.requestedBy, r.escalated);
  if (why) return { type: REFUSAL.notAllowed, message: why, details: { state: r.state } };
  const person = personOf(s.policy, by);
  if (decision === 'approve' && r.approvals.some((a) => a.person === person)) {
    return {
      type: REFUSAL.duplicateApproval,
      message: `${by} already approved plan ${r.plan?.id} (${r.approvals.length} of ${s.policy.required} approvals)`,
      details: { state: r.state, planId: r.plan?.id },
    };
  }
  return undefined;
}

/** An approval of a change set that names another diff than the one awaiting approval. */
/**
 * While the change set awaits approval: a decision naming another diff than the current one is
 * stale, and so is one naming the plan's content but no diff (the person saw the plan, not the
 * change: a late or repeated click on the plan's Approve button must not publish it).
 */
function refuseStaleChange(
  s: Session,
  decision: 'approve' | 'reject',
  planHash: string | undefined,
  hash: string | undefined,
): Refusal | undefined {
  const r = s.record;
  if (r.state !== 'awaitingChangeApproval') return undefined;
  const details = { state: r.state, planId: r.plan?.id };
  // Rejections carry hashes only since this rule exists, so no recorded history has one: it needs no patch.
  const planBound = decision === 'reject' || s.rules.planApprovalsStayPlans;
  if (planBound && planHash !== undefined && hash === undefined) {
    const message = `that decision is of plan ${r.plan?.id}, not the change set that now awaits approval: review the change set and decide on it`;
    return { type: REFUSAL.stalePlan, message, details };
  }
  const stale = staleChangeSet(s, hash);
  return stale ? { type: REFUSAL.stalePlan, message: stale, details } : undefined;
}

function refuseStale(s: Session, planId: string | undefined, hash?: string): Refusal | undefined {
  const r = s.record;
  if (hash !== undefined && hash !== r.plan?.hash) {
    return {
      type: REFUSAL.stalePlan,
      message: `the plan changed since it was shown (hash ${hash}, now ${r.plan?.hash}): review plan ${r.plan?.id} again`,
      details: { state: r.state, planId: r.plan?.id },
    };
  }
  if (planId === undefined || planId === r.plan?.id) return undefined;
  return {
    type: REFUSAL.stalePlan,
    message: `plan ${planId} is no longer current: the plan awaiting approval is ${r.plan?.id}`,
    details: { state: r.state, planId: r.plan?.id },
  };
}
