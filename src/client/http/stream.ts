/**
 * A session's live timeline over the service's Server-Sent Events
 * (GET /v1/sessions/:id/events), as the SDK's `stream()` gives it: every event once, in order,
 * ending after the event that ends the session.
 *
 * A dropped connection or an `error` frame is not the end: the stream reconnects with
 * Last-Event-ID set to the last event it yielded, and skips anything at or before it, so a
 * resumed stream has no gap and no duplicate. It gives up when nothing has worked for
 * RECONNECT.budgetMs, and at once on a refusal that a retry cannot fix (401, 403, 404, 400).
 * The first connection is not retried: a wrong URL or a service that is down is reported at once,
 * as by any other call.
 */
import { AndonError, SessionNotFoundError, UnavailableError, ValidationError } from '../errors';
import { TimelineEvent } from '../../session/schema';
import { AuthError, UnexpectedResponseError } from './errors';
import { readSse, type SseFrame } from './sse';
import type { HttpTransport } from './transport';
import { firstIssue } from '../../protocol/issues';

const ENDING_EVENTS = new Set<TimelineEvent['type']>(['sessionCompleted', 'sessionFailed', 'sessionCancelled']);

export const RECONNECT = {
  firstDelayMs: 250,
  maxDelayMs: 5_000,
  /** How long reconnecting may fail in a row before the stream fails. */
  budgetMs: 30_000,
  /** A connection that lasted this long was healthy: failing after it starts a new budget. */
  healthyMs: 10_000,
  /** Deadline for the answer's headers (the service answers 503 after its own 10 s). */
  connectTimeoutMs: 20_000,
};

export interface StreamOptions {
  after?: number;
  signal?: AbortSignal;
}

export async function* sessionEvents(http: HttpTransport, sessionId: string, options: StreamOptions = {}): AsyncGenerator<TimelineEvent> {
  const signal = options.signal;
  const path = `/v1/sessions/${encodeURIComponent(sessionId)}/events`;
  let last = options.after ?? 0;
  let failures = 0;
  let failingSince: number | undefined;
  let opened = false;

  while (!signal?.aborted) {
    const connectedAt = Date.now();
    let progressed = false;
    let failure: unknown;
    try {
      const response = await http.open(path, {
        headers: { accept: 'text/event-stream', 'last-event-id': String(last) },
        timeoutMs: RECONNECT.connectTimeoutMs,
        what: `opening the event stream of session ${sessionId}`,
        sessionId,
        signal,
      });
      opened = true;
      for await (const frame of readSse(response.body!)) {
        if (frame.event === 'end') return;
        if (frame.event === 'error') {
          failure = streamError(frame);
          break;
        }
        // Frames without an id are not timeline events (and none other are sent today).
        if (frame.id === undefined) continue;
        const event = parseEvent(frame);
        if (event.seq <= last) continue;
        yield event;
        last = event.seq;
        progressed = true;
        if (ENDING_EVENTS.has(event.type)) return;
      }
      failure ??= new UnavailableError(`the event stream of session ${sessionId} closed before the session ended`);
    } catch (error) {
      if (signal?.aborted) return;
      if (!opened || isPermanent(error)) throw error;
      failure = error;
    }

    const now = Date.now();
    if (progressed || now - connectedAt >= RECONNECT.healthyMs || failingSince === undefined) {
      failingSince = now;
      failures = 0;
    }
    if (now - failingSince >= RECONNECT.budgetMs) throw failure;
    failures++;
    await sleep(Math.min(RECONNECT.firstDelayMs * 2 ** (failures - 1), RECONNECT.maxDelayMs), signal);
  }
}

function parseEvent(frame: SseFrame): TimelineEvent {
  let json: unknown;
  try {
    json = JSON.parse(frame.data);
  } catch {
    throw new UnexpectedResponseError(`event ${frame.id} of the stream is not JSON`, 200);
  }
  const parsed = TimelineEvent.safeParse(json);
  if (!parsed.success)
    throw new UnexpectedResponseError(`event ${frame.id} of the stream is not a timeline event: ${firstIssue(parsed.error).message}`, 200);
  return parsed.data;
}

/** `event: error` means the service's reader failed; its message says why. */
function streamError(frame: SseFrame): AndonError {
  let message = 'the service could not read the session';
  try {
    const body = JSON.parse(frame.data) as { error?: { message?: unknown } };
    if (typeof body.error?.message === 'string') message = body.error.message;
  } catch {
    // Keep the generic message.
  }
  return new UnavailableError(message);
}

/** Refusals that the same request will get again. A malformed event is also final: reading on would skip it. */
function isPermanent(error: unknown): boolean {
  return (
    AuthError.isInstance(error) ||
    SessionNotFoundError.isInstance(error) ||
    ValidationError.isInstance(error) ||
    (UnexpectedResponseError.isInstance(error) && error.status < 500)
  );
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
