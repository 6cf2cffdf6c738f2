/**
 * The Server-Sent Events wire format of a session's live timeline:
 *
 *   id: <seq>\nevent: <type>\ndata: <TimelineEvent as JSON>\n\n     one per timeline event
 *   : keep-alive\n\n                                               a comment, so proxies keep the connection
 *   event: end\ndata: {"lastSeq":N}\n\n                            after the event that ends the session
 *   event: error\ndata: {"error":{"code","message"}}\n\n          the reader failed; reconnect with Last-Event-ID
 *
 * `end` and `error` carry no `id:` so a client's Last-Event-ID stays the seq of the last event.
 * They carry data because an EventSource does not dispatch an event whose data is empty.
 * JSON.stringify escapes line breaks, so every payload is a single `data:` line.
 */
import type { TimelineEvent } from '../../session/schema';

export const HEARTBEAT = Buffer.from(': keep-alive\n\n');

export function eventFrame(event: TimelineEvent): Buffer {
  return Buffer.from(`id: ${event.seq}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
}

export function endFrame(lastSeq: number): Buffer {
  return Buffer.from(`event: end\ndata: ${JSON.stringify({ lastSeq })}\n\n`);
}

export function errorFrame(error: { code: string; message: string }): Buffer {
  return Buffer.from(`event: error\ndata: ${JSON.stringify({ error: { code: error.code, message: error.message } })}\n\n`);
}
