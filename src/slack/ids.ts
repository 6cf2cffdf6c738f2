/**
 * The names andon gives its interactive Slack elements, and what their values carry: the
 * renderer (blocks.ts) writes them, the interaction handler (interactions.ts) reads them back.
 * A value comes back from Slack inside a signed request, but it is still parsed, never trusted
 * to have a shape.
 */
import { z } from 'zod';

export const ACTION = {
  approve: 'andon_approve',
  reject: 'andon_reject',
  /** The link button to the Temporal UI: Slack reports its clicks too; they need nothing. */
  open: 'andon_open',
  /** A tool call's review message: run it as it is, deny it (a modal asks why), edit its arguments (a modal). */
  reviewApprove: 'andon_review_approve',
  reviewDeny: 'andon_review_deny',
  reviewEdit: 'andon_review_edit',
} as const;

/** The reject modal's callback id and its input blocks. */
export const REJECT_VIEW = {
  callbackId: 'andon_reject',
  reasonBlock: 'reason',
  reasonAction: 'reason',
  replanBlock: 'replan',
  replanAction: 'replan',
} as const;

/** The review modals' callback ids and their one input block each (the action id is the block id). */
export const REVIEW_VIEW = {
  denyCallbackId: 'andon_review_deny',
  editCallbackId: 'andon_review_edit',
  reasonBlock: 'reason',
  argumentsBlock: 'arguments',
} as const;

/**
 * An Approve or Reject button's value: the decision binds to the plan the person saw (its id and
 * content hash), or, for a code session's change set awaiting approval, to the diff they saw.
 */
export const ButtonValue = z.object({
  sessionId: z.string().min(1).max(128),
  planId: z.string().min(1).max(200),
  planHash: z.string().min(1).max(200).optional(),
  changeSetHash: z.string().min(1).max(200).optional(),
});
export type ButtonValue = z.infer<typeof ButtonValue>;

/** The reject modal's private metadata: which plan, and where to tell the person the outcome. */
export const RejectMetadata = ButtonValue.extend({
  channel: z.string().optional(),
  responseUrl: z.string().optional(),
});
export type RejectMetadata = z.infer<typeof RejectMetadata>;

/** A review button's value: which tool call of which session (and its tool, for the modals' text). */
export const ReviewButtonValue = z.object({
  sessionId: z.string().min(1).max(128),
  reviewId: z.string().min(1).max(200),
  tool: z.string().min(1).max(200).optional(),
});
export type ReviewButtonValue = z.infer<typeof ReviewButtonValue>;

/**
 * The deny and edit modals' private metadata: which review, the review message to update once
 * decided, and where to tell the person the outcome.
 */
export const ReviewMetadata = ReviewButtonValue.extend({
  channel: z.string().optional(),
  messageTs: z.string().optional(),
  responseUrl: z.string().optional(),
});
export type ReviewMetadata = z.infer<typeof ReviewMetadata>;

/** `slack:<user id>`: who a Slack user is on the session's timeline. */
export function slackActor(userId: string): string {
  return `slack:${userId}`;
}

/** The AndonSlackThread search attribute value of a message (channel ids and timestamps contain no quotes). */
export function threadKey(channel: string, ts: string): string {
  return `${channel}:${ts}`;
}
