/**
 * A per-token request limit for the Jules door, answered as Jules answers a spent quota: 429
 * RESOURCE_EXHAUSTED with Retry-After. The SDK retries 429 with backoff for up to five minutes, so
 * a client over the limit slows down instead of failing, and one busy Jules client (the SDK
 * re-lists a session's whole activity log on every poll) cannot crowd out the rest of the service.
 * Counted per token name in fixed windows; the names are the configured tokens, so the map is
 * bounded by the configuration.
 */
import { HttpError } from '../../protocol/http-errors';

export interface RateLimit {
  /** Requests one token may make per window. */
  requests: number;
  windowMs: number;
}

export class TokenRateLimiter {
  private readonly windows = new Map<string, { start: number; count: number }>();

  constructor(
    private readonly limit: RateLimit,
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts a request of `token`; throws 429 when it is over the limit in this window. */
  take(token: string): void {
    const now = this.now();
    let window = this.windows.get(token);
    if (!window || now - window.start >= this.limit.windowMs) {
      window = { start: now, count: 0 };
      this.windows.set(token, window);
    }
    window.count++;
    if (window.count > this.limit.requests) {
      const retryAfter = Math.max(1, Math.ceil((window.start + this.limit.windowMs - now) / 1000));
      throw new HttpError(
        429,
        'resource_exhausted',
        `token "${token}" made more than ${this.limit.requests} requests in ${this.limit.windowMs} ms (service.jules.rateLimit); retry after ${retryAfter} s`,
        {},
        { 'retry-after': String(retryAfter) },
      );
    }
  }
}
