/**
 * The Events API: replies in a session's thread become messages to the session, from the person
 * who wrote them; one that ends with "?" is asked, so a failure to answer can be told to them.
 * The agent's answer reaches the thread through the session's own notification (agentReplied),
 * whichever way it was sent. The app's own posts and other bots are not conversation.
 */
import type { Ack } from './ack';
import type { SessionActions } from './actions';
import { unescapeText } from './blocks';
import { EventsRequest, MessageEvent } from './payloads';
import type { Responder } from './respond';
import type { ThreadSessions } from './threads';

/** Slack re-delivers an event it did not see acknowledged in time: each is handled once. */
const REMEMBERED_EVENTS = 2_000;

export class EventHandler {
  private readonly seenEvents = new Set<string>();

  constructor(
    private readonly actions: SessionActions,
    private readonly threads: ThreadSessions,
    private readonly responder: Responder,
    private readonly warn: (message: string) => void,
  ) {}

  handle(body: unknown): Ack {
    const parsed = EventsRequest.safeParse(body);
    if (!parsed.success) return {};
    const request = parsed.data;
    if (request.type === 'url_verification') return { body: { challenge: request.challenge } };
    if (this.seenBefore(request.event_id)) return {};
    const event = MessageEvent.safeParse(request.event);
    if (!event.success) return {};
    const botUsers = new Set(request.authorizations.flatMap((a) => (a.is_bot && a.user_id ? [a.user_id] : [])));
    const message = event.data;
    if (!isPersonInThread(message, botUsers, request.api_app_id)) return {};
    return { after: () => this.deliver(message) };
  }

  private async deliver(message: MessageEvent): Promise<void> {
    const text = unescapeText(message.text).trim();
    if (text === '') return;
    let sessionId: string | undefined;
    try {
      sessionId = await this.threads.find(message.channel, message.thread_ts!);
    } catch (error) {
      this.warn(`slack: could not look up the session of thread ${message.channel}:${message.thread_ts}: ${(error as Error).message}`);
      return;
    }
    if (!sessionId) return;
    const user = message.user!;
    // The message's own id: a re-delivered event is accepted by the session once.
    const messageId = `slack:${message.channel}:${message.ts}`;
    const outcome = text.endsWith('?')
      ? await this.actions.ask(user, { sessionId, question: text, messageId })
      : await this.actions.send(user, { sessionId, message: text, messageId });
    if (!outcome.ok) await this.responder.tell({ user, channel: message.channel, threadTs: message.thread_ts }, outcome.message);
  }

  private seenBefore(eventId: string): boolean {
    if (this.seenEvents.has(eventId)) return true;
    if (this.seenEvents.size >= REMEMBERED_EVENTS) this.seenEvents.delete(this.seenEvents.values().next().value!);
    this.seenEvents.add(eventId);
    return false;
  }
}

/** A person's reply in a thread (not the thread's parent, not an edit or a join, not a bot, not this app). */
function isPersonInThread(message: MessageEvent, botUsers: ReadonlySet<string>, appId: string | undefined): boolean {
  if (message.subtype !== undefined && message.subtype !== 'thread_broadcast') return false;
  if (message.bot_id !== undefined || (appId !== undefined && message.app_id === appId)) return false;
  if (message.user === undefined || botUsers.has(message.user)) return false;
  return message.thread_ts !== undefined && message.thread_ts !== message.ts;
}
