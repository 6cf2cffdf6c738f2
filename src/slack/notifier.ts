/**
 * Slack notifications: the plan goes to the session's channel as one message with Approve and
 * Reject, that message is updated as the session moves, and everything else (the agent's
 * answers, reminders, escalations, tool calls to review) goes to its thread. Runs inside the
 * `notify` activity: every failure becomes a NotifyError that says whether Temporal should try
 * again, and when.
 */
import type { WebClient } from '@slack/web-api';
import type { Notification, Notifier, NotifyResult, SlackRef } from '../notify/notifier';
import { NotifyError } from '../notify/notifier';
import type { SessionView } from '../session/schema';
import {
  agentReplyMessage,
  escalationMessage,
  awaitsDecisionMessage,
  reminderMessage,
  reviewMessage,
  sessionLink,
  sessionMessage,
  type RenderContext,
  type SessionFacts,
  type SlackMessage,
} from './blocks';
import { slackClient } from './client';
import { toNotifyError } from './api-errors';
import type { FactsLookup } from './facts';

export interface SlackNotifierOptions {
  botToken: string;
  /** Default https://slack.com/api/. */
  apiUrl?: string;
  /** The Temporal UI's base URL (https://cloud.temporal.io, http://localhost:8233): messages link to the session there. */
  temporalUiUrl?: string;
  /** The namespace sessions run in, for the Temporal UI link. */
  namespace?: string;
  /** Reads who decided (facts.ts); without it the message says what happened but not who did it. */
  facts?: FactsLookup;
  timeoutMs?: number;
  /** Where a failed facts lookup is reported (it does not fail the notification). */
  warn?: (message: string) => void;
}

export class SlackNotifier implements Notifier {
  readonly name = 'slack';

  constructor(private readonly options: SlackNotifierOptions) {}

  async notify(notification: Notification, { signal, attempt }: { signal: AbortSignal; attempt: number }): Promise<NotifyResult> {
    const channel = notification.targets.slack?.channel;
    if (!channel) return {};
    const client = slackClient({ botToken: this.options.botToken, apiUrl: this.options.apiUrl, timeoutMs: this.options.timeoutMs, signal });
    const post = new Poster(client, channel, notification.slack, {
      sessionId: notification.view.id,
      retry: attempt > 1,
      warn: (message) => this.options.warn?.(message),
    });
    const { view } = notification;

    switch (notification.kind) {
      case 'approvalRequested': {
        const ref = await post.session(await this.render(view));
        // A re-plan, or a change set after the steps, updates the message in place; the thread says why it changed.
        if (notification.slack) await post.inThread(awaitsDecisionMessage(view), { broadcast: false });
        return { slack: ref };
      }
      case 'stateChanged':
        return { slack: await post.session(await this.render(view)) };
      case 'agentReplied':
        if (notification.reply) {
          const key = `reply:${notification.reply.messageId}`;
          await post.inThread(agentReplyMessage(notification.reply.text), { broadcast: false, key });
        }
        return {};
      case 'approvalReminder':
        await post.inThread(reminderMessage(view), { broadcast: false, key: postKey(notification) });
        return {};
      case 'approvalEscalated':
        // Broadcast: the people now asked may never have opened the thread.
        await post.inThread(escalationMessage(view, notification.escalateTo ?? []), { broadcast: true, key: postKey(notification) });
        return {};
      case 'reviewRequested':
        await this.reviewRequested(notification, post);
        return {};
    }
  }

  /**
   * A tool call to review: the session message first shows that calls await review (best
   * effort: the state update that follows corrects it anyway), then the review itself goes to the
   * thread, also to the channel (the session waits on it, and people may never open the thread).
   * The review message is no session message: it is never returned as the thread to keep.
   */
  private async reviewRequested(notification: Notification, post: Poster): Promise<void> {
    const { view, review } = notification;
    if (!review) return;
    if (notification.slack) {
      try {
        await post.session(await this.render(view));
      } catch (error) {
        this.options.warn?.(`slack: could not update the message of ${view.id} for review ${review.id}: ${(error as Error).message}`);
      }
    }
    const sessionUrl = this.sessionUrl(view.id);
    // Decided before this could be posted (Slack was slow or limited): a record, without buttons.
    const pending = view.pendingReviews.some((r) => r.id === review.id);
    const verdict = pending ? undefined : { closed: 'it was decided (or its session ended) before this message could be posted.' };
    await post.inThread(reviewMessage(view, review, { sessionUrl, verdict }), { broadcast: pending, key: `review:${review.id}` });
  }

  /** The session message for `view`, with who decided when that can be read. */
  private async render(view: SessionView): Promise<SlackMessage> {
    const context: RenderContext = { sessionUrl: this.sessionUrl(view.id), facts: await this.facts(view) };
    return sessionMessage(view, context);
  }

  private sessionUrl(sessionId: string): string | undefined {
    return sessionLink(this.options.temporalUiUrl, this.options.namespace ?? 'default', sessionId);
  }

  private async facts(view: SessionView): Promise<SessionFacts | undefined> {
    if (!this.options.facts) return undefined;
    try {
      return await this.options.facts(view);
    } catch (error) {
      this.options.warn?.(`slack: could not read who decided on ${view.id}: ${(error as Error).message}`);
      return undefined;
    }
  }
}

/**
 * The key a reminder or escalation is posted once under: the workflow's (fixed when it announced
 * it), or, from a session that predates keys, one from its view, which every attempt of the same
 * activity gets unchanged (the session's position in its timeline tells two reminders apart).
 */
function postKey(notification: Notification): string {
  const { kind, key, view } = notification;
  return key !== undefined ? key : `${kind}:${view.state}:${view.approval?.planId ?? view.plan?.id ?? ''}:${view.lastSeq}`;
}

/**
 * The event type of the metadata every session message carries (`event_payload.session_id`):
 * a retried notification finds the message an earlier attempt posted by it.
 */
export const SESSION_MESSAGE_EVENT = 'andon_session';

/** The event type of a thread post that must appear once (`event_payload: {session_id, key}`). */
export const THREAD_POST_EVENT = 'andon_thread_post';

/** How far back a retry looks for the message an earlier attempt may have posted. */
const LOOKBACK_SECONDS = 24 * 3_600;
const LOOKBACK_MESSAGES = 200;
const CHANNEL_PAGES = 5;

interface PosterContext {
  sessionId: string;
  /** A retried notification: an earlier attempt may have posted without learning it did. */
  retry: boolean;
  warn: (message: string) => void;
}

/** The Slack calls of one notification: the session message (post once, then update) and its thread. */
class Poster {
  constructor(
    private readonly client: WebClient,
    private readonly channel: string,
    private readonly ref: SlackRef | undefined,
    private readonly context: PosterContext,
  ) {}

  /**
   * Posts the session message, or updates it once posted; returns where it is. Posting is
   * idempotent across the activity's retries: an attempt can post and then fail (Slack's answer
   * lost, a timeout after Slack took it), and the session never learns the message's ts. So the
   * message carries the session id in its metadata, and a retry first looks for it in the
   * channel's recent history and updates it instead of posting a second one.
   */
  async session(message: SlackMessage): Promise<SlackRef> {
    const ref = this.ref ?? (this.context.retry ? await this.findPosted() : undefined);
    if (ref) {
      await this.call('chat.update', () => this.client.chat.update({ channel: ref.channel, ts: ref.ts, ...message }));
      return ref;
    }
    const metadata = { event_type: SESSION_MESSAGE_EVENT, event_payload: { session_id: this.context.sessionId } };
    // Unfurled previews (a PR link in the outcome) would bury the plan.
    const posted = await this.call('chat.postMessage', () =>
      this.client.chat.postMessage({ channel: this.channel, unfurl_links: false, unfurl_media: false, metadata, ...message }),
    );
    // Slack answers with the channel's id even when posted to "#name": the thread key must use the id.
    if (!posted.channel || !posted.ts)
      throw new NotifyError('Slack chat.postMessage answered without channel and ts', { retryable: false });
    return { channel: posted.channel, ts: posted.ts };
  }

  /**
   * Posts in the session's thread; with no session message yet (it could not be posted), in the
   * channel. A post with a `key` (a review, an answer to a message) is posted once across
   * retries: it carries the key in its metadata, and a retry that finds it in the thread is done.
   */
  async inThread(message: SlackMessage, { broadcast, key }: { broadcast: boolean; key?: string }): Promise<void> {
    const thread = this.ref ? { channel: this.ref.channel, thread_ts: this.ref.ts, reply_broadcast: broadcast } : { channel: this.channel };
    const metadata = key ? { event_type: THREAD_POST_EVENT, event_payload: { session_id: this.context.sessionId, key } } : undefined;
    if (metadata && this.context.retry && this.ref && (await this.inThreadAlready(this.ref, key!))) return;
    await this.call('chat.postMessage', () => this.client.chat.postMessage({ ...thread, ...(metadata ? { metadata } : {}), ...message }));
  }

  /** Whether the thread has a post with `key` (best effort: a failed lookup posts again). */
  private async inThreadAlready(ref: SlackRef, key: string): Promise<boolean> {
    try {
      const replies = await this.client.conversations.replies({
        channel: ref.channel,
        ts: ref.ts,
        limit: LOOKBACK_MESSAGES,
        include_all_metadata: true,
      });
      return (replies.messages ?? []).some((m) => {
        const payload = m.metadata?.event_payload as { session_id?: unknown; key?: unknown } | undefined;
        return m.metadata?.event_type === THREAD_POST_EVENT && payload?.session_id === this.context.sessionId && payload.key === key;
      });
    } catch (error) {
      this.context.warn(
        `slack: could not look for an earlier thread post of ${this.context.sessionId} (${(error as Error).message}); posting it`,
      );
      return false;
    }
  }

  /**
   * The session's message, if an earlier attempt posted it: a recent message of the channel whose
   * metadata names the session. A lookup that fails (the app lacks channels:history, say) is
   * logged and the message posted: a second message is better than none.
   */
  private async findPosted(): Promise<SlackRef | undefined> {
    try {
      const channel = await this.channelId();
      if (!channel) return undefined;
      const history = await this.client.conversations.history({
        channel,
        oldest: String(Math.floor(Date.now() / 1_000) - LOOKBACK_SECONDS),
        limit: LOOKBACK_MESSAGES,
        include_all_metadata: true,
      });
      const mine = (history.messages ?? []).find(
        (m) =>
          m.metadata?.event_type === SESSION_MESSAGE_EVENT &&
          (m.metadata.event_payload as { session_id?: unknown } | undefined)?.session_id === this.context.sessionId,
      );
      return mine?.ts ? { channel, ts: mine.ts } : undefined;
    } catch (error) {
      this.context.warn(
        `slack: could not look for an earlier message of ${this.context.sessionId} (${(error as Error).message}); posting it, which may leave a duplicate`,
      );
      return undefined;
    }
  }

  /** The channel's id: conversations.history takes no `#name`, so a name is looked up among the app's channels. */
  private async channelId(): Promise<string | undefined> {
    if (!this.channel.startsWith('#')) return this.channel;
    const name = this.channel.slice(1);
    let cursor: string | undefined;
    for (let page = 0; page < CHANNEL_PAGES; page++) {
      const list = await this.client.conversations.list({
        types: 'public_channel,private_channel',
        exclude_archived: true,
        limit: 1_000,
        cursor,
      });
      const found = list.channels?.find((c) => c.name === name);
      if (found?.id) return found.id;
      cursor = list.response_metadata?.next_cursor || undefined;
      if (!cursor) break;
    }
    return undefined;
  }

  private async call<T>(method: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw toNotifyError(error, method);
    }
  }
}
