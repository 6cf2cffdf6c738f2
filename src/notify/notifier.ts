/**
 * Notifications: how a session tells people where they already are (Slack first) that it needs
 * them or has moved on. The session workflow calls the `notify` activity from a background loop,
 * so a slow or rate-limited chat service never holds the session up; the activity hands each
 * notification to the notifier for its target.
 */
import { z } from 'zod';
import { NotifyTargets, Review, SessionView } from '../session/schema';

export { NotifyTargets };

export const NotificationKind = z.enum([
  /** A plan awaits approval: post it, with Approve and Reject. */
  'approvalRequested',
  /** The approval deadline nears: remind in the thread. */
  'approvalReminder',
  /** Nobody decided in time: tell the escalation group. */
  'approvalEscalated',
  /** The session moved on (decided, running, paused, done, failed, cancelled): update the message. */
  'stateChanged',
  /** The agent answered a message that came from the thread. */
  'agentReplied',
  /** A tool call waits for review: ask in the thread, with Approve, Deny and Edit. */
  'reviewRequested',
]);
export type NotificationKind = z.infer<typeof NotificationKind>;

/**
 * The identity of a notification that posts a new message (a reminder, an escalation), fixed when
 * the workflow announces it: the same on every attempt of its activity and on replay, different for
 * the next reminder. A notifier posts a keyed message at most once (docs/slack.md).
 */
export const NotificationKey = z.string().min(1).max(200);

/** A posted Slack message the session keeps updating; its thread is the session's conversation. */
export const SlackRef = z.object({ channel: z.string(), ts: z.string() });
export type SlackRef = z.infer<typeof SlackRef>;

export const Notification = z.object({
  kind: NotificationKind,
  targets: NotifyTargets,
  view: SessionView,
  /** For agentReplied: the reply and the message it answers. */
  reply: z.object({ messageId: z.string(), text: z.string() }).optional(),
  /** For approvalEscalated: who is now asked. */
  escalateTo: z.array(z.string()).optional(),
  /** For reviewRequested: the tool call to decide. */
  review: Review.optional(),
  /** For approvalReminder and approvalEscalated: which one this is (NotificationKey). */
  key: NotificationKey.optional(),
  /** What was posted before, so later notifications update it and reply in its thread. */
  slack: SlackRef.optional(),
});
export type Notification = z.infer<typeof Notification>;

export const NotifyResult = z.object({ slack: SlackRef.optional() });
export type NotifyResult = z.infer<typeof NotifyResult>;

/** One notification channel (Slack, ...). Failures are `NotifyError`s. */
export interface Notifier {
  readonly name: string;
  notify(notification: Notification, options: { signal: AbortSignal; attempt: number }): Promise<NotifyResult>;
}

/**
 * A notifier failure. `retryAfterMs` (from a 429's Retry-After) tells Temporal when to try
 * again; `retryable: false` gives up on this notification (the session goes on regardless).
 */
export class NotifyError extends Error {
  constructor(
    message: string,
    readonly options: { retryable: boolean; retryAfterMs?: number; cause?: unknown },
  ) {
    super(message, { cause: options.cause });
    this.name = 'NotifyError';
  }
}
