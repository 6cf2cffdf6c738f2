/**
 * The SSE side of the fan-out without HTTP: frame encoding, and SseConnection's per-client
 * backpressure over plain Writables (a fast client, a stuck one, a slow one).
 */
import { Writable } from 'node:stream';
import { SessionNotFoundError } from '../../src/client/errors';
import { SessionFeeds, SseConnection, endFrame, errorFrame, eventFrame, type FeedItem, type TimelineSource } from '../../src/service/feed';
import type { TimelineEvent } from '../../src/session/schema';

function ev(seq: number, title = `step ${seq}`): TimelineEvent {
  return { seq, type: 'progressUpdated', time: '2025-01-01T00:00:00.000Z', originator: 'agent', title, description: '', artifacts: [] };
}
const item = (event: TimelineEvent): FeedItem => ({ seq: event.seq, type: event.type, frame: eventFrame(event) });
const settle = () => new Promise((resolve) => setImmediate(resolve));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A client that reads everything at once. */
function fastClient() {
  const chunks: Buffer[] = [];
  const out = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk);
      callback();
    },
  });
  return { out, text: () => Buffer.concat(chunks).toString() };
}

/** A client that stops reading: the first write never completes, the rest pile up. */
function stuckClient() {
  return new Writable({ highWaterMark: 1024, write: () => undefined });
}

/** A client that reads only when told to. */
function slowClient() {
  const pending: Array<() => void> = [];
  const chunks: Buffer[] = [];
  const out = new Writable({
    highWaterMark: 64,
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk);
      pending.push(callback);
    },
  });
  return {
    out,
    text: () => Buffer.concat(chunks).toString(),
    /** Completes every write so far, until the stream stops asking. */
    async drain() {
      while (pending.length) {
        pending.shift()!();
        await settle();
      }
    },
  };
}

describe('SSE frames', () => {
  it('encode an event as id, event and one data line of JSON', () => {
    const event = ev(7, 'two\nlines');
    const text = eventFrame(event).toString();
    expect(text).toBe(`id: 7\nevent: progressUpdated\ndata: ${JSON.stringify(event)}\n\n`);
    expect(text.split('\n')).toHaveLength(5);
    expect(endFrame(7).toString()).toBe('event: end\ndata: {"lastSeq":7}\n\n');
    expect(errorFrame({ code: 'unavailable', message: 'down' }).toString()).toBe(
      'event: error\ndata: {"error":{"code":"unavailable","message":"down"}}\n\n',
    );
  });
});

describe('SseConnection', () => {
  it('queues frames until started, then writes them in order and ends after `end`', async () => {
    const client = fastClient();
    const connection = new SseConnection(client.out);
    connection.event(item(ev(1)));
    connection.event(item(ev(2)));
    expect(client.text()).toBe('');
    connection.start();
    connection.end(2);
    await settle();
    expect(client.text()).toBe(eventFrame(ev(1)).toString() + eventFrame(ev(2)).toString() + endFrame(2).toString());
    expect(client.out.writableEnded).toBe(true);
    expect(connection.closed).toBe(true);
  });

  it('writes nothing if it is destroyed before it starts (the request was answered with an error)', async () => {
    const client = fastClient();
    const onClose = jest.fn();
    const connection = new SseConnection(client.out, { onClose });
    connection.event(item(ev(1)));
    connection.fail(new SessionNotFoundError('x'));
    connection.destroy();
    connection.start();
    await settle();
    expect(client.text()).toBe('');
    expect(onClose).toHaveBeenCalledTimes(1);
  });

  it('ends with an error frame when the reader fails', async () => {
    const client = fastClient();
    const connection = new SseConnection(client.out);
    connection.start();
    connection.fail(new SessionNotFoundError('gone'));
    await settle();
    expect(client.text()).toBe(errorFrame({ code: 'not_found', message: 'session gone not found' }).toString());
    expect(client.out.writableEnded).toBe(true);
  });

  it('holds frames while the client is slow and sends them, in order, as it drains', async () => {
    const client = slowClient();
    const connection = new SseConnection(client.out, { maxBufferedBytes: 1_000_000 });
    connection.start();
    for (let seq = 1; seq <= 20; seq++) connection.event(item(ev(seq)));
    // The socket said "full" after the first frames: the rest wait in the connection's queue.
    expect(connection.bufferedBytes).toBeGreaterThan(0);
    expect(client.out.writableLength).toBeLessThan(eventFrame(ev(1)).length * 3);
    await client.drain();
    const expected = Array.from({ length: 20 }, (_, i) => eventFrame(ev(i + 1)).toString()).join('');
    expect(client.text()).toBe(expected);
    expect(connection.bufferedBytes).toBe(0);
    expect(connection.dropped).toBe(false);
    connection.destroy();
  });

  it('sends `: keep-alive` comments while idle', async () => {
    const client = fastClient();
    const connection = new SseConnection(client.out, { heartbeatMs: 10 });
    connection.start();
    await sleep(60);
    connection.destroy();
    expect(client.text()).toMatch(/^(: keep-alive\n\n)+$/);
  });

  it('stops its heartbeat and reports the close when the client goes away', async () => {
    const client = fastClient();
    const onClose = jest.fn();
    const connection = new SseConnection(client.out, { heartbeatMs: 5, onClose });
    connection.start();
    client.out.destroy();
    await settle();
    expect(onClose).toHaveBeenCalledTimes(1);
    expect(connection.closed).toBe(true);
    const before = client.text();
    await sleep(30);
    expect(client.text()).toBe(before);
  });
});

describe('a slow subscriber among fast ones', () => {
  it('is dropped once its unsent bytes pass the bound; the others get every event', async () => {
    let push!: (event: TimelineEvent) => void;
    const source: TimelineSource = async function* (_id, signal) {
      const queue: TimelineEvent[] = [];
      let wake: (() => void) | undefined;
      push = (event) => (queue.push(event), wake?.());
      signal.addEventListener('abort', () => wake?.());
      while (!signal.aborted) {
        if (queue.length) yield queue.shift()!;
        else await new Promise<void>((resolve) => (wake = resolve));
      }
    };
    const feeds = new SessionFeeds({ source, lingerMs: 10 });

    const stuck = stuckClient();
    const stuckClose = jest.fn();
    // As the service does: a connection that closes leaves the feed.
    const stuckConnection = new SseConnection(stuck, { maxBufferedBytes: 4_000, onClose: () => (stuckClose(), stuckSub.unsubscribe()) });
    const stuckSub = feeds.subscribe('s', 0, stuckConnection);
    stuckConnection.start();

    const fast = Array.from({ length: 3 }, () => fastClient());
    for (const client of fast) {
      const connection = new SseConnection(client.out, { maxBufferedBytes: 4_000 });
      feeds.subscribe('s', 0, connection);
      connection.start();
    }
    await settle();

    const events = Array.from({ length: 100 }, (_, i) => ev(i + 1));
    for (const event of events) {
      push(event);
      await settle();
    }

    expect(stuckConnection.dropped).toBe(true);
    expect(stuck.destroyed).toBe(true);
    expect(stuckClose).toHaveBeenCalledTimes(1);
    expect(feeds.get('s')?.subscriberCount).toBe(3);

    const expected = events.map((e) => eventFrame(e).toString()).join('');
    for (const client of fast) expect(client.text()).toBe(expected);
    feeds.close();
  });
});
