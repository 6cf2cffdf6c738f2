/**
 * The inputs of a session's messages (see messages.ts for the Temporal definitions) and of the
 * workflow itself, as zod schemas. Temporal-free: the HTTP client and the service's request
 * schemas (http.ts) are built from these, so every caller checks input by the same rules.
 */
import { z } from 'zod';
import {
  Actor,
  Artifact,
  Budget,
  MessageText,
  ReviewDecision,
  ToolArguments,
  type ParsedSessionConfig,
  type SessionView,
} from '../session/schema';

/** Who recalls a memory: this session, every session of its agent, or every session about its service. */
export const MemoryScope = z.enum(['session', 'agent', 'service']);
export type MemoryScope = z.infer<typeof MemoryScope>;

const Reason = z.string().trim().min(1, 'must not be empty').max(4_000);

export const ApproveInput = z.object({
  /** The plan being approved; when given and no longer current, the approval is refused as stale. */
  planId: z.string().min(1).optional(),
  /** The content hash of the plan the approver saw (view.plan.hash); a changed plan is refused as stale. */
  planHash: z.string().min(1).optional(),
  /** A change set awaiting approval: the hash of the change the approver saw (view.workspace.changeSetHash). */
  changeSetHash: z.string().min(1).optional(),
  by: Actor.optional(),
  comment: z.string().max(4_000).optional(),
});
export type ApproveInput = z.input<typeof ApproveInput>;

export const RejectInput = z.object({
  planId: z.string().min(1).optional(),
  /** The content hash of the plan the person saw: refused as stale if the plan changed, or if a change set now awaits the decision. */
  planHash: z.string().min(1).max(200).optional(),
  /** A change set awaiting approval: the hash of the change the person saw; another diff is refused as stale. */
  changeSetHash: z.string().min(1).max(200).optional(),
  by: Actor.optional(),
  reason: Reason,
  /** Ask the agent for a new plan instead of ending the session. */
  replan: z.boolean().default(false),
});
export type RejectInput = z.input<typeof RejectInput>;

export const MessageInput = z.object({
  message: MessageText,
  /** Idempotency key: a message id already accepted is not accepted twice. */
  messageId: z.string().min(1).max(200).optional(),
  by: Actor.optional(),
});
export type MessageInput = z.input<typeof MessageInput>;

export const WriteMemoryInput = z.object({
  content: z.string().trim().min(1, 'must not be empty').max(8_000),
  /** session: this session; agent: every session of this agent; service: every session about this service. */
  scope: MemoryScope.default('session'),
  by: Actor.optional(),
});
export type WriteMemoryInput = z.input<typeof WriteMemoryInput>;

export const PauseInput = z.object({ by: Actor.optional(), reason: z.string().max(4_000).optional() });
export type PauseInput = z.input<typeof PauseInput>;

export const ResumeInput = z.object({
  by: Actor.optional(),
  /** A new budget, for a session paused because it spent the old one. */
  budget: Budget.optional(),
});
export type ResumeInput = z.input<typeof ResumeInput>;

/** What to do about a failed step: run it again, go on without it, or end the session. */
export const StepDecision = z.enum(['retry', 'skip', 'abort']);
export type StepDecision = z.infer<typeof StepDecision>;

/**
 * The decision on a failed step. It goes through the session's approval policy like an
 * approval: carrying an approved plan past a failed step is a decision about the plan.
 */
export const DecideStepInput = z.object({
  decision: StepDecision,
  /** The failed step being decided; when given and not the failed one, the decision is refused. */
  stepId: z.string().min(1).max(200).optional(),
  reason: z.string().max(4_000).optional(),
  by: Actor.optional(),
});
export type DecideStepInput = z.input<typeof DecideStepInput>;

export const CancelInput = z.object({ by: Actor.optional(), reason: Reason });
export type CancelInput = z.input<typeof CancelInput>;

export const ReviewInput = z
  .object({
    reviewId: z.string().min(1),
    decision: ReviewDecision,
    /** Required to deny: the model reads it and adapts. Optional otherwise. */
    reason: z.string().trim().min(1).max(4_000).optional(),
    /** Required to edit: the arguments the call runs with instead (checked against the tool's schema). */
    arguments: ToolArguments.optional(),
    by: Actor.optional(),
  })
  .superRefine((input, ctx) => {
    if (input.decision === 'deny' && !input.reason)
      ctx.addIssue({ code: 'custom', path: ['reason'], message: 'a denial needs a reason (the model reads it)' });
    if (input.decision === 'edit' && !input.arguments)
      ctx.addIssue({ code: 'custom', path: ['arguments'], message: 'an edit needs the new arguments' });
    if (input.decision !== 'edit' && input.arguments)
      ctx.addIssue({
        code: 'custom',
        path: ['arguments'],
        message: `arguments are given only with decision "edit", not "${input.decision}"`,
      });
  });
export type ReviewInput = z.input<typeof ReviewInput>;

/**
 * An event an agent puts on the session's timeline while a call runs (an external agent's
 * progress, command output, a message of its own). `id` is the agent's own name for it: the
 * session records each id once, however often it is emitted (a retried call sends some again).
 */
export const AgentEvent = z.discriminatedUnion('type', [
  z.object({
    id: z.string().min(1).max(200),
    type: z.literal('progressUpdated'),
    title: z.string().min(1).max(500),
    description: z.string().max(8_000).default(''),
    artifacts: z.array(Artifact).max(20).default([]),
  }),
  z.object({ id: z.string().min(1).max(200), type: z.literal('agentMessaged'), message: z.string().min(1).max(32_000) }),
]);
export type AgentEvent = z.infer<typeof AgentEvent>;
export type AgentEventInput = z.input<typeof AgentEvent>;
/** The most events one emit carries (the activity splits longer lists). */
export const MAX_AGENT_EVENTS = 50;

/** The input of the `agentEvents` signal: what an agent's activity emits while it runs. */
export const AgentEventsInput = z.object({ events: z.array(AgentEvent).min(1).max(MAX_AGENT_EVENTS) });
export type AgentEventsInput = z.input<typeof AgentEventsInput>;

/** A decision on a tool call awaiting review, as a caller gives it: `deny` needs a reason (the model reads it), `edit` the new arguments. */
export type ReviewDecisionInput =
  | { decision: 'approve'; reason?: string }
  | { decision: 'deny'; reason: string }
  | { decision: 'edit'; arguments: Record<string, unknown>; reason?: string };

export const TimelineQueryInput = z.object({
  /** Return events with a sequence number greater than this. */
  after: z.number().int().nonnegative().default(0),
  limit: z.number().int().min(1).max(1_000).default(200),
});
export type TimelineQueryInput = z.input<typeof TimelineQueryInput>;

/**
 * `waitForEvents`: a watcher's long poll. Answers as soon as the session has an event after
 * `after` (at most `limit` events, and at most WAIT_FOR_EVENTS_MAX_BYTES of them but always one).
 */
export const WAIT_FOR_EVENTS_MAX_LIMIT = 200;
export const WAIT_FOR_EVENTS_MAX_BYTES = 256_000;
export const WaitForEventsInput = z
  .object({
    /** Answer with the events whose seq is greater than this, once there is one. */
    after: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
    limit: z.number().int().min(1).max(WAIT_FOR_EVENTS_MAX_LIMIT).default(WAIT_FOR_EVENTS_MAX_LIMIT),
  })
  .strict();
export type WaitForEventsInput = z.input<typeof WaitForEventsInput>;
/** Failure type of a refused wait (too many waiting, the run draining): read the slow way. */
export const WATCH_UNAVAILABLE = 'WatchUnavailable';
/** Failure type of a wait refused for a moment (a local activity runs): ask again shortly. */
export const WATCH_LATER = 'WatchLater';

export interface AskResult {
  messageId: string;
  reply: string;
}

/**
 * Workflow input: the parsed session config, plus the carried state after continue-as-new, and the
 * timeline events that left the carried window then (kept here, in the run's start event, for readers).
 */
export interface SessionWorkflowInput {
  config: ParsedSessionConfig & { id: string; title: string; followUpWindowMs: number };
  carried?: unknown;
  archived?: unknown;
}

/**
 * The session workflow's signature (`andonSession`, workflows/session/workflow.ts): clients type their
 * handles with it, so they need not import workflow code.
 */
export type SessionWorkflow = (input: SessionWorkflowInput) => Promise<SessionView>;
