/**
 * Every message a session workflow understands: names, inputs (zod) and results. Clients import
 * these definitions; docs/protocol.md documents the same names and JSON shapes for callers that
 * do not use andon's code (the `temporal` CLI, other SDKs, chat tools).
 *
 * Each command exists as an update (the caller gets the new view, or a clear refusal) and, where
 * fire-and-forget makes sense, as a signal of the same name (a refusal is recorded on the timeline
 * as `inputRejected`, since a signal has nobody to answer).
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { z } from 'zod';
import {
  Actor,
  Budget,
  MessageText,
  ReviewDecision,
  ToolArguments,
  type AlertNotification,
  type ParsedSessionConfig,
  type SessionView,
  type TimelinePage,
} from '../session/schema';

const Reason = z.string().trim().min(1, 'must not be empty').max(4_000);

export const ApproveInput = z.object({
  /** The plan being approved; when given and no longer current, the approval is refused as stale. */
  planId: z.string().min(1).optional(),
  /** The content hash of the plan the approver saw (view.plan.hash); a changed plan is refused as stale. */
  planHash: z.string().min(1).optional(),
  by: Actor.optional(),
  comment: z.string().max(4_000).optional(),
});
export type ApproveInput = z.input<typeof ApproveInput>;

export const RejectInput = z.object({
  planId: z.string().min(1).optional(),
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
  scope: z.enum(['session', 'agent', 'service']).default('session'),
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
    if (input.decision === 'deny' && !input.reason) ctx.addIssue({ code: 'custom', path: ['reason'], message: 'a denial needs a reason (the model reads it)' });
    if (input.decision === 'edit' && !input.arguments) ctx.addIssue({ code: 'custom', path: ['arguments'], message: 'an edit needs the new arguments' });
    if (input.decision !== 'edit' && input.arguments) ctx.addIssue({ code: 'custom', path: ['arguments'], message: `arguments are given only with decision "edit", not "${input.decision}"` });
  });
export type ReviewInput = z.input<typeof ReviewInput>;

export const TimelineQueryInput = z.object({
  /** Return events with a sequence number greater than this. */
  after: z.number().int().nonnegative().default(0),
  limit: z.number().int().min(1).max(1_000).default(200),
});
export type TimelineQueryInput = z.input<typeof TimelineQueryInput>;

export interface AskResult {
  messageId: string;
  reply: string;
}

/** Workflow input: the parsed session config, plus the carried state after continue-as-new. */
export interface SessionWorkflowInput {
  config: ParsedSessionConfig & { id: string; title: string; followUpWindowMs: number };
  carried?: unknown;
}

// Updates: the caller needs an answer or a clear refusal.
export const approveUpdate = defineUpdate<SessionView, [ApproveInput]>('approve');
export const rejectUpdate = defineUpdate<SessionView, [RejectInput]>('reject');
export const askUpdate = defineUpdate<AskResult, [MessageInput]>('ask');
export const pauseUpdate = defineUpdate<SessionView, [PauseInput]>('pause');
export const resumeUpdate = defineUpdate<SessionView, [ResumeInput]>('resume');
export const cancelUpdate = defineUpdate<SessionView, [CancelInput]>('cancel');
export const reviewUpdate = defineUpdate<SessionView, [ReviewInput]>('review');
export const writeMemoryUpdate = defineUpdate<{ memoryId: string }, [WriteMemoryInput]>('writeMemory');

// Signals: fire-and-forget, same names and inputs.
export const approveSignal = defineSignal<[ApproveInput]>('approve');
export const rejectSignal = defineSignal<[RejectInput]>('reject');
export const sendSignal = defineSignal<[MessageInput]>('send');
export const pauseSignal = defineSignal<[PauseInput]>('pause');
export const resumeSignal = defineSignal<[ResumeInput]>('resume');
export const cancelSignal = defineSignal<[CancelInput]>('cancel');
export const reviewSignal = defineSignal<[ReviewInput]>('review');
/** An alert notification (see AlertNotification); sent with signal-with-start by alert receivers. */
export const alertSignal = defineSignal<[AlertNotification]>('alert');

// Queries: reads that never change anything.
export const viewQuery = defineQuery<SessionView>('view');
export const timelineQuery = defineQuery<TimelinePage, [TimelineQueryInput?]>('timeline');

/** Failure types a refused update carries (ApplicationFailure.type), mapped to typed errors by the client. */
export const REFUSAL = {
  invalidArgument: 'InvalidArgument',
  invalidState: 'InvalidState',
  stalePlan: 'StalePlan',
  replyFailed: 'AgentReplyFailed',
  sessionEnded: 'SessionEnded',
  /** The approval policy does not let this person decide (not an approver, or the requester). */
  notAllowed: 'NotAllowed',
  /** This person already approved this plan: an approval counts once. */
  duplicateApproval: 'DuplicateApproval',
} as const;
export type RefusalType = (typeof REFUSAL)[keyof typeof REFUSAL];

/** Details attached to every refusal, so a caller can show the current state. */
export interface RefusalDetails {
  state: string;
  field?: string;
  planId?: string;
}
