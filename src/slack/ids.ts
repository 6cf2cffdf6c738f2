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
} as const;

/** The reject modal's callback id and its input blocks. */
export const REJECT_VIEW = { callbackId: 'andon_reject', reasonBlock: 'reason', reasonAction: 'reason', replanBlock: 'replan', replanAction: 'replan' } as const;

/** An Approve or Reject button's value: the decision binds to the plan the person saw (its id and content hash). */
export const ButtonValue = z.object({
  sessionId: z.string().min(1).max(128),
  planId: z.string().min(1).max(200),
  planHash: z.string().min(1).max(200).optional(),
});
export type ButtonValue = z.infer<typeof ButtonValue>;

/** The reject modal's private metadata: which plan, and where to tell the person the outcome. */
export const RejectMetadata = ButtonValue.extend({
  channel: z.string().optional(),
  responseUrl: z.string().optional(),
});
export type RejectMetadata = z.infer<typeof RejectMetadata>;

/** `slack:<user id>`: who a Slack user is on the session's timeline. */
export function slackActor(userId: string): string {
  return `slack:${userId}`;
}

/** The AndonSlackThread search attribute value of a message (channel ids and timestamps contain no quotes). */
export function threadKey(channel: string, ts: string): string {
  return `${channel}:${ts}`;
}
