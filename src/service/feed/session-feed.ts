/**
 * One session's live timeline, shared by every watcher of it: a single reader of the session
 * (one `stream()`, i.e. one history long-poll and one query per change, whatever the number of
 * watchers) and an in-memory log of what it has read, so a watcher that joins or reconnects is
 * served from memory.
 *
 * Memory: the log holds each event once, already encoded as its SSE frame (subscribers get
 * references to the same Buffer). It grows with the session's whole timeline: the workflow
 * carries only its newest events and archives the rest in the run chain (docs/sessions.md,
 * "Bounded state"), but this log keeps everything it read, at most 32,000 characters of text
 * per event. The log lives only while the feed has subscribers, plus the linger.
 */
import type { EventType, TimelineEvent } from '../../session/schema';
import { eventFrame } from './sse';

/** Reads a session's timeline from the start, then live; ends after the event that ends the session. */
export type TimelineSource = (sessionId: string, signal: AbortSignal) => AsyncIterable<TimelineEvent>;

export interface FeedItem {
  readonly seq: number;
  readonly type: EventType;
  /** The event's SSE frame, encoded once and shared by all subscribers. */
  readonly frame: Buffer;
}

/**
 * A watcher. The feed calls it synchronously, in seq order, each event exactly once; it must not
 * block (buffer, or drop itself by unsubscribing). After `end` or `fail` nothing more is called.
 */
export interface Subscriber {
  event(item: FeedItem): void;
  /** The session has ended; `lastSeq` is its last event. */
  end(lastSeq: number): void;
  /** The reader failed (Temporal unavailable, session not found). */
  fail(error: unknown): void;
}

export interface SessionFeedOptions {
  source: TimelineSource;
  /** How long a feed without subscribers keeps its reader, so a reconnect right away reuses it. */
  lingerMs: number;
  /** Called once when the feed has stopped for good; the registry forgets it then. */
  onClosed?: (feed: SessionFeed) => void;
}

type Status = 'reading' | 'ended' | 'failed' | 'closed';

export class SessionFeed {
  /** Resolves once the reader has read the session (an event, or its end); rejects if it failed first. */
  readonly ready: Promise<void>;
  private readonly log: FeedItem[] = [];
  private logBytes = 0;
  /** Each subscriber with the seq it resumed after: one that is ahead of the log skips events up to it. */
  private readonly subscribers = new Map<Subscriber, number>();
  private readonly reader = new AbortController();
  private status: Status = 'reading';
  private linger: NodeJS.Timeout | undefined;
  private settleReady!: (error?: unknown) => void;

  constructor(
    readonly sessionId: string,
    private readonly options: SessionFeedOptions,
  ) {
    this.ready = new Promise<void>((resolve, reject) => {
      this.settleReady = (error) => (error === undefined ? resolve() : reject(error));
    });
    // Whoever awaits `ready` sees the failure; a feed nobody awaited must not crash the process.
    this.ready.catch(() => undefined);
    // Started after the constructor returns, so a source that fails at once finds the feed registered and subscribed.
    queueMicrotask(() => void this.read());
  }

  get lastSeq(): number {
    return this.log.at(-1)?.seq ?? 0;
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  get closed(): boolean {
    return this.status === 'closed';
  }

  /** The log's size in bytes (SSE frames). */
  get bytes(): number {
    return this.logBytes;
  }

  /**
   * Sends `subscriber` the events after `after` from memory, then live ones. Synchronous, like
   * the reader's appends, so nothing falls between the backlog and the live events.
   */
  subscribe(subscriber: Subscriber, after: number): void {
    if (this.status === 'closed' || this.status === 'failed') throw new Error(`feed for ${this.sessionId} is closed`);
    clearTimeout(this.linger);
    this.linger = undefined;
    for (const item of this.log.slice(this.firstAfter(after))) subscriber.event(item);
    if (this.status === 'ended') {
      subscriber.end(this.lastSeq);
      this.lingerIfIdle();
      return;
    }
    this.subscribers.set(subscriber, after);
  }

  unsubscribe(subscriber: Subscriber): void {
    if (this.subscribers.delete(subscriber)) this.lingerIfIdle();
  }

  /** Stops the reader now; current subscribers fail with `reason`. */
  close(reason: unknown = new Error('feed closed')): void {
    if (this.status === 'closed') return;
    const wasReading = this.status === 'reading';
    this.status = 'closed';
    clearTimeout(this.linger);
    this.reader.abort();
    if (wasReading) this.settleReady(reason);
    this.notify((s) => s.fail(reason));
    this.options.onClosed?.(this);
  }

  private async read(): Promise<void> {
    if (this.status !== 'reading') return;
    try {
      for await (const event of this.options.source(this.sessionId, this.reader.signal)) {
        if (this.status !== 'reading') return;
        // The source yields each seq once and in order; a repeat (a resumed reader) is dropped.
        if (event.seq <= this.lastSeq) continue;
        const item: FeedItem = { seq: event.seq, type: event.type, frame: eventFrame(event) };
        this.log.push(item);
        this.logBytes += item.frame.length;
        this.settleReady();
        for (const [subscriber, after] of this.subscribers) if (item.seq > after) this.deliver(subscriber, item);
      }
      if (this.status !== 'reading') return;
      this.status = 'ended';
      this.settleReady();
      this.notify((s) => s.end(this.lastSeq));
      this.lingerIfIdle();
    } catch (error) {
      if (this.status !== 'reading') return;
      // Failed feeds are not reused: the registry forgets this one, and the next subscriber starts a fresh reader.
      this.status = 'failed';
      this.settleReady(error);
      this.notify((s) => s.fail(error));
      this.close(error);
    }
  }

  /** A subscriber that throws is cut off rather than allowed to stop the others. */
  private deliver(subscriber: Subscriber, item: FeedItem): void {
    try {
      subscriber.event(item);
    } catch {
      this.unsubscribe(subscriber);
    }
  }

  /** Calls `fn` on every subscriber, which then leaves (ending and failing are final). */
  private notify(fn: (subscriber: Subscriber) => void): void {
    const all = [...this.subscribers.keys()];
    this.subscribers.clear();
    for (const subscriber of all) {
      try {
        fn(subscriber);
      } catch {
        // It is leaving anyway.
      }
    }
  }

  private lingerIfIdle(): void {
    if (this.subscribers.size > 0 || this.status === 'closed' || this.linger) return;
    this.linger = setTimeout(() => this.close(), this.options.lingerMs);
    // A lingering feed must not keep the process alive on its own.
    this.linger.unref();
  }

  /** Index of the first event with seq > `after`; the log is sorted by seq. */
  private firstAfter(after: number): number {
    let lo = 0;
    let hi = this.log.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.log[mid]?.seq ?? Infinity) <= after) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
