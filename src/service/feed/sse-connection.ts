/**
 * One watcher's connection: a feed Subscriber that writes SSE frames to the response with
 * backpressure of its own, so a slow client never holds up the feed or the other watchers.
 *
 * Frames go to the socket while it takes them; once `write()` says the socket buffer is full,
 * they wait in this connection's queue until 'drain'. The queue holds references to the feed's
 * frames, not copies. A client whose unsent bytes (queue plus socket buffer) pass
 * `maxBufferedBytes` has stopped reading or cannot keep up: it is dropped, its connection
 * closed, and it reconnects with Last-Event-ID to be served the rest from the feed's memory.
 */
import type { Writable } from 'node:stream';
import { SessionNotFoundError, UnavailableError } from '../../client/errors';
import type { FeedItem, Subscriber } from './session-feed';
import { HEARTBEAT, endFrame, errorFrame } from './sse';

export interface SseConnectionOptions {
  /**
   * Unsent bytes past which the client is dropped. Checked once the stream has started, so the
   * backlog a client joins with never counts against it alone as long as this is above the
   * largest timeline (see SessionFeed on the 2 MB bound).
   */
  maxBufferedBytes?: number;
  /** Interval of `: keep-alive` comments while nothing else is sent. */
  heartbeatMs?: number;
  /** Called once when the connection has closed, however that happened. */
  onClose?: () => void;
}

export const DEFAULT_MAX_BUFFERED_BYTES = 4 * 1024 * 1024;
export const DEFAULT_HEARTBEAT_MS = 15_000;

export class SseConnection implements Subscriber {
  /** Whether it was closed for falling behind. */
  dropped = false;
  /** Resolves once the connection has closed. */
  readonly whenClosed: Promise<void>;
  private resolveClosed!: () => void;
  private readonly queue: Buffer[] = [];
  private queuedBytes = 0;
  private state: 'pending' | 'open' | 'closed' = 'pending';
  private finishing = false;
  private ended = false;
  private waitingForDrain = false;
  private heartbeat: NodeJS.Timeout | undefined;
  private readonly maxBufferedBytes: number;
  private readonly heartbeatMs: number;

  constructor(
    private readonly out: Writable,
    private readonly options: SseConnectionOptions = {},
  ) {
    this.maxBufferedBytes = options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
    this.heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
    this.whenClosed = new Promise((resolve) => (this.resolveClosed = resolve));
  }

  /** Unsent bytes: this connection's queue plus the socket's buffer. */
  get bufferedBytes(): number {
    return this.queuedBytes + this.out.writableLength;
  }

  get closed(): boolean {
    return this.state === 'closed';
  }

  /**
   * Starts writing, once the response head is out; frames that arrived before were queued. A
   * connection never started (the request was answered with an error instead) writes nothing.
   */
  start(): void {
    if (this.state !== 'pending') return;
    this.state = 'open';
    this.out.on('drain', () => {
      this.waitingForDrain = false;
      this.flush();
    });
    // A client that went away surfaces as an error on write; 'close' follows and cleans up.
    this.out.on('error', () => undefined);
    this.out.once('close', () => this.closedByPeerOrUs());
    if (this.out.destroyed) return this.closedByPeerOrUs();
    this.heartbeat = setInterval(() => {
      if (this.queue.length === 0) this.enqueue(HEARTBEAT);
    }, this.heartbeatMs);
    this.flush();
  }

  event(item: FeedItem): void {
    this.enqueue(item.frame);
  }

  end(lastSeq: number): void {
    this.enqueue(endFrame(lastSeq));
    this.finish();
  }

  fail(error: unknown): void {
    this.enqueue(errorFrame(describeStreamError(error)));
    this.finish();
  }

  /** Closes the connection at once, without a last frame. */
  destroy(): void {
    if (this.state === 'closed') return;
    if (this.state === 'open') this.out.destroy();
    this.closedByPeerOrUs();
  }

  private enqueue(frame: Buffer): void {
    if (this.state === 'closed' || this.finishing) return;
    this.queue.push(frame);
    this.queuedBytes += frame.length;
    if (this.state === 'open' && this.bufferedBytes > this.maxBufferedBytes) {
      this.dropped = true;
      this.destroy();
      return;
    }
    this.flush();
  }

  private finish(): void {
    if (this.state === 'closed' || this.finishing) return;
    this.finishing = true;
    this.flush();
  }

  private flush(): void {
    if (this.state !== 'open' || this.waitingForDrain) return;
    let sent = 0;
    for (const frame of this.queue) {
      sent++;
      this.queuedBytes -= frame.length;
      if (!this.out.write(frame)) {
        this.waitingForDrain = true;
        break;
      }
    }
    this.queue.splice(0, sent);
    // end() lets the socket send what it still buffers, then closes the response.
    if (this.finishing && this.queue.length === 0 && !this.ended) {
      this.ended = true;
      this.out.end();
    }
  }

  private closedByPeerOrUs(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    clearInterval(this.heartbeat);
    this.queue.length = 0;
    this.queuedBytes = 0;
    this.resolveClosed();
    this.options.onClose?.();
  }
}

/** The `error` frame's body: a stable code and a message, never a stack. */
export function describeStreamError(error: unknown): { code: string; message: string } {
  if (SessionNotFoundError.isInstance(error)) return { code: 'not_found', message: error.message };
  if (UnavailableError.isInstance(error)) return { code: 'unavailable', message: error.message };
  const message = error instanceof Error ? error.message : String(error);
  return { code: 'unavailable', message: `reading the session failed: ${message}` };
}
