/**
 * The fan-out of live timelines without Temporal: a fake timeline source stands in for
 * `session.stream()`, so each test decides exactly when events arrive, end or fail.
 */
import { SessionNotFoundError, UnavailableError } from '../../src/client/errors';
import { SessionFeeds, type FeedItem, type Subscriber, type TimelineSource } from '../../src/service/feed';
import type { TimelineEvent } from '../../src/session/schema';
import { first } from '../support/at';

/** One reader the feed started: the test pushes events into it, ends it or fails it. */
class FakeReader {
  private readonly queue: Array<{ event: TimelineEvent } | { end: true } | { error: unknown }> = [];
  private wake: (() => void) | undefined;

  constructor(
    readonly sessionId: string,
    readonly signal: AbortSignal,
  ) {
    signal.addEventListener('abort', () => this.wake?.());
  }

  push(...events: TimelineEvent[]): void {
    for (const event of events) this.queue.push({ event });
    this.wake?.();
  }
  end(): void {
    this.queue.push({ end: true });
    this.wake?.();
  }
  fail(error: unknown): void {
    this.queue.push({ error });
    this.wake?.();
  }

  async *iterate(): AsyncGenerator<TimelineEvent> {
    for (;;) {
      if (this.signal.aborted) return;
      const next = this.queue.shift();
      if (!next) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        continue;
      }
      if ('end' in next) return;
      if ('error' in next) throw next.error;
      yield next.event;
    }
  }
}

class FakeTimeline {
  readonly readers: FakeReader[] = [];
  readonly source: TimelineSource = (sessionId, signal) => {
    const reader = new FakeReader(sessionId, signal);
    this.readers.push(reader);
    return reader.iterate();
  };
  readersOf(sessionId: string): FakeReader[] {
    return this.readers.filter((r) => r.sessionId === sessionId);
  }
  last(): FakeReader {
    return this.readers.at(-1)!;
  }
}

/** A subscriber that records what it is told. */
class Recorder implements Subscriber {
  readonly seqs: number[] = [];
  ended: number | undefined;
  failed: unknown;
  event(item: FeedItem): void {
    this.seqs.push(item.seq);
  }
  end(lastSeq: number): void {
    this.ended = lastSeq;
  }
  fail(error: unknown): void {
    this.failed = error;
  }
}

function ev(seq: number, type: TimelineEvent['type'] = 'progressUpdated'): TimelineEvent {
  if (type === 'sessionCompleted') return { seq, type, time: new Date(0).toISOString(), originator: 'agent', summary: 'done', outputs: [] };
  return {
    seq,
    type: 'progressUpdated',
    time: new Date(0).toISOString(),
    originator: 'agent',
    title: `step ${seq}`,
    description: '',
    artifacts: [],
  };
}

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
/** Lets the feed's reader loop take what was pushed. */
const settle = () => new Promise((resolve) => setImmediate(resolve));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let timeline: FakeTimeline;
let feeds: SessionFeeds;
beforeEach(() => {
  timeline = new FakeTimeline();
  feeds = new SessionFeeds({ source: timeline.source, lingerMs: 50 });
});
afterEach(() => feeds.close());

describe('SessionFeeds', () => {
  it('serves the backlog after Last-Event-ID from memory, then live events, each once and in order', async () => {
    const first = new Recorder();
    feeds.subscribe('s1', 0, first);
    await settle();
    timeline.last().push(...range(1, 5).map((seq) => ev(seq)));
    await settle();
    expect(first.seqs).toEqual([1, 2, 3, 4, 5]);

    const resumed = new Recorder();
    const fresh = new Recorder();
    const ahead = new Recorder();
    feeds.subscribe('s1', 3, resumed);
    feeds.subscribe('s1', 0, fresh);
    feeds.subscribe('s1', 99, ahead);
    // The backlog is synchronous: nothing can fall between it and the live events.
    expect(resumed.seqs).toEqual([4, 5]);
    expect(fresh.seqs).toEqual([1, 2, 3, 4, 5]);

    timeline.last().push(ev(6), ev(7));
    await settle();
    expect(first.seqs).toEqual(range(1, 7));
    expect(resumed.seqs).toEqual([4, 5, 6, 7]);
    expect(fresh.seqs).toEqual(range(1, 7));
    expect(ahead.seqs).toEqual([]);
    expect(timeline.readers).toHaveLength(1);
  });

  it('runs one reader for N subscribers of a session, and one per session', async () => {
    const recorders = Array.from({ length: 100 }, () => new Recorder());
    for (const r of recorders) feeds.subscribe('busy', 0, r);
    feeds.subscribe('other', 0, new Recorder());
    await settle();
    expect(timeline.readersOf('busy')).toHaveLength(1);
    expect(timeline.readersOf('other')).toHaveLength(1);
    expect(feeds.size).toBe(2);
    expect(feeds.get('busy')?.subscriberCount).toBe(100);

    first(timeline.readersOf('busy')).push(ev(1), ev(2), ev(3, 'sessionCompleted'));
    first(timeline.readersOf('busy')).end();
    await settle();
    for (const r of recorders) {
      expect(r.seqs).toEqual([1, 2, 3]);
      expect(r.ended).toBe(3);
    }
  });

  it('drops a repeated seq from the source', async () => {
    const r = new Recorder();
    feeds.subscribe('s', 0, r);
    await settle();
    timeline.last().push(ev(1), ev(2), ev(2), ev(1), ev(3));
    await settle();
    expect(r.seqs).toEqual([1, 2, 3]);
  });

  it('is ready once the session has been read, and not before', async () => {
    const sub = feeds.subscribe('s', 0, new Recorder());
    let ready = false;
    void sub.ready.then(() => (ready = true));
    await settle();
    expect(ready).toBe(false);
    timeline.last().push(ev(1));
    await settle();
    expect(ready).toBe(true);
  });

  it('keeps the reader for a linger after the last subscriber leaves, so a reconnect reuses it', async () => {
    const a = feeds.subscribe('s', 0, new Recorder());
    await settle();
    timeline.last().push(ev(1), ev(2));
    await settle();
    a.unsubscribe();
    a.unsubscribe(); // idempotent

    await sleep(10);
    const back = new Recorder();
    const b = feeds.subscribe('s', 1, back);
    expect(back.seqs).toEqual([2]);
    expect(timeline.readers).toHaveLength(1);
    expect(timeline.last().signal.aborted).toBe(false);

    // Past the linger with nobody left, the reader stops and the registry forgets the feed.
    b.unsubscribe();
    await sleep(120);
    expect(timeline.readers[0]?.signal.aborted).toBe(true);
    expect(feeds.size).toBe(0);

    // The next subscriber starts a new reader, from the first event.
    const again = new Recorder();
    feeds.subscribe('s', 1, again);
    await settle();
    expect(timeline.readers).toHaveLength(2);
    timeline.last().push(ev(1), ev(2), ev(3));
    await settle();
    expect(again.seqs).toEqual([2, 3]);
  });

  it('ends every subscriber after the ending event; later subscribers get the backlog and the end', async () => {
    const live = new Recorder();
    feeds.subscribe('s', 0, live);
    await settle();
    timeline.last().push(ev(1), ev(2, 'sessionCompleted'));
    timeline.last().end();
    await settle();
    expect(live).toMatchObject({ seqs: [1, 2], ended: 2 });
    expect(feeds.get('s')?.subscriberCount).toBe(0);

    const late = new Recorder();
    const sub = feeds.subscribe('s', 1, late);
    await expect(sub.ready).resolves.toBeUndefined();
    expect(late).toMatchObject({ seqs: [2], ended: 2 });
    expect(timeline.readers).toHaveLength(1);

    await sleep(120);
    expect(feeds.size).toBe(0);
  });

  it('fails subscribers when the reader fails, and the next subscriber restarts it', async () => {
    const a = new Recorder();
    const b = new Recorder();
    feeds.subscribe('s', 0, a);
    feeds.subscribe('s', 0, b);
    await settle();
    timeline.last().push(ev(1));
    await settle();
    const down = new UnavailableError('Temporal is unreachable');
    timeline.last().fail(down);
    await settle();
    expect(a.failed).toBe(down);
    expect(b.failed).toBe(down);
    expect(feeds.size).toBe(0);

    const c = new Recorder();
    feeds.subscribe('s', 1, c);
    await settle();
    expect(timeline.readers).toHaveLength(2);
    timeline.last().push(ev(1), ev(2));
    await settle();
    expect(c.seqs).toEqual([2]);
  });

  it('rejects `ready` when the session cannot be read at all (unknown session)', async () => {
    const r = new Recorder();
    const sub = feeds.subscribe('nope', 0, r);
    await settle();
    timeline.last().fail(new SessionNotFoundError('nope'));
    await expect(sub.ready).rejects.toThrow(SessionNotFoundError);
    expect(SessionNotFoundError.isInstance(r.failed)).toBe(true);
    expect(feeds.size).toBe(0);
  });

  it('cuts off a subscriber that throws without stopping the others', async () => {
    const good = new Recorder();
    const bad: Subscriber = {
      event: () => {
        throw new Error('broken pipe');
      },
      end: () => undefined,
      fail: () => undefined,
    };
    feeds.subscribe('s', 0, bad);
    feeds.subscribe('s', 0, good);
    await settle();
    timeline.last().push(ev(1), ev(2));
    await settle();
    expect(good.seqs).toEqual([1, 2]);
    expect(feeds.get('s')?.subscriberCount).toBe(1);
  });

  it('close() stops every reader and fails their subscribers', async () => {
    const r = new Recorder();
    feeds.subscribe('s', 0, r);
    await settle();
    const reason = new UnavailableError('shutting down');
    feeds.close(reason);
    await settle();
    expect(r.failed).toBe(reason);
    expect(timeline.last().signal.aborted).toBe(true);
    expect(feeds.size).toBe(0);
  });
});
