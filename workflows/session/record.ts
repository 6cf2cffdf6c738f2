/**
 * The session record: everything a session knows, as ONE plain object described by ONE zod
 * schema. Continue-as-new carries it whole (`{ config, carried: session.record }`), so a field
 * added here is carried without being listed anywhere else.
 *
 * The rules that change it are plain functions over a `Session` (the record plus what the rules
 * read but never carry: config and approval policy). They take the time as an argument and use
 * no Temporal API, so they are deterministic and testable on their own; the workflow calls them
 * and never assigns a record field itself. This file holds the schema and the rules every other
 * rule module shares (recording, transitions, ending, pausing, refusals, reads).
 */
import { z } from 'zod';
import type { StepOutcome } from '../../src/agents/agent';
import { ToolResult } from '../../src/agents/agent';
import {
  AlertState,
  Budget,
  ChangedFile,
  NO_USAGE,
  Review,
  ReviewDecision,
  SessionState,
  TimelineEvent,
  ToolArguments,
  ToolCall,
  Usage,
  PullRequest,
  describeSource,
  isTerminal,
  type NewEvent,
  type Output,
  type Plan,
  type SessionView,
  type TimelinePage,
} from '../../src/session/schema';
import { canTransition, operationAllowed, type Operation } from '../../src/session/transitions';
import { NotificationKey, NotificationKind, SlackRef } from '../../src/notify/notifier';
import { ApprovalPolicy, OPEN_POLICY } from '../../src/session/approval';
import { changeSetHash, sourceOf } from './change-set';
import { REFUSAL, TimelineQueryInput, type RefusalDetails, type RefusalType, type SessionWorkflowInput } from '../../src/protocol/messages';

export interface Refusal {
  type: RefusalType;
  message: string;
  details: RefusalDetails;
  /** Already on the timeline (as approvalRefused): a signal need not note it again. */
  recorded?: boolean;
}

/** How many exchanges the agent sees as conversational context. */
const TRANSCRIPT_LENGTH = 20;

/**
 * What a session may carry, so no run's state, continue-as-new input or history approaches
 * Temporal's limits (2 MB per payload, 50 MB per history) however long the session lives.
 * docs/sessions.md ("Bounded state") explains each bound.
 */
export const LIMITS = {
  /** The newest timeline events within this many bytes are carried across continue-as-new; older ones are archived. */
  windowBytes: 128 * 1024,
  /** A run whose timeline grew past this many bytes continues-as-new (before the server suggests it by count). */
  continueAsNewBytes: 512 * 1024,
  /** A timeline event's text field (a reply, a summary, a reason) longer than this is cut, with a note of how much. */
  eventTextChars: 32_000,
  /** Messages waiting for the agent's reply: more are refused until it has answered some. */
  queueMessages: 500,
  queueChars: 256 * 1024,
  /** Remembered replies (for `ask` retries), by total length (checked as each event is recorded). */
  answersChars: 64 * 1024,
  /** Re-planning feedback the agent sees: the newest this many. */
  feedback: 20,
  /** The conversation the agent sees as context, by total length. */
  transcriptChars: 64 * 1024,
  /** Notifications waiting to be sent (a Slack outage must not grow the record): the oldest chat replies are dropped. */
  outbox: 50,
} as const;

/** A decision on a reviewed tool call, kept until the call has run. */
export const Decision = z.object({
  decision: ReviewDecision,
  by: z.string(),
  reason: z.string().optional(),
  arguments: ToolArguments.optional(),
});
export type Decision = z.infer<typeof Decision>;

/**
 * A step an agent carries out through tools: how many model turns it took so far, the tool calls
 * of the last turn not yet done (in order), and the results the model reads on its next turn.
 */
export const StepWork = z.object({
  stepId: z.string(),
  turn: z.number().int().nonnegative(),
  calls: z.array(ToolCall),
  results: z.array(ToolResult),
  decisions: z.record(z.string(), Decision),
});
export type StepWork = z.infer<typeof StepWork>;

/** A notification to send; the view is taken when it is sent, so it is always the latest. */
export const Outgoing = z.object({
  kind: NotificationKind,
  reply: z.object({ messageId: z.string(), text: z.string() }).optional(),
  escalateTo: z.array(z.string()).optional(),
  review: Review.optional(),
  /** Names a thread post that must appear once however often its notify activity runs (NotificationKey). */
  key: NotificationKey.optional(),
});
export type Outgoing = z.infer<typeof Outgoing>;

/**
 * A code session's working tree, as the session carries it: where it started and the cumulative
 * change (a unified diff from `baseCommit`, at most `maxChangeBytes`, which the activity enforces).
 * The patch is what makes the tree durable: any worker rebuilds the tree from base + patch.
 */
export const WorkspaceRecord = z.object({
  branch: z.string(),
  baseCommit: z.string(),
  patch: z.string(),
  files: z.array(ChangedFile),
  /** The cumulative patch when the current tool step began: its whole diff is reported when it ends. */
  stepBase: z.object({ stepId: z.string(), patch: z.string() }).optional(),
  /**
   * The steps and the summary are done and the change is being published: the commit's date,
   * fixed before the publish activity runs, so every retry makes the same commit.
   */
  finishedAt: z.string().optional(),
  /** Where the change went, once published. */
  published: z.object({ branch: z.string(), commit: z.string(), pullRequest: PullRequest.optional() }).optional(),
});
export type WorkspaceRecord = z.infer<typeof WorkspaceRecord>;

export const QueuedMessage = z.object({ id: z.string(), text: z.string(), by: z.string() });
export type QueuedMessage = z.infer<typeof QueuedMessage>;

/**
 * The session record, carried whole across continue-as-new. Sessions that continued-as-new under
 * earlier code carry the same field names; fields added later have defaults so their records
 * still parse. Plans, outputs and step outcomes were produced by this code and are taken as they
 * are (not re-validated), as before.
 */
export const SessionRecord = z.object({
  state: SessionState,
  createTime: z.string(),
  updateTime: z.string(),
  plan: z.custom<Plan>().optional(),
  currentStep: z.number().optional(),
  /** A pause asked for while work was in flight: it takes effect at the next boundary. */
  pauseRequested: z.boolean(),
  /** Who asked for the pending pause (recorded on sessionPaused when it takes effect). */
  pauseBy: z.object({ by: z.string(), reason: z.string().optional() }).optional(),
  /** The state to return to on resume. */
  resumeTo: SessionState.optional(),
  summary: z.string().optional(),
  outputs: z.array(z.custom<Output>()),
  reason: z.string().optional(),
  timeline: z.array(TimelineEvent),
  /** Planning round: 1 for the first plan, +1 per re-plan. */
  round: z.number(),
  feedback: z.array(z.string()),
  stepOutcomes: z.array(z.custom<StepOutcome>()),
  /** Messages accepted and waiting for the agent's reply, in arrival order. */
  queue: z.array(QueuedMessage),
  /** Replies to recent messages, oldest first (for ask and its retries). */
  answers: z.array(z.object({ id: z.string(), reply: z.string() })),
  /** Counts every accepted message; the follow-up window restarts when it changes. */
  acceptedMessages: z.number(),
  alert: AlertState.optional(),
  /** Notifications waiting to be sent, oldest first (only for sessions with notify targets). */
  outbox: z.array(Outgoing).default([]),
  /** The session's Slack message, once posted. */
  slack: SlackRef.optional(),
  /** Approvals of the current plan so far (one per person). */
  approvals: z.array(z.object({ person: z.string(), by: z.string(), time: z.string() })).default([]),
  /** Whether the escalation group may decide too (the escalation time passed). */
  escalated: z.boolean().default(false),
  /** When the current plan started awaiting approval, and how many reminders went out since. */
  awaitingSince: z.string().optional(),
  /** The plan `awaitingSince` belongs to: only that plan, back from a pause, keeps it. */
  awaitingPlanId: z.string().optional(),
  reminders: z.number().default(0),
  /** A failed step awaiting retry, skip or abort. */
  stepFailure: z.object({ stepId: z.string(), title: z.string(), reason: z.string() }).optional(),
  /** The step being carried out through tools, when the agent works that way. */
  work: StepWork.optional(),
  /** Tool calls waiting for a person's review, oldest first. */
  reviews: z.array(Review).default([]),
  /** What the agent's model calls consumed (unset until the agent reports any). */
  usage: Usage.optional(),
  /** The spending limit in force: the session's, raised by whoever resumed it. */
  budget: Budget.optional(),
  /** A code session's working tree (absent until it is prepared, and in sessions without a source). */
  workspace: WorkspaceRecord.optional(),
});
export type SessionRecord = z.infer<typeof SessionRecord>;

/** Told of changes the workflow mirrors outside the record (search attributes, details, notifications). */
export interface SessionObserver {
  stateChanged?(session: Session): void;
  /** The set of pending reviews changed (the workflow indexes their count). */
  reviewsChanged?(session: Session): void;
}

/** The record and what its rules read but never carry: the session's config and approval policy. */
export interface Session {
  readonly config: SessionWorkflowInput['config'];
  /** The approval policy in force (OPEN_POLICY when none was given); `policyError` if the given one is invalid. */
  readonly policy: ApprovalPolicy;
  readonly policyError?: string;
  readonly record: SessionRecord;
  readonly observer: SessionObserver;
  readonly rules: SessionRules;
  /**
   * Events archived when this run began: the ones that left the carried window at the last
   * continue-as-new. They live in this run's start event (its input) and nowhere else; earlier
   * runs' start events hold older ones. Read by the timeline query, never carried further.
   */
  readonly archived: TimelineEvent[];
  /**
   * Whether this run keeps its state within LIMITS. False only when replaying a run that began
   * before the bounds existed (the `bounded-state` patch), so its history replays unchanged.
   */
  readonly bounded: boolean;
  /** Bytes of the timeline this run holds (UTF-8 JSON), kept up to date by recordEvent. */
  readonly size: { timeline: number };
}

/**
 * Rules that changed while sessions were running: a session started before keeps the old ones
 * (the workflow reads them from `patched()`), so its history replays as it was recorded.
 */
export interface SessionRules {
  /**
   * Failed steps are decided by `decideStep` under the approval policy (not by a chat message),
   * a budget change on resume needs an approver, and pause/resume keeps the approval deadline.
   */
  decisionsByPolicy: boolean;
  /**
   * The session's `source` is used: its tree is prepared, changed and published. Sessions started
   * before code sessions existed ignored their source, and keep doing so.
   */
  codeSessions?: boolean;
  /**
   * An approval bound to the plan (it names the plan's hash, as the plan's Approve button does)
   * is refused while the change set awaits approval: it is of what the person saw, and they saw
   * no diff. Code sessions started before let it approve the change set.
   */
  planApprovalsStayPlans?: boolean;
}

export const CURRENT_RULES: SessionRules = { decisionsByPolicy: true, codeSessions: true, planApprovalsStayPlans: true };

/** A new session's record, or the carried one after continue-as-new (which must parse). */
export function openSession(
  input: SessionWorkflowInput,
  now: Date,
  observer: SessionObserver = {},
  rules: SessionRules = CURRENT_RULES,
  bounded = true,
): Session {
  // Parsed here too: a starter that is not andon's SDK (a raw `temporal workflow start`) may send a partial policy.
  const parsed = ApprovalPolicy.safeParse(input.config.approval ?? {});
  const policyError = parsed.success
    ? undefined
    : `invalid approval policy: ${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}`;
  const time = now.toISOString();
  const record: SessionRecord =
    input.carried !== undefined
      ? SessionRecord.parse(input.carried)
      : {
          state: 'queued',
          createTime: time,
          updateTime: time,
          pauseRequested: false,
          outputs: [],
          timeline: [],
          round: 1,
          feedback: [],
          stepOutcomes: [],
          queue: [],
          answers: [],
          acceptedMessages: 0,
          outbox: [],
          approvals: [],
          escalated: false,
          reminders: 0,
          reviews: [],
          budget: input.config.budget,
        };
  return {
    config: input.config,
    policy: parsed.success ? parsed.data : OPEN_POLICY,
    ...(policyError ? { policyError } : {}),
    record,
    observer,
    rules,
    // Written by this code's own continue-as-new: taken as it is, like the carried plan.
    archived: Array.isArray(input.archived) ? (input.archived as TimelineEvent[]) : [],
    bounded,
    size: { timeline: record.timeline.reduce((total, event) => total + byteSize(event), 0) },
  };
}

/**
 * The input of the next run: the record with only the newest timeline events within
 * LIMITS.windowBytes (at least the newest one), and the events that left the window, which the
 * next run's start event keeps for readers (the run chain is the archive; see docs/sessions.md).
 */
export function carryOver(s: Session): Pick<SessionWorkflowInput, 'carried' | 'archived'> {
  const timeline = s.record.timeline;
  if (!s.bounded) return { carried: s.record };
  let bytes = 0;
  let cut = timeline.length;
  while (cut > 0) {
    const next = bytes + byteSize(timeline[cut - 1]);
    if (next > LIMITS.windowBytes && cut < timeline.length) break;
    bytes = next;
    cut -= 1;
  }
  return { carried: { ...s.record, timeline: timeline.slice(cut) }, archived: timeline.slice(0, cut) };
}

/** The run has grown enough that it should continue-as-new, whatever the server suggests. */
export function outgrown(s: Session): boolean {
  return s.bounded && s.size.timeline > LIMITS.continueAsNewBytes;
}

/** UTF-8 bytes of a value as JSON (a close upper bound: a surrogate pair counts 6, not 4). */
export function byteSize(value: unknown): number {
  const json = JSON.stringify(value) ?? '';
  let bytes = json.length;
  for (let i = 0; i < json.length; i++) {
    const code = json.charCodeAt(i);
    if (code >= 0x80) bytes += code >= 0x800 ? 2 : 1;
  }
  return bytes;
}

/** A text cut to `max` characters, saying how much was cut. */
export function capText(text: string, max: number): string {
  if (text.length <= max) return text;
  return `${text.slice(0, max)}… [${text.length - max} more characters not kept]`;
}

/** Refuses a message of `chars` characters when the queue waiting for the agent's reply is full. */
export function refuseFullQueue(s: Session, chars: number): Refusal | undefined {
  const queue = s.record.queue;
  if (!s.bounded) return undefined;
  if (queue.length < LIMITS.queueMessages && queue.reduce((total, m) => total + m.text.length, chars) <= LIMITS.queueChars)
    return undefined;
  return {
    type: REFUSAL.invalidState,
    message:
      `session ${s.config.id} has ${queue.length} messages waiting for the agent's reply ` +
      `(at most ${LIMITS.queueMessages}, ${LIMITS.queueChars} characters): send again once it has answered some`,
    details: { state: s.record.state, field: 'message' },
  };
}

/** Trims what the record remembers beyond the timeline (replies, feedback, outbox) to LIMITS. */
function keepBounds(s: Session): void {
  const r = s.record;
  if (r.feedback.length > LIMITS.feedback) r.feedback.splice(0, r.feedback.length - LIMITS.feedback);
  // Only chat replies are dropped (they are on the timeline): state, approval and review notices are each bounded already.
  while (r.outbox.length > LIMITS.outbox) {
    const reply = r.outbox.findIndex((o) => o.kind === 'agentReplied');
    if (reply < 0) break;
    r.outbox.splice(reply, 1);
  }
  let chars = 0;
  for (let i = r.answers.length - 1; i >= 0; i--) {
    chars += r.answers[i]!.reply.length;
    if (chars > LIMITS.answersChars && i < r.answers.length - 1) {
      r.answers.splice(0, i + 1);
      break;
    }
  }
}

/** The event with every top-level text field cut to LIMITS.eventTextChars. */
function capEvent<E extends object>(event: E): E {
  let capped: E | undefined;
  for (const [key, value] of Object.entries(event)) {
    if (typeof value === 'string' && value.length > LIMITS.eventTextChars) {
      capped ??= { ...event };
      (capped as Record<string, unknown>)[key] = capText(value, LIMITS.eventTextChars);
    }
  }
  return capped ?? event;
}

// ---------------------------------------------------------------------------------------------
// Recording and transitions

export function recordEvent(s: Session, event: NewEvent, now: Date): TimelineEvent {
  const full = { ...(s.bounded ? capEvent(event) : event), seq: lastSeq(s) + 1, time: now.toISOString() } as TimelineEvent;
  s.record.timeline.push(full);
  s.record.updateTime = full.time;
  if (s.bounded) {
    s.size.timeline += byteSize(full);
    keepBounds(s);
  }
  return full;
}

export function lastSeq(s: Session): number {
  return s.record.timeline.at(-1)?.seq ?? s.archived.at(-1)?.seq ?? 0;
}

export function setState(s: Session, to: SessionState, now: Date): void {
  const r = s.record;
  if (to === r.state) return;
  const from = r.state;
  if (!canTransition(r.state, to)) {
    // A bug, not bad input: fail the workflow task so it shows up loudly and can be fixed by a deploy.
    throw new Error(`illegal session transition ${r.state} → ${to}`);
  }
  r.state = to;
  r.updateTime = now.toISOString();
  // Back from a pause, the same plan awaits approval since it first did: pausing must not postpone its deadline.
  const samePlan = from === 'paused' && s.rules.decisionsByPolicy && r.awaitingSince !== undefined && r.awaitingPlanId === r.plan?.id;
  if ((to === 'awaitingPlanApproval' && !samePlan) || (to === 'awaitingChangeApproval' && from !== 'paused')) {
    r.awaitingSince = r.updateTime;
    r.awaitingPlanId = r.plan?.id;
    r.reminders = 0;
  }
  s.observer.stateChanged?.(s);
}

/** Called at a boundary: pauses if a pause was requested, else moves on to `next`. */
export function advance(s: Session, next: SessionState, now: Date): void {
  if (s.record.pauseRequested && !isTerminal(next)) pauseNow(s, next, s.record.pauseBy ?? { by: 'unknown' }, now);
  else setState(s, next, now);
}

export function pauseNow(s: Session, resumeTo: SessionState, who: { by: string; reason?: string }, now: Date): void {
  const r = s.record;
  r.pauseRequested = false;
  r.pauseBy = undefined;
  r.resumeTo = resumeTo;
  recordEvent(
    s,
    { type: 'sessionPaused', originator: who.by.startsWith('policy:') ? 'system' : 'user', by: who.by, reason: who.reason },
    now,
  );
  setState(s, 'paused', now);
}

/** The plan awaiting approval is approved (by people, or by a policy): its steps begin. */
export function approvePlan(s: Session, by: string, comment: string | undefined, now: Date): void {
  recordEvent(
    s,
    { type: 'planApproved', originator: by.startsWith('policy:') ? 'system' : 'user', planId: (s.record.plan as Plan).id, by, comment },
    now,
  );
  s.record.currentStep = 0;
  setState(s, 'inProgress', now);
}

/** Ends the session: `cancelled` (by a person) or `failed` (by the agent or the system). */
export function end(s: Session, state: 'cancelled' | 'failed', reason: string, by: string, now: Date): void {
  const r = s.record;
  r.reason = reason;
  r.pauseRequested = false;
  if (r.reviews.length > 0) {
    r.reviews = [];
    s.observer.reviewsChanged?.(s);
  }
  if (state === 'cancelled')
    recordEvent(s, { type: 'sessionCancelled', originator: by.startsWith('policy:') ? 'system' : 'user', by, reason }, now);
  else recordEvent(s, { type: 'sessionFailed', originator: 'system', reason }, now);
  setState(s, state, now);
}

// ---------------------------------------------------------------------------------------------
// Usage and budget

export function addUsage(s: Session, usage: Usage | undefined): void {
  if (!usage) return;
  const total = s.record.usage ?? NO_USAGE;
  s.record.usage = {
    inputTokens: total.inputTokens + usage.inputTokens,
    outputTokens: total.outputTokens + usage.outputTokens,
    costUsd: total.costUsd + usage.costUsd,
  };
}

/** Whether the budget in force (or `budget`, when given) is spent. */
export function overBudget(s: Session, budget: Budget | undefined = s.record.budget): boolean {
  const usage = s.record.usage;
  if (!budget || !usage) return false;
  const tokens = usage.inputTokens + usage.outputTokens;
  return (budget.tokens !== undefined && tokens >= budget.tokens) || (budget.costUsd !== undefined && usage.costUsd >= budget.costUsd);
}

// ---------------------------------------------------------------------------------------------
// Refusals shared by the commands

export function parseInput<S extends z.ZodType>(s: Session, schema: S, raw: unknown): { value: z.output<S> } | { refusal: Refusal } {
  const result = schema.safeParse(raw ?? {});
  if (result.success) return { value: result.data };
  const issue = result.error.issues[0];
  const field = issue?.path.join('.') || '(input)';
  return {
    refusal: {
      type: REFUSAL.invalidArgument,
      message: `invalid input: ${field}: ${issue?.message ?? 'invalid'}`,
      details: { state: s.record.state, field },
    },
  };
}

export function refuseUnless(s: Session, operation: Operation): Refusal | undefined {
  const state = s.record.state;
  if (operationAllowed(operation, state)) return undefined;
  const why =
    operation === 'approve' || operation === 'reject' ? 'no plan is awaiting approval' : `not possible while the session is ${state}`;
  return {
    type: REFUSAL.invalidState,
    message: `cannot ${operation} session ${s.config.id}: ${why} (state: ${state})`,
    details: { state },
  };
}

// ---------------------------------------------------------------------------------------------
// Reads

/** The next tool call to run, with its decision when it was reviewed; `waiting` while its review is open. */
export function nextCall(s: Session): { call: ToolCall; decision?: Decision; waiting: boolean } | undefined {
  const work = s.record.work;
  const call = work?.calls[0];
  if (!work || !call) return undefined;
  return { call, decision: work.decisions[call.id], waiting: s.record.reviews.some((r) => r.toolCallId === call.id) };
}

/** The earliest time an open review expires, if the session's review policy sets one. */
export function nextReviewExpiry(s: Session): number | undefined {
  const times = s.record.reviews.flatMap((r) => (r.expiresAt ? [Date.parse(r.expiresAt)] : []));
  return times.length ? Math.min(...times) : undefined;
}

/** The agent's reply to a message, when it was given (and is still remembered). */
export function answerTo(s: Session, messageId: string): string | undefined {
  return s.record.answers.find((a) => a.id === messageId)?.reply;
}

/** Whether a message is still waiting for the agent's reply. */
export function isQueued(s: Session, messageId: string): boolean {
  return s.record.queue.some((m) => m.id === messageId);
}

/** The recent conversation, for the agent's context. */
export function transcript(s: Session): { role: 'user' | 'agent'; text: string }[] {
  const timeline = s.record.timeline;
  const turns: { role: 'user' | 'agent'; text: string }[] = [];
  // Bounded by length too, so no agent call's input grows with the size of the messages.
  let room: number = s.bounded ? LIMITS.transcriptChars : Infinity;
  for (let i = timeline.length - 1; i >= 0 && turns.length < TRANSCRIPT_LENGTH && room > 0; i--) {
    const event = timeline[i];
    const turn =
      event?.type === 'userMessaged'
        ? { role: 'user' as const, text: event.message }
        : event?.type === 'agentMessaged'
          ? { role: 'agent' as const, text: event.message }
          : undefined;
    if (!turn) continue;
    if (turn.text.length > room) turn.text = capText(turn.text, room);
    room -= turn.text.length;
    turns.push(turn);
  }
  return turns.reverse();
}

export function view(s: Session): SessionView {
  const { config, policy } = s;
  const r = s.record;
  const source = s.rules.codeSessions ? sourceOf(config.source) : undefined;
  const w = r.workspace;
  const awaiting = r.state === 'awaitingPlanApproval' || r.state === 'awaitingChangeApproval';
  return {
    id: config.id,
    state: r.state,
    title: config.title,
    prompt: config.prompt,
    context: config.context,
    agent: config.agent,
    requirePlanApproval: config.requirePlanApproval,
    requestedBy: config.requestedBy,
    createTime: r.createTime,
    updateTime: r.updateTime,
    plan: r.plan,
    currentStep: r.currentStep,
    pauseRequested: r.pauseRequested,
    summary: r.summary,
    outputs: r.outputs,
    reason: r.reason,
    lastSeq: lastSeq(s),
    pendingMessages: r.queue.length,
    alert: r.alert,
    ...(source && w
      ? {
          workspace: {
            source: describeSource(source),
            branch: w.branch,
            baseCommit: w.baseCommit,
            changes: w.files,
            ...(w.patch ? { changeSetHash: changeSetHash(w.patch) } : {}),
            ...(w.published ? { published: w.published } : {}),
          },
        }
      : {}),
    stepFailure: r.stepFailure,
    pendingReviews: r.reviews,
    usage: r.usage,
    budget: r.budget,
    approval:
      awaiting && r.plan
        ? {
            planId: r.plan.id,
            required: policy.required,
            approvals: r.approvals,
            escalated: r.escalated,
            deadline:
              policy.deadline && r.awaitingSince ? new Date(Date.parse(r.awaitingSince) + policy.deadline.after).toISOString() : undefined,
          }
        : undefined,
  };
}

export function timelinePage(s: Session, raw: unknown): TimelinePage {
  // A query cannot be refused politely; bad paging input falls back to the defaults.
  const parsed = TimelineQueryInput.safeParse(raw ?? {});
  const { after, limit } = parsed.success ? parsed.data : { after: 0, limit: 200 };
  // This run holds the events archived when it began, then its window; older ones are in earlier runs.
  const events: TimelineEvent[] = [];
  for (const part of [s.archived, s.record.timeline]) {
    const start = part.findIndex((e) => e.seq > after);
    if (start >= 0) events.push(...part.slice(start, start + limit - events.length));
    if (events.length >= limit) break;
  }
  const firstSeq = s.archived[0]?.seq ?? s.record.timeline[0]?.seq ?? 1;
  return { events, lastSeq: lastSeq(s), state: s.record.state, firstSeq };
}
