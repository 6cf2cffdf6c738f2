/**
 * A streaming Server-Sent Events parser, after the WHATWG "event stream interpretation": lines
 * end in CRLF, LF or CR (a CRLF may be split across chunks), `:` starts a comment, one space after
 * the field's colon is dropped, `data` lines join with "\n", and a blank line dispatches the frame
 * (if it had data).
 *
 * One difference on purpose: `id` is the frame's own `id:` field, not the last one seen. The
 * service sends `end` and `error` frames without an id, and a resuming client needs to tell an
 * event (which has one) from those.
 */

export interface SseFrame {
  /** The frame's own `id:` field, if it had one. */
  id?: string;
  /** `message` when the frame named none. */
  event: string;
  data: string;
}

const LINE_END = /\r\n|\r|\n/g;

export class SseParser {
  private buffer = '';
  /** The last chunk ended in CR: a LF opening the next one belongs to the same line break. */
  private afterCR = false;
  private started = false;
  private data: string[] = [];
  private event = '';
  private id: string | undefined;

  /** Feeds decoded text; returns the frames it completed. */
  push(chunk: string): SseFrame[] {
    let text = chunk;
    if (this.afterCR && text.startsWith('\n')) text = text.slice(1);
    this.afterCR = false;
    if (!this.started && text !== '') {
      this.started = true;
      if (text.startsWith('\uFEFF')) text = text.slice(1);
    }

    const frames: SseFrame[] = [];
    let start = 0;
    LINE_END.lastIndex = 0;
    for (let match = LINE_END.exec(text); match; match = LINE_END.exec(text)) {
      // A CR at the very end may be the first half of a CRLF still on its way.
      if (match[0] === '\r' && match.index === text.length - 1) this.afterCR = true;
      const line = this.buffer + text.slice(start, match.index);
      this.buffer = '';
      start = match.index + match[0].length;
      const frame = this.line(line);
      if (frame) frames.push(frame);
    }
    this.buffer += text.slice(start);
    return frames;
  }

  private line(line: string): SseFrame | undefined {
    if (line === '') return this.dispatch();
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'data':
        this.data.push(value);
        break;
      case 'event':
        this.event = value;
        break;
      case 'id':
        if (!value.includes('\0')) this.id = value;
        break;
      // `retry` is not used: reconnecting is the stream's own policy (stream.ts).
    }
    return undefined;
  }

  private dispatch(): SseFrame | undefined {
    const frame: SseFrame | undefined =
      this.data.length === 0
        ? undefined
        : {
            ...(this.id !== undefined && { id: this.id }),
            event: this.event || 'message',
            data: this.data.join('\n'),
          };
    this.data = [];
    this.event = '';
    this.id = undefined;
    return frame;
  }
}

/**
 * The frames of a response body, as they arrive. A frame cut off by the end of the body is not
 * yielded (it may be incomplete). Leaving the loop early releases the body.
 */
export async function* readSse(body: ReadableStream<Uint8Array>): AsyncGenerator<SseFrame> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const parser = new SseParser();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      yield* parser.push(decoder.decode(value, { stream: true }));
    }
  } finally {
    reader.cancel().catch(() => undefined);
  }
}
