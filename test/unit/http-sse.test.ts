/**
 * The HTTP client's SSE parser, fed the way a socket delivers: in arbitrary pieces.
 */
import { SseParser, readSse, type SseFrame } from '../../src/client/http/sse';

/** The service's frames for a session (see src/service/feed/sse.ts). */
const WIRE = [
  ': keep-alive\n\n',
  'id: 1\nevent: sessionCreated\ndata: {"seq":1,"text":"a: b"}\n\n',
  'id: 2\nevent: planGenerated\ndata: {"seq":2}\n\n',
  'event: end\ndata: {"lastSeq":2}\n\n',
].join('');

const EXPECTED: SseFrame[] = [
  { id: '1', event: 'sessionCreated', data: '{"seq":1,"text":"a: b"}' },
  { id: '2', event: 'planGenerated', data: '{"seq":2}' },
  { event: 'end', data: '{"lastSeq":2}' },
];

function parseInPieces(text: string, size: number): SseFrame[] {
  const parser = new SseParser();
  const frames: SseFrame[] = [];
  for (let i = 0; i < text.length; i += size) frames.push(...parser.push(text.slice(i, i + size)));
  return frames;
}

describe('SseParser', () => {
  it.each([1, 2, 3, 7, 1000])('gives the same frames however the stream is cut (pieces of %i)', (size) => {
    expect(parseInPieces(WIRE, size)).toEqual(EXPECTED);
  });

  it('accepts CRLF and CR line ends, also a CRLF split across chunks', () => {
    expect(parseInPieces(WIRE.replace(/\n/g, '\r\n'), 1)).toEqual(EXPECTED);
    expect(parseInPieces(WIRE.replace(/\n/g, '\r\n'), 5)).toEqual(EXPECTED);
    expect(parseInPieces(WIRE.replace(/\n/g, '\r'), 4)).toEqual(EXPECTED);
  });

  it('joins data lines, drops one space after the colon, skips comments, unknown fields and a leading BOM', () => {
    const parser = new SseParser();
    const text = '\uFEFFdata:first\ndata:  second\n: a comment\nretry: 10\nfoo: bar\ndata\n\n';
    expect(parser.push(text)).toEqual([{ event: 'message', data: 'first\n second\n' }]);
  });

  it('does not dispatch a frame without data, and an id is the frame’s own', () => {
    const parser = new SseParser();
    expect(parser.push('id: 7\nevent: ping\n\n')).toEqual([]);
    expect(parser.push('event: end\ndata: {}\n\n')).toEqual([{ event: 'end', data: '{}' }]);
  });

  it('reads a body stream and drops a frame cut off by its end', async () => {
    const chunks = [WIRE.slice(0, 30), WIRE.slice(30), 'id: 3\nevent: x\ndata: {"seq":3}'].map((text) => new TextEncoder().encode(text));
    // Multi-byte characters split between chunks are decoded whole.
    const euro = new TextEncoder().encode('data: €\n\n');
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(euro.slice(0, 7));
        controller.enqueue(euro.slice(7));
        for (const chunk of chunks) controller.enqueue(chunk);
        controller.close();
      },
    });
    const frames: SseFrame[] = [];
    for await (const frame of readSse(body)) frames.push(frame);
    expect(frames).toEqual([{ event: 'message', data: '€' }, ...EXPECTED]);
  });
});
