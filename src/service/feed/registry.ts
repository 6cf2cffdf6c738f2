/**
 * At most one SessionFeed per session id, so N watchers of a session cost the workflow one
 * reader. A feed stays registered while it has subscribers and for its linger after the last one
 * leaves; a failed or closed feed is forgotten at once, so the next subscriber starts a new reader.
 */
import { SessionFeed, type Subscriber, type TimelineSource } from './session-feed';

export interface SessionFeedsOptions {
  source: TimelineSource;
  /** Default 5 s: longer than an EventSource's default reconnect delay (about 3 s). */
  lingerMs?: number;
}

export interface Subscription {
  readonly sessionId: string;
  /** Resolves once the session has been read; rejects if reading it failed (e.g. SessionNotFoundError). */
  readonly ready: Promise<void>;
  /** Idempotent. */
  unsubscribe(): void;
}

export const DEFAULT_LINGER_MS = 5_000;

export class SessionFeeds {
  private readonly feeds = new Map<string, SessionFeed>();
  private readonly lingerMs: number;
  private readonly source: TimelineSource;

  constructor(options: SessionFeedsOptions) {
    this.source = options.source;
    this.lingerMs = options.lingerMs ?? DEFAULT_LINGER_MS;
  }

  /** Open feeds, i.e. running or lingering readers (and ended sessions' logs within their linger). */
  get size(): number {
    return this.feeds.size;
  }

  /** The feed of `sessionId`, if one is open: for stats and tests. */
  get(sessionId: string): SessionFeed | undefined {
    return this.feeds.get(sessionId);
  }

  subscribe(sessionId: string, after: number, subscriber: Subscriber): Subscription {
    const feed = this.open(sessionId);
    feed.subscribe(subscriber, after);
    let subscribed = true;
    return {
      sessionId,
      ready: feed.ready,
      unsubscribe: () => {
        if (!subscribed) return;
        subscribed = false;
        feed.unsubscribe(subscriber);
      },
    };
  }

  /** Stops every reader; their subscribers fail with `reason`. */
  close(reason?: unknown): void {
    for (const feed of [...this.feeds.values()]) feed.close(reason);
  }

  private open(sessionId: string): SessionFeed {
    const existing = this.feeds.get(sessionId);
    if (existing && !existing.closed) return existing;
    const feed = new SessionFeed(sessionId, {
      source: this.source,
      lingerMs: this.lingerMs,
      onClosed: (closed) => {
        if (this.feeds.get(sessionId) === closed) this.feeds.delete(sessionId);
      },
    });
    this.feeds.set(sessionId, feed);
    return feed;
  }
}
