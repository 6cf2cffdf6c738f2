/**
 * The session's state and the rules for changing it, free of Temporal APIs: the workflow drives
 * it, and both the signal and the update form of each command go through the same `decide*`
 * methods, so they can never disagree. Deterministic: time is passed in by the caller.
 */
import { z } from 'zod';
import { ToolResult, type StepOutcome, type TurnResult } from '../src/backends/agent';
import {
  AlertNotification,
  AlertState,
  Budget,
  NO_USAGE,
  Review,
  ReviewDecision,
  TimelineEvent,
  ToolArguments,
  ToolCall,
  Usage,
  isTerminal,
  type PlanStep,
  type ToolGrant,
  type NewEvent,
  type Output,
  type Plan,
  type SessionState,
  type SessionView,
  type TimelinePage,
} from '../src/session/schema';
import { canTransition, operationAllowed, type Operation } from '../src/session/transitions';
import { NotificationKind, SlackRef, type Notification } from '../src/notify/notifier';
import { ApprovalPolicy, OPEN_POLICY, personOf, whyNotAllowed } from '../src/session/approval';
import {
  ApproveInput,
  CancelInput,
  MessageInput,
  PauseInput,
  REFUSAL,
  RejectInput,
  ResumeInput,
  ReviewInput,
  TimelineQueryInput,
  type RefusalDetails,
  type RefusalType,
  type SessionWorkflowInput,
} from '../src/protocol/messages';

export interface Refusal {
  type: RefusalType;
  message: string;
  details: RefusalDetails;
  /** Already on the timeline (as approvalRefused): a signal need not note it again. */
  recorded?: boolean;
}

/** A notification to send; the view is taken when it is sent, so it is always the latest. */
export type Outgoing = Pick<Notification, 'kind' | 'reply' | 'escalateTo' | 'review'>;

export interface QueuedMessage {
  id: string;
  text: string;
  by: string;
}

/** How many answered messages are remembered for idempotent retries of `ask` (also across continue-as-new). */
const REMEMBERED_ANSWERS = 200;
/** How many exchanges the agent sees as conversational context. */
const TRANSCRIPT_LENGTH = 20;

/** How much of a tool's output or the model's text goes on the timeline; the agent keeps the rest. */
export const TIMELINE_TEXT_CHARS = 4_000;

/** A decision on a reviewed tool call, kept until the call has run. */
const Decision = z.object({ decision: ReviewDecision, by: z.string(), reason: z.string().optional(), arguments: ToolArguments.optional() });
type Decision = z.infer<typeof Decision>;

/**
 * A step an agent carries out through tools: how many model turns it took so far, the tool calls
 * of the last turn not yet done (in order), and the results the model reads on its next turn.
 */
const StepWork = z.object({
  stepId: z.string(),
  turn: z.number().int().nonnegative(),
  calls: z.array(ToolCall),
  results: z.array(ToolResult),
  decisions: z.record(z.string(), Decision),
});
type StepWork = z.infer<typeof StepWork>;

/** Everything continue-as-new carries into the next run. */
const Carried = z.object({
  state: z.string(),
  createTime: z.string(),
  updateTime: z.string(),
  plan: z.unknown().optional(),
  currentStep: z.number().optional(),
  pauseRequested: z.boolean(),
  /** Who asked for the pending pause (recorded on sessionPaused when it takes effect). */
  pauseBy: z.object({ by: z.string(), reason: z.string().optional() }).optional(),
  resumeTo: z.string().optional(),
  summary: z.string().optional(),
  outputs: z.array(z.unknown()),
  reason: z.string().optional(),
  timeline: z.array(TimelineEvent),
  round: z.number(),
  feedback: z.array(z.string()),
  stepOutcomes: z.array(z.unknown()),
  queue: z.array(z.object({ id: z.string(), text: z.string(), by: z.string() })),
  answers: z.array(z.object({ id: z.string(), reply: z.string() })),
  acceptedMessages: z.number(),
  alert: AlertState.optional(),
  outbox: z.array(z.object({ kind: NotificationKind, reply: z.object({ messageId: z.string(), text: z.string() }).optional(), escalateTo: z.array(z.string()).optional(), review: Review.optional() })).default([]),
  slack: SlackRef.optional(),
  approvals: z.array(z.object({ person: z.string(), by: z.string(), time: z.string() })).default([]),
  escalated: z.boolean().default(false),
  awaitingSince: z.string().optional(),
  reminders: z.number().default(0),
  stepFailure: z.object({ stepId: z.string(), title: z.string(), reason: z.string() }).optional(),
  work: StepWork.optional(),
  reviews: z.array(Review).default([]),
  usage: Usage.optional(),
  budget: Budget.optional(),
});
export type Carried = z.infer<typeof Carried>;

export class SessionRecord {
  readonly config: SessionWorkflowInput['config'];
  state: SessionState = 'queued';
  createTime: string;
  updateTime: string;
  plan?: Plan;
  currentStep?: number;
  pauseRequested = false;
  /** The state to return to on resume. */
  resumeTo?: SessionState;
  summary?: string;
  outputs: Output[] = [];
  reason?: string;
  timeline: TimelineEvent[] = [];
  /** Planning round: 1 for the first plan, +1 per re-plan. */
  round = 1;
  feedback: string[] = [];
  stepOutcomes: StepOutcome[] = [];
  /** Messages accepted and waiting for the agent's reply, in arrival order. */
  queue: QueuedMessage[] = [];
  /** Replies to recent messages, by message id (for ask and its retries). */
  answers = new Map<string, string>();
  /** Counts every accepted message; the follow-up window restarts when it changes. */
  acceptedMessages = 0;
  alert?: AlertState;
  /** Notifications waiting to be sent, oldest first (only for sessions with notify targets). */
  outbox: Outgoing[] = [];
  /** The session's Slack message, once posted. */
  slack?: SlackRef;
  /** A failed step awaiting retry, skip or abort. */
  stepFailure?: { stepId: string; title: string; reason: string };
  /** The approval policy in force (OPEN_POLICY when none was given); `policyError` if the given one is invalid. */
  readonly policy: ApprovalPolicy;
  readonly policyError?: string;
  /** Approvals of the current plan so far (one per person). */
  approvals: { person: string; by: string; time: string }[] = [];
  /** Whether the escalation group may decide too (the escalation time passed). */
  escalated = false;
  /** When the current plan started awaiting approval, and how many reminders went out since. */
  awaitingSince?: string;
  reminders = 0;
  /** The step being carried out through tools, when the agent works that way. */
  work?: StepWork;
  /** Tool calls waiting for a person's review, oldest first. */
  reviews: Review[] = [];
  /** What the agent's model calls consumed (unset until the agent reports any). */
  usage?: Usage;
  /** The spending limit in force: the session's, raised by whoever resumed it. */
  budget?: Budget;

  constructor(
    input: SessionWorkflowInput,
    now: Date,
    private readonly onStateChange: (record: SessionRecord) => void = () => undefined,
    /** Called whenever the set of pending reviews changes (the workflow indexes their count). */
    private readonly onReviewsChange: (record: SessionRecord) => void = () => undefined,
  ) {
    this.config = input.config;
    this.budget = input.config.budget;
    this.createTime = this.updateTime = now.toISOString();
    // Parsed here too: a starter that is not andon's SDK (a raw `temporal workflow start`) may send a partial policy.
    const policy = ApprovalPolicy.safeParse(input.config.approval ?? {});
    this.policy = policy.success ? policy.data : OPEN_POLICY;
    if (!policy.success) this.policyError = `invalid approval policy: ${policy.error.issues[0]?.path.join('.')}: ${policy.error.issues[0]?.message}`;
    if (input.carried !== undefined) this.restore(Carried.parse(input.carried));
  }

  // -------------------------------------------------------------------------------------------
  // Recording

  record(event: NewEvent, now: Date): TimelineEvent {
    const full = { ...event, seq: this.lastSeq + 1, time: now.toISOString() } as TimelineEvent;
    this.timeline.push(full);
    this.updateTime = full.time;
    return full;
  }

  get lastSeq(): number {
    return this.timeline.length === 0 ? 0 : this.timeline[this.timeline.length - 1].seq;
  }

  setState(to: SessionState, now: Date): void {
    if (to === this.state) return;
    if (!canTransition(this.state, to)) {
      // A bug, not bad input: fail the workflow task so it shows up loudly and can be fixed by a deploy.
      throw new Error(`illegal session transition ${this.state} → ${to}`);
    }
    this.state = to;
    this.updateTime = now.toISOString();
    if (to === 'awaitingPlanApproval') {
      this.awaitingSince = this.updateTime;
      this.reminders = 0;
    }
    this.onStateChange(this);
  }

  // -------------------------------------------------------------------------------------------
  // Commands. Each `decide*` checks input and state and returns a refusal, or applies the command.

  // Decisions (approve, reject): validators check only the input. Every other refusal (wrong
  // state, stale plan, not allowed, duplicate) must reach the handler, which records who tried
  // and why (`approvalRefused`) before refusing: the audit trail has every attempt.

  decideApprove(raw: unknown, now: Date, apply = true): Refusal | undefined {
    const parsed = this.parse(ApproveInput, raw);
    if ('refusal' in parsed || !apply) return 'refusal' in parsed ? parsed.refusal : undefined;
    const input = parsed.value;
    const by = input.by ?? 'unknown';
    const refusal = this.refuseDecision('approve', by, input.planId, input.planHash, now);
    if (refusal) return refusal;
    const plan = this.plan as Plan;
    const person = personOf(this.policy, by);
    this.approvals.push({ person, by, time: now.toISOString() });
    if (this.approvals.length < this.policy.required) {
      this.record(
        { type: 'approvalRecorded', originator: 'user', planId: plan.id, by, person, approvals: this.approvals.length, required: this.policy.required, comment: input.comment },
        now,
      );
      return undefined;
    }
    this.approvePlan(by, input.comment, now);
    return undefined;
  }

  private approvePlan(by: string, comment: string | undefined, now: Date): void {
    this.record({ type: 'planApproved', originator: by.startsWith('policy:') ? 'system' : 'user', planId: (this.plan as Plan).id, by, comment }, now);
    this.currentStep = 0;
    this.setState('inProgress', now);
  }

  decideReject(raw: unknown, now: Date, apply = true): Refusal | undefined {
    const parsed = this.parse(RejectInput, raw);
    if ('refusal' in parsed || !apply) return 'refusal' in parsed ? parsed.refusal : undefined;
    const input = parsed.value;
    const by = input.by ?? 'unknown';
    const refusal = this.refuseDecision('reject', by, input.planId, undefined, now);
    if (refusal) return refusal;
    const plan = this.plan as Plan;
    this.record({ type: 'planRejected', originator: 'user', planId: plan.id, by, reason: input.reason, replan: input.replan }, now);
    if (input.replan) {
      this.feedback.push(input.reason);
      this.round += 1;
      this.setState('planning', now);
    } else {
      this.end('cancelled', `plan ${plan.id} rejected: ${input.reason}`, by, now);
    }
    return undefined;
  }

  /** Accepts a chat message. Returns the message id (an already-accepted id is not accepted again). */
  decideMessage(operation: 'send' | 'ask', raw: unknown, now: Date, apply = true): Refusal | { messageId: string; duplicate: boolean } {
    const parsed = this.parse(MessageInput, raw);
    if ('refusal' in parsed) return parsed.refusal;
    const input = parsed.value;
    if (input.messageId && (this.answers.has(input.messageId) || this.queue.some((m) => m.id === input.messageId))) {
      return { messageId: input.messageId, duplicate: true };
    }
    const refusal = this.refuseUnless(operation);
    if (refusal) return refusal;
    const messageId = input.messageId ?? `msg-${this.lastSeq + 1}`;
    if (!apply) return { messageId, duplicate: false };
    const by = input.by ?? 'unknown';
    this.record({ type: 'userMessaged', originator: 'user', messageId, message: input.message, by }, now);
    this.queue.push({ id: messageId, text: input.message, by });
    this.acceptedMessages += 1;
    // While the agent waits for an answer, the next message is that answer: planning resumes with it.
    if (this.state === 'awaitingUserFeedback' && !this.work) {
      if (this.stepFailure) this.answerStepFailure(input.message, by, now);
      else {
        this.feedback.push(input.message);
        this.round += 1;
        this.setState('planning', now);
      }
    }
    return { messageId, duplicate: false };
  }

  decidePause(raw: unknown, now: Date, apply = true): Refusal | undefined {
    const parsed = this.parse(PauseInput, raw);
    if ('refusal' in parsed) return parsed.refusal;
    const refusal = this.refuseUnless('pause');
    if (refusal || !apply) return refusal;
    const input = parsed.value;
    if (this.state === 'planning' || this.state === 'inProgress') {
      // Work in flight finishes first: the session pauses at the next boundary.
      this.pauseRequested = true;
      this.pauseBy = { by: input.by ?? 'unknown', reason: input.reason };
    } else {
      this.pauseNow(this.state, { by: input.by ?? 'unknown', reason: input.reason }, now);
    }
    return undefined;
  }
  private pauseBy?: { by: string; reason?: string };

  /** Called by the workflow at a boundary: pauses if a pause was requested, else moves on to `next`. */
  advance(next: SessionState, now: Date): void {
    if (this.pauseRequested && !isTerminal(next)) {
      this.pauseNow(next, this.pauseBy ?? { by: 'unknown' }, now);
    } else {
      this.setState(next, now);
    }
  }

  private pauseNow(resumeTo: SessionState, who: { by: string; reason?: string }, now: Date): void {
    this.pauseRequested = false;
    this.pauseBy = undefined;
    this.resumeTo = resumeTo;
    this.record({ type: 'sessionPaused', originator: who.by.startsWith('policy:') ? 'system' : 'user', by: who.by, reason: who.reason }, now);
    this.setState('paused', now);
  }

  decideResume(raw: unknown, now: Date, apply = true): Refusal | undefined {
    const parsed = this.parse(ResumeInput, raw);
    if ('refusal' in parsed) return parsed.refusal;
    const by = parsed.value.by ?? 'unknown';
    if (this.pauseRequested) {
      if (!apply) return undefined;
      // The pause had not taken effect yet: withdrawing it is all there is to do.
      this.pauseRequested = false;
      this.pauseBy = undefined;
      return undefined;
    }
    const refusal = this.refuseUnless('resume') ?? this.refuseSpent(parsed.value.budget);
    if (refusal || !apply) return refusal;
    if (parsed.value.budget) this.budget = parsed.value.budget;
    this.record({ type: 'sessionResumed', originator: 'user', by }, now);
    const to = this.resumeTo ?? 'inProgress';
    this.resumeTo = undefined;
    this.setState(to, now);
    return undefined;
  }

  decideCancel(raw: unknown, now: Date, apply = true): Refusal | undefined {
    const parsed = this.parse(CancelInput, raw);
    if ('refusal' in parsed) return parsed.refusal;
    const refusal = this.refuseUnless('cancel');
    if (refusal || !apply) return refusal;
    this.end('cancelled', parsed.value.reason, parsed.value.by ?? 'unknown', now);
    return undefined;
  }

  /**
   * A step failed in a way a person should judge (the backend's `StepFailed`): the session asks
   * what to do instead of failing, and waits.
   */
  stepFailed(reason: string, now: Date): void {
    const step = (this.plan as Plan).steps[this.currentStep ?? 0];
    this.stepFailure = { stepId: step.id, title: step.title, reason };
    this.record(
      { type: 'agentMessaged', originator: 'agent', message: `Step ${step.index + 1} "${step.title}" failed: ${reason}\nReply retry, skip or abort.` },
      now,
    );
    this.advance('awaitingUserFeedback', now);
  }

  /** The answer to a failed step: retry it, skip it, or abort the session. Anything else is just chat. */
  private answerStepFailure(text: string, by: string, now: Date): void {
    const failure = this.stepFailure!;
    const choice = /^\W*(retry|skip|abort)\b/i.exec(text)?.[1].toLowerCase();
    if (!choice) return;
    this.stepFailure = undefined;
    if (choice === 'abort') return this.end('cancelled', `aborted by ${by} after step "${failure.title}" failed: ${failure.reason}`, by, now);
    if (choice === 'skip') {
      const description = `skipped by ${by} after it failed: ${failure.reason}`;
      this.record({ type: 'progressUpdated', originator: 'user', title: `Skipped: ${failure.title}`, description, stepId: failure.stepId, artifacts: [] }, now);
      this.stepOutcomes.push({ stepId: failure.stepId, title: `Skipped: ${failure.title}`, description });
      this.currentStep = (this.currentStep ?? 0) + 1;
    }
    this.setState('inProgress', now);
  }

  /** Ends the session: `cancelled` (by a person) or `failed` (by the agent or the system). */
  end(state: 'cancelled' | 'failed', reason: string, by: string, now: Date): void {
    this.reason = reason;
    this.pauseRequested = false;
    if (this.reviews.length > 0) {
      this.reviews = [];
      this.onReviewsChange(this);
    }
    if (state === 'cancelled') this.record({ type: 'sessionCancelled', originator: by.startsWith('policy:') ? 'system' : 'user', by, reason }, now);
    else this.record({ type: 'sessionFailed', originator: 'system', reason }, now);
    this.setState(state, now);
  }

  /**
   * Takes an alert notification. Repeats fold into the session as events. A resolve ends a
   * session that has not started executing (nobody needs to approve a fix for a problem that
   * went away); one already executing records it and goes on.
   */
  decideAlert(raw: unknown, now: Date): Refusal | undefined {
    const parsed = this.parse(AlertNotification, raw);
    if ('refusal' in parsed) return parsed.refusal;
    const alert = parsed.value;
    const time = now.toISOString();
    this.alert = {
      source: alert.source,
      fingerprint: alert.fingerprint,
      status: alert.status,
      summary: alert.summary,
      firstReceived: this.alert?.firstReceived ?? time,
      lastReceived: time,
      deliveries: (this.alert?.deliveries ?? 0) + 1,
    };
    this.record(
      { type: 'alertReceived', originator: 'system', source: alert.source, fingerprint: alert.fingerprint, status: alert.status, summary: alert.summary, labels: alert.labels, url: alert.url, by: alert.by },
      now,
    );
    const executing = this.state === 'inProgress' || (this.state === 'paused' && this.resumeTo === 'inProgress');
    if (alert.status === 'resolved' && !executing && !isTerminal(this.state)) {
      this.end('cancelled', `the alert resolved before the plan was carried out: ${alert.summary}`, alert.by ?? `alert:${alert.source}`, now);
    }
    return undefined;
  }

  complete(summary: string, outputs: Output[], now: Date): void {
    this.summary = summary;
    this.outputs = outputs;
    this.currentStep = undefined;
    // A pause requested during the last step or the summary does not apply to a finished session.
    this.pauseRequested = false;
    this.pauseBy = undefined;
    this.record({ type: 'sessionCompleted', originator: 'agent', summary, outputs }, now);
    this.setState('completed', now);
  }

  /** Records the agent's reply to a queued message and remembers it for `ask`. */
  answer(messageId: string, reply: string, now: Date): void {
    this.queue = this.queue.filter((m) => m.id !== messageId);
    this.record({ type: 'agentMessaged', originator: 'agent', message: reply, inReplyTo: messageId }, now);
    this.answers.set(messageId, reply);
    while (this.answers.size > REMEMBERED_ANSWERS) this.answers.delete(this.answers.keys().next().value as string);
  }

  /** The recent conversation, for the agent's context. */
  transcript(): { role: 'user' | 'agent'; text: string }[] {
    const turns: { role: 'user' | 'agent'; text: string }[] = [];
    for (let i = this.timeline.length - 1; i >= 0 && turns.length < TRANSCRIPT_LENGTH; i--) {
      const event = this.timeline[i];
      if (event.type === 'userMessaged') turns.push({ role: 'user', text: event.message });
      else if (event.type === 'agentMessaged') turns.push({ role: 'agent', text: event.message });
    }
    return turns.reverse();
  }

  // -------------------------------------------------------------------------------------------
  // Steps carried out through tools: model turns, tool calls, reviews, the budget

  /** The work on `step`, begun if it was not. */
  workOn(step: PlanStep): StepWork {
    if (this.work?.stepId !== step.id) this.work = { stepId: step.id, turn: 0, calls: [], results: [], decisions: {} };
    return this.work;
  }

  /**
   * Takes a model turn's answer. Its text goes on the timeline as one batch; each tool call the
   * plan does not allow (or whose tool is risky) becomes a review request at once, so reviewers see
   * everything the model asked for, while calls still run in the order the model gave them.
   * Returns true when the model called no tool: the step is done.
   */
  turnTaken(step: PlanStep, result: TurnResult, now: Date): boolean {
    const work = this.workOn(step);
    this.addUsage(result.usage);
    if (result.text.trim()) this.record({ type: 'agentMessaged', originator: 'agent', message: clip(result.text) }, now);
    work.turn += 1;
    work.results = [];
    work.calls = result.toolCalls;
    const expireAfter = this.config.review?.expireAfter;
    for (const call of result.toolCalls) {
      if (!call.risky && grantedBy(step.tools ?? [], call)) continue;
      const review: Review = {
        id: `review-${this.lastSeq + 1}`,
        stepId: step.id,
        toolCallId: call.id,
        tool: call.tool,
        arguments: call.arguments,
        reason: call.risky ? 'risky' : 'outsidePlan',
        createdAt: now.toISOString(),
        expiresAt: expireAfter !== undefined ? new Date(now.getTime() + expireAfter).toISOString() : undefined,
      };
      this.reviews.push(review);
      this.record({ type: 'reviewRequested', originator: 'agent', review }, now);
    }
    if (this.reviews.length > 0) this.onReviewsChange(this);
    return result.toolCalls.length === 0;
  }

  /** The next tool call to run, with its decision when it was reviewed; `waiting` while its review is open. */
  nextCall(): { call: ToolCall; decision?: Decision; waiting: boolean } | undefined {
    const call = this.work?.calls[0];
    if (!call) return undefined;
    return { call, decision: this.work!.decisions[call.id], waiting: this.reviews.some((r) => r.toolCallId === call.id) };
  }

  /** The model's next call waits for a review: the session waits for a person (or pauses, if asked to). */
  awaitReview(now: Date): void {
    this.advance('awaitingUserFeedback', now);
  }

  /** A tool call ran, or was denied: the model reads the result on its next turn. */
  callDone(call: ToolCall, result: { status: 'ok' | 'error' | 'denied'; output: string }, now: Date): void {
    const work = this.work!;
    const decision = work.decisions[call.id];
    const args = decision?.arguments ?? call.arguments;
    this.record(
      { type: 'toolCalled', originator: 'agent', stepId: work.stepId, toolCallId: call.id, tool: call.tool, arguments: args, status: result.status, output: clip(result.output), reviewedBy: decision?.by },
      now,
    );
    work.results.push({ toolCallId: call.id, tool: call.tool, status: result.status, output: clip(result.output), editedArguments: decision?.arguments });
    work.calls.shift();
    delete work.decisions[call.id];
  }

  /** The step's last turn called no tool: the step is done, its text is the outcome. */
  workDone(step: PlanStep, text: string, now: Date): void {
    const description = clip(text.trim() || 'done');
    this.record({ type: 'progressUpdated', originator: 'agent', title: step.title, description, stepId: step.id, artifacts: [] }, now);
    this.stepOutcomes.push({ stepId: step.id, title: step.title, description });
    this.work = undefined;
    this.currentStep = step.index + 1;
  }

  /**
   * A decision on a pending review. Edited arguments must already be checked against the tool's
   * schema (the workflow asks the agent, which knows the tool). Returns a refusal, or applies it.
   */
  decideReview(raw: unknown, now: Date, apply = true): Refusal | undefined {
    const parsed = this.parse(ReviewInput, raw);
    if ('refusal' in parsed) return parsed.refusal;
    const input = parsed.value;
    const review = this.reviews.find((r) => r.id === input.reviewId);
    if (!review) {
      const pending = this.reviews.map((r) => r.id);
      return {
        type: REFUSAL.invalidState,
        message: `no tool call awaits review as ${input.reviewId} in session ${this.config.id}` + (pending.length ? ` (pending: ${pending.join(', ')})` : ' (none is pending)'),
        details: { state: this.state, field: 'reviewId' },
      };
    }
    if (!apply) return undefined;
    const by = input.by ?? 'unknown';
    this.reviews = this.reviews.filter((r) => r !== review);
    this.work!.decisions[review.toolCallId] = { decision: input.decision, by, reason: input.reason, arguments: input.arguments };
    this.record({ type: 'reviewDecided', originator: by.startsWith('policy:') ? 'system' : 'user', reviewId: review.id, decision: input.decision, by, reason: input.reason, arguments: input.arguments }, now);
    this.onReviewsChange(this);
    // The call the session waits on is decided: the work goes on (or will, on resume).
    const next = this.nextCall();
    if (next && !next.waiting) {
      if (this.state === 'awaitingUserFeedback') this.setState('inProgress', now);
      else if (this.state === 'paused' && this.resumeTo === 'awaitingUserFeedback') this.resumeTo = 'inProgress';
    }
    return undefined;
  }

  /** The earliest time an open review expires, if the session's review policy sets one. */
  nextReviewExpiry(): number | undefined {
    const times = this.reviews.flatMap((r) => (r.expiresAt ? [Date.parse(r.expiresAt)] : []));
    return times.length ? Math.min(...times) : undefined;
  }

  /** Denies every review whose time ran out: the model hears that nobody decided. */
  expireReviews(now: Date): void {
    for (const review of this.reviews.filter((r) => r.expiresAt && Date.parse(r.expiresAt) <= now.getTime())) {
      this.decideReview({ reviewId: review.id, decision: 'deny', reason: 'nobody reviewed this call in time', by: 'policy:review-expired' }, now);
    }
  }

  addUsage(usage: Usage | undefined): void {
    if (!usage) return;
    const total = this.usage ?? NO_USAGE;
    this.usage = { inputTokens: total.inputTokens + usage.inputTokens, outputTokens: total.outputTokens + usage.outputTokens, costUsd: total.costUsd + usage.costUsd };
  }

  /** Whether the budget in force (or `budget`, when given) is spent. */
  overBudget(budget: Budget | undefined = this.budget): boolean {
    if (!budget || !this.usage) return false;
    const tokens = this.usage.inputTokens + this.usage.outputTokens;
    return (budget.tokens !== undefined && tokens >= budget.tokens) || (budget.costUsd !== undefined && this.usage.costUsd >= budget.costUsd);
  }

  /** The budget is spent: the session pauses before the next model call, for a person to decide. */
  budgetReached(now: Date): void {
    const budget = this.budget!;
    const usage = this.usage!;
    this.record({ type: 'budgetReached', originator: 'system', usage, budget }, now);
    this.pauseNow(this.state, { by: 'policy:budget', reason: 'the session spent its budget: resume with a higher budget, or cancel' }, now);
  }

  private refuseSpent(budget: Budget | undefined): Refusal | undefined {
    if (!this.overBudget(budget ?? this.budget)) return undefined;
    const usage = this.usage!;
    return {
      type: REFUSAL.invalidArgument,
      message:
        `session ${this.config.id} spent its budget (${usage.inputTokens + usage.outputTokens} tokens, $${usage.costUsd.toFixed(4)}): ` +
        'resume with a higher budget, e.g. {"budget": {"tokens": ' + Math.max(1, (usage.inputTokens + usage.outputTokens) * 2) + '}}',
      details: { state: this.state, field: 'budget' },
    };
  }

  // -------------------------------------------------------------------------------------------
  // Reads

  view(): SessionView {
    return {
      id: this.config.id,
      state: this.state,
      title: this.config.title,
      prompt: this.config.prompt,
      context: this.config.context,
      requirePlanApproval: this.config.requirePlanApproval,
      requestedBy: this.config.requestedBy,
      createTime: this.createTime,
      updateTime: this.updateTime,
      plan: this.plan,
      currentStep: this.currentStep,
      pauseRequested: this.pauseRequested,
      summary: this.summary,
      outputs: this.outputs,
      reason: this.reason,
      lastSeq: this.lastSeq,
      pendingMessages: this.queue.length,
      alert: this.alert,
      stepFailure: this.stepFailure,
      pendingReviews: this.reviews,
      usage: this.usage,
      budget: this.budget,
      approval:
        this.state === 'awaitingPlanApproval' && this.plan
          ? {
              planId: this.plan.id,
              required: this.policy.required,
              approvals: this.approvals,
              escalated: this.escalated,
              deadline:
                this.policy.deadline && this.awaitingSince
                  ? new Date(Date.parse(this.awaitingSince) + this.policy.deadline.after).toISOString()
                  : undefined,
            }
          : undefined,
    };
  }

  timelinePage(raw: unknown): TimelinePage {
    // A query cannot be refused politely; bad paging input falls back to the defaults.
    const parsed = TimelineQueryInput.safeParse(raw ?? {});
    const { after, limit } = parsed.success ? parsed.data : { after: 0, limit: 200 };
    const start = this.timeline.findIndex((e) => e.seq > after);
    const events = start < 0 ? [] : this.timeline.slice(start, start + limit);
    return { events, lastSeq: this.lastSeq, state: this.state };
  }

  carry(): Carried {
    return {
      state: this.state,
      createTime: this.createTime,
      updateTime: this.updateTime,
      plan: this.plan,
      currentStep: this.currentStep,
      pauseRequested: this.pauseRequested,
      pauseBy: this.pauseBy,
      resumeTo: this.resumeTo,
      summary: this.summary,
      outputs: this.outputs,
      reason: this.reason,
      timeline: this.timeline,
      round: this.round,
      feedback: this.feedback,
      stepOutcomes: this.stepOutcomes,
      queue: this.queue,
      answers: [...this.answers].map(([id, reply]) => ({ id, reply })),
      acceptedMessages: this.acceptedMessages,
      alert: this.alert,
      outbox: this.outbox,
      slack: this.slack,
      approvals: this.approvals,
      escalated: this.escalated,
      awaitingSince: this.awaitingSince,
      reminders: this.reminders,
      stepFailure: this.stepFailure,
      work: this.work,
      reviews: this.reviews,
      usage: this.usage,
      budget: this.budget,
    };
  }

  private restore(carried: Carried): void {
    this.state = carried.state as SessionState;
    this.createTime = carried.createTime;
    this.updateTime = carried.updateTime;
    this.plan = carried.plan as Plan | undefined;
    this.currentStep = carried.currentStep;
    this.pauseRequested = carried.pauseRequested;
    this.pauseBy = carried.pauseBy;
    this.resumeTo = carried.resumeTo as SessionState | undefined;
    this.summary = carried.summary;
    this.outputs = carried.outputs as Output[];
    this.reason = carried.reason;
    this.timeline = carried.timeline;
    this.round = carried.round;
    this.feedback = carried.feedback;
    this.stepOutcomes = carried.stepOutcomes as StepOutcome[];
    this.queue = carried.queue;
    this.answers = new Map(carried.answers.map((a) => [a.id, a.reply]));
    this.acceptedMessages = carried.acceptedMessages;
    this.alert = carried.alert;
    this.outbox = carried.outbox;
    this.slack = carried.slack;
    this.approvals = carried.approvals;
    this.escalated = carried.escalated;
    this.awaitingSince = carried.awaitingSince;
    this.reminders = carried.reminders;
    this.stepFailure = carried.stepFailure;
    this.work = carried.work;
    this.reviews = carried.reviews;
    this.usage = carried.usage;
    this.budget = carried.budget;
  }

  // -------------------------------------------------------------------------------------------

  private parse<S extends z.ZodType>(schema: S, raw: unknown): { value: z.output<S> } | { refusal: Refusal } {
    const result = schema.safeParse(raw ?? {});
    if (result.success) return { value: result.data };
    const issue = result.error.issues[0];
    const field = issue?.path.join('.') || '(input)';
    return {
      refusal: {
        type: REFUSAL.invalidArgument,
        message: `invalid input: ${field}: ${issue?.message ?? 'invalid'}`,
        details: { state: this.state, field },
      },
    };
  }

  private refuseUnless(operation: Operation): Refusal | undefined {
    if (operationAllowed(operation, this.state)) return undefined;
    const why = operation === 'approve' || operation === 'reject' ? 'no plan is awaiting approval' : `not possible while the session is ${this.state}`;
    return {
      type: REFUSAL.invalidState,
      message: `cannot ${operation} session ${this.config.id}: ${why} (state: ${this.state})`,
      details: { state: this.state },
    };
  }

  /** Checks a decision against state, plan and policy; a refusal is recorded before it is returned. */
  private refuseDecision(decision: 'approve' | 'reject', by: string, planId: string | undefined, hash: string | undefined, now: Date): Refusal | undefined {
    const refusal = this.refuseUnless(decision) ?? this.refuseStale(planId, hash) ?? this.refuseByPolicy(decision, by);
    if (refusal) {
      this.record(
        { type: 'approvalRefused', originator: 'user', decision, planId: planId ?? this.plan?.id, by, code: refusal.type as 'InvalidState', reason: refusal.message },
        now,
      );
      refusal.recorded = true;
    }
    return refusal;
  }

  private refuseByPolicy(decision: 'approve' | 'reject', by: string): Refusal | undefined {
    const why = whyNotAllowed(this.policy, by, this.config.requestedBy, this.escalated);
    if (why) return { type: REFUSAL.notAllowed, message: why, details: { state: this.state } };
    const person = personOf(this.policy, by);
    if (decision === 'approve' && this.approvals.some((a) => a.person === person)) {
      return {
        type: REFUSAL.duplicateApproval,
        message: `${by} already approved plan ${this.plan?.id} (${this.approvals.length} of ${this.policy.required} approvals)`,
        details: { state: this.state, planId: this.plan?.id },
      };
    }
    return undefined;
  }

  /** The deadline passed with no decision: the policy's action decides. */
  deadlinePassed(action: 'reject' | 'cancel' | 'approve', now: Date): void {
    const plan = this.plan as Plan;
    const by = 'policy:deadline';
    if (action === 'approve') return this.approvePlan(by, 'no decision before the deadline; approved by the low-risk policy', now);
    if (action === 'reject') {
      this.record({ type: 'planRejected', originator: 'system', planId: plan.id, by, reason: 'no decision before the deadline', replan: false }, now);
    }
    this.end('cancelled', `no decision on plan ${plan.id} before the deadline`, by, now);
  }

  private refuseStale(planId: string | undefined, hash?: string): Refusal | undefined {
    if (hash !== undefined && hash !== this.plan?.hash) {
      return {
        type: REFUSAL.stalePlan,
        message: `the plan changed since it was shown (hash ${hash}, now ${this.plan?.hash}): review plan ${this.plan?.id} again`,
        details: { state: this.state, planId: this.plan?.id },
      };
    }
    if (planId === undefined || planId === this.plan?.id) return undefined;
    return {
      type: REFUSAL.stalePlan,
      message: `plan ${planId} is no longer current: the plan awaiting approval is ${this.plan?.id}`,
      details: { state: this.state, planId: this.plan?.id },
    };
  }
}

/** Whether the plan's grants for this step allow `call`: the tool is granted, and every argument the grant names has that value. */
export function grantedBy(grants: readonly ToolGrant[], call: Pick<ToolCall, 'tool' | 'arguments'>): boolean {
  return grants.some(
    (grant) => grant.tool === call.tool && Object.entries(grant.arguments ?? {}).every(([key, value]) => sameJson(call.arguments[key], value)),
  );
}

function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a as object);
  const kb = Object.keys(b as object);
  return ka.length === kb.length && ka.every((k) => sameJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

function clip(text: string): string {
  return text.length <= TIMELINE_TEXT_CHARS ? text : `${text.slice(0, TIMELINE_TEXT_CHARS)}… (${text.length - TIMELINE_TEXT_CHARS} more characters kept by the agent)`;
}
