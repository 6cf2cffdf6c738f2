/**
 * What the session's own process does to the record: it starts, plans, runs steps, asks for
 * help with a failed step, waits under a deadline, answers messages, notifies, completes. Each
 * function applies one outcome (usually an activity's result) to the record, with the time given.
 */
import type { SessionActivities } from '../../activities';
import type { StepResult } from '../../src/agents/agent';
import { planHash } from '../../src/session/approval';
import type { ApprovalPolicy } from '../../src/session/approval';
import type { Output, Plan, PlanStep } from '../../src/session/schema';
import type { SlackRef } from '../../src/notify/notifier';
import type { WriteMemoryInput } from '../../src/protocol/messages';
import { advance, approvePlan, end, pauseNow, recordEvent, setState, type Outgoing, type Session } from './record';

type PlanOutcome = Awaited<ReturnType<SessionActivities['plan']>>;

/** The first event of every session, recorded before any message is taken. */
export function applyCreated(s: Session, now: Date): void {
  const { config } = s;
  recordEvent(
    s,
    {
      type: 'sessionCreated',
      originator: 'system',
      prompt: config.prompt,
      title: config.title,
      requirePlanApproval: config.requirePlanApproval,
      requestedBy: config.requestedBy,
    },
    now,
  );
}

/** A queued session starts planning, or fails at once when its approval policy is invalid. */
export function applyStart(s: Session, now: Date): void {
  if (s.policyError) end(s, 'failed', s.policyError, 'system', now);
  else setState(s, 'planning', now);
}

/**
 * The agent planned (or asked a question first). A new plan starts with no approvals, and runs
 * at once when the session does not require approval.
 */
export function applyPlan(s: Session, result: PlanOutcome, now: Date): void {
  const r = s.record;
  if (result.recalled?.length) recordEvent(s, { type: 'memoryRecalled', originator: 'agent', memories: result.recalled }, now);
  if (result.kind === 'question') {
    recordEvent(s, { type: 'agentMessaged', originator: 'agent', message: result.question }, now);
    advance(s, 'awaitingUserFeedback', now);
    return;
  }
  const planId = `plan-${r.round}`;
  const steps: PlanStep[] = result.steps.map((step, index) => ({
    id: `${planId}-step-${index + 1}`,
    index,
    title: step.title,
    description: step.description,
    ...(step.tools ? { tools: step.tools } : {}),
  }));
  const plan: Plan = { id: planId, hash: planHash({ title: result.title, steps }), title: result.title, steps };
  r.plan = plan;
  // Approvals bind to the plan they saw: a new plan starts with none.
  r.approvals = [];
  r.escalated = false;
  r.stepOutcomes = [];
  recordEvent(s, { type: 'planGenerated', originator: 'agent', plan }, now);
  if (s.config.requirePlanApproval) {
    advance(s, 'awaitingPlanApproval', now);
  } else {
    recordEvent(s, { type: 'planApproved', originator: 'system', planId, by: 'system (approval not required)' }, now);
    r.currentStep = 0;
    advance(s, 'inProgress', now);
  }
}

/** A step is done; the session moves to the next (pausing first, if a pause was asked for). */
export function applyStepResult(s: Session, step: PlanStep, result: StepResult, now: Date): void {
  const r = s.record;
  const title = result.title ?? step.title;
  recordEvent(
    s,
    { type: 'progressUpdated', originator: 'agent', title, description: result.description, stepId: step.id, artifacts: result.artifacts },
    now,
  );
  r.stepOutcomes.push({ stepId: step.id, title, description: result.description });
  r.currentStep = step.index + 1;
  // Every step ends at a boundary where a requested pause takes effect, the last one included:
  // on resume, the loop comes back here and goes on to the summary.
  advance(s, 'inProgress', now);
}

/**
 * A step failed in a way a person should judge (the backend's `StepFailed`): the session asks
 * what to do instead of failing, and waits.
 */
export function stepFailed(s: Session, reason: string, now: Date): void {
  const r = s.record;
  const step = (r.plan as Plan).steps[r.currentStep ?? 0];
  if (!step) throw new Error(`step ${r.currentStep ?? 0} failed, but the plan has no such step`);
  r.stepFailure = { stepId: step.id, title: step.title, reason };
  recordEvent(
    s,
    {
      type: 'agentMessaged',
      originator: 'agent',
      message:
        `Step ${step.index + 1} "${step.title}" failed: ${reason}\n` +
        (s.rules.decisionsByPolicy
          ? `An approver decides: retry, skip or abort (decideStep; andon step ${s.config.id} retry|skip|abort).`
          : 'Reply retry, skip or abort.'),
    },
    now,
  );
  advance(s, 'awaitingUserFeedback', now);
}

export function complete(s: Session, summary: string, outputs: Output[], now: Date): void {
  const r = s.record;
  r.summary = summary;
  r.outputs = outputs;
  r.currentStep = undefined;
  // A pause requested during the last step or the summary does not apply to a finished session.
  r.pauseRequested = false;
  r.pauseBy = undefined;
  recordEvent(s, { type: 'sessionCompleted', originator: 'agent', summary, outputs }, now);
  setState(s, 'completed', now);
}

// ---------------------------------------------------------------------------------------------
// Approval under a deadline

/** The escalation time passed: the escalation group may decide too. */
export function applyEscalation(s: Session, escalateTo: NonNullable<ApprovalPolicy['deadline']>['escalateTo'], now: Date): void {
  s.record.escalated = true;
  recordEvent(s, { type: 'approvalEscalated', originator: 'system', planId: (s.record.plan as Plan).id, escalateTo }, now);
}

/** A reminder went out for the plan awaiting approval. */
export function applyReminder(s: Session, waitingMs: number, now: Date): void {
  s.record.reminders += 1;
  recordEvent(s, { type: 'approvalReminded', originator: 'system', planId: (s.record.plan as Plan).id, waitingMs }, now);
}

/** The deadline passed with no decision: the policy's action decides. */
export function deadlinePassed(s: Session, action: NonNullable<ApprovalPolicy['deadline']>['action'], now: Date): void {
  const plan = s.record.plan as Plan;
  const by = 'policy:deadline';
  if (action === 'approve') return approvePlan(s, by, 'no decision before the deadline; approved by the low-risk policy', now);
  if (action === 'reject') {
    recordEvent(
      s,
      { type: 'planRejected', originator: 'system', planId: plan.id, by, reason: 'no decision before the deadline', replan: false },
      now,
    );
  }
  end(s, 'cancelled', `no decision on plan ${plan.id} before the deadline`, by, now);
}

/** The budget is spent: the session pauses before the next model call, for a person to decide. */
export function budgetReached(s: Session, now: Date): void {
  const r = s.record;
  recordEvent(s, { type: 'budgetReached', originator: 'system', usage: r.usage!, budget: r.budget! }, now);
  pauseNow(s, r.state, { by: 'policy:budget', reason: 'the session spent its budget: resume with a higher budget, or cancel' }, now);
}

// ---------------------------------------------------------------------------------------------
// Chat and memory

/** How many answered messages are remembered for idempotent retries of `ask` (also across continue-as-new). */
const REMEMBERED_ANSWERS = 200;

/** Records the agent's reply to a queued message and remembers it for `ask`. */
export function answer(s: Session, messageId: string, reply: string, now: Date): void {
  const r = s.record;
  r.queue = r.queue.filter((m) => m.id !== messageId);
  recordEvent(s, { type: 'agentMessaged', originator: 'agent', message: reply, inReplyTo: messageId }, now);
  r.answers.push({ id: messageId, reply });
  if (r.answers.length > REMEMBERED_ANSWERS) r.answers.splice(0, r.answers.length - REMEMBERED_ANSWERS);
}

/** A message the agent will not answer (its reply failed, or the session ended) leaves the queue. */
export function dropMessage(s: Session, messageId: string): void {
  s.record.queue = s.record.queue.filter((m) => m.id !== messageId);
}

/** A session that failed or was cancelled answers nothing more. */
export function dropQueue(s: Session): void {
  s.record.queue = [];
}

/** Input the session could not take (a bad signal, an unanswerable message) goes on the timeline. */
export function noteRejected(s: Session, rejected: { message: string; reason: string; by?: string }, now: Date): void {
  recordEvent(s, { type: 'inputRejected', originator: 'system', message: rejected.message, reason: rejected.reason, by: rejected.by }, now);
}

export function applyMemoryWritten(
  s: Session,
  memoryId: string,
  input: Required<Pick<WriteMemoryInput, 'scope' | 'content' | 'by'>>,
  now: Date,
): void {
  recordEvent(s, { type: 'memoryWritten', originator: 'user', memoryId, scope: input.scope, content: input.content, by: input.by }, now);
}

// ---------------------------------------------------------------------------------------------
// Notifications

/** Queues a notification; a state update replaces any queued one (the latest view is sent). */
export function queueOutgoing(s: Session, outgoing: Outgoing): void {
  const r = s.record;
  if (outgoing.kind === 'stateChanged') r.outbox = r.outbox.filter((o) => o.kind !== 'stateChanged');
  r.outbox.push(outgoing);
}

/** The oldest notification, taken off the queue before it is sent (a newer view may supersede queued ones meanwhile). */
export function takeOutgoing(s: Session): Outgoing | undefined {
  return s.record.outbox.shift();
}

/** The session's Slack message was posted. Returns true when this is the first time. */
export function applySlackMessage(s: Session, slack: SlackRef | undefined): boolean {
  if (!slack || s.record.slack) return false;
  s.record.slack = slack;
  return true;
}
