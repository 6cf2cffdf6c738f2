/**
 * GET /v1/sessions/:id/events over real HTTP on loopback, against the real dev server and a
 * worker: a fastify app with the events plugin (and the service's error handler, which owns the
 * JSON error shape), read with fetch and a small SSE parser.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import type { SessionClient, TimelineEvent } from '../../src/client';
import { errorsPlugin } from '../../src/service/error-handler';
import { eventsPlugin } from '../../src/service/events';
import { SessionFeeds, type TimelineSource } from '../../src/service/feed';
import { quickScript, startHarness, type Harness } from '../support/harness';
import { at } from '../support/at';

const LINGER_MS = 300;
const HEARTBEAT_MS = 200;
const T = { timeoutMs: 20_000 };

let h: Harness;
let app: FastifyInstance;
let base: string;
let feeds: SessionFeeds;
/** Every Temporal reader the feeds started: the session id and its abort signal. */
const readers: Array<{ sessionId: string; signal: AbortSignal }> = [];

beforeAll(async () => {
  h = await startHarness({ agent: quickScript() });
  const source: TimelineSource = (sessionId, signal) => {
    readers.push({ sessionId, signal });
    return h.andon.session(sessionId).stream({ after: 0, signal });
  };
  feeds = new SessionFeeds({ source, lingerMs: LINGER_MS });
  // fetch's connection pool may hold a connection it never sent a request on, which an
  // orderly close would wait on until the server's headers timeout.
  app = Fastify({ logger: false, forceCloseConnections: true });
  await app.register(errorsPlugin, { retryAfterSeconds: 1 });
  await app.register(eventsPlugin, { andon: h.andon, feeds, heartbeatMs: HEARTBEAT_MS });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('no address');
  base = `http://127.0.0.1:${address.port}`;
});

afterAll(async () => {
  feeds.close();
  await app?.close();
  await h?.close();
});

// -----------------------------------------------------------------------------------------------
// A minimal SSE client

interface Frame {
  id?: string;
  event: string;
  data: string;
}

class SseStream {
  comments = 0;
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private readonly decoder = new TextDecoder();
  private buffer = '';
  private frame: { id?: string; event?: string; data: string[] } = { data: [] };
  private readonly frames: Frame[] = [];
  private done = false;

  constructor(
    readonly response: Response,
    private readonly controller: AbortController,
  ) {
    this.reader = response.body!.getReader();
  }

  /** The next frame; undefined once the server has closed the stream. */
  async next(): Promise<Frame | undefined> {
    while (this.frames.length === 0) {
      if (this.done) return undefined;
      const { value, done } = await this.reader.read();
      if (done) this.done = true;
      else this.parse(this.decoder.decode(value, { stream: true }));
    }
    return this.frames.shift();
  }

  /** Frames up to and including the first of `event`. */
  async until(event: string): Promise<Frame[]> {
    const frames: Frame[] = [];
    for (;;) {
      const frame = await this.next();
      if (!frame) throw new Error(`the stream closed before "${event}"; got ${frames.map((f) => f.event).join(', ')}`);
      frames.push(frame);
      if (frame.event === event) return frames;
    }
  }

  /** Every frame until the server closes the stream. */
  async rest(): Promise<Frame[]> {
    const frames: Frame[] = [];
    for (let frame = await this.next(); frame; frame = await this.next()) frames.push(frame);
    return frames;
  }

  /** Drops the connection, as a client that goes away does. */
  drop(): void {
    this.controller.abort();
    this.reader.cancel().catch(() => undefined);
  }

  private parse(text: string): void {
    this.buffer += text;
    for (let nl = this.buffer.indexOf('\n'); nl >= 0; nl = this.buffer.indexOf('\n')) {
      const line = this.buffer.slice(0, nl).replace(/\r$/, '');
      this.buffer = this.buffer.slice(nl + 1);
      if (line === '') {
        if (this.frame.data.length > 0 || this.frame.event) {
          this.frames.push({ id: this.frame.id, event: this.frame.event ?? 'message', data: this.frame.data.join('\n') });
        }
        this.frame = { data: [] };
      } else if (line.startsWith(':')) {
        this.comments++;
      } else {
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'data') this.frame.data.push(value);
        else if (field === 'event') this.frame.event = value;
        else if (field === 'id') this.frame.id = value;
      }
    }
  }
}

async function open(sessionId: string, options: { lastEventId?: number; query?: string; base?: string } = {}): Promise<SseStream> {
  const controller = new AbortController();
  const timeout = setTimeout(() => controller.abort(), 30_000);
  timeout.unref();
  const response = await fetch(`${options.base ?? base}/v1/sessions/${encodeURIComponent(sessionId)}/events${options.query ?? ''}`, {
    headers: {
      accept: 'text/event-stream',
      ...(options.lastEventId !== undefined ? { 'last-event-id': String(options.lastEventId) } : {}),
    },
    signal: controller.signal,
  });
  if (response.status !== 200) throw new Error(`status ${response.status}: ${await response.text()}`);
  return new SseStream(response, controller);
}

const events = (frames: Frame[]) => frames.filter((f) => f.event !== 'end' && f.event !== 'error');
const parsed = (frames: Frame[]) => events(frames).map((f) => JSON.parse(f.data) as TimelineEvent);
const ids = (frames: Frame[]) => events(frames).map((f) => Number(f.id));
const types = (frames: Frame[]) => frames.map((f) => f.event);
const oneToN = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
const timeless = ({ time: _time, ...rest }: TimelineEvent) => rest;
const readersOf = (sessionId: string) => readers.filter((r) => r.sessionId === sessionId);

async function awaitingApproval(prompt: string): Promise<SessionClient> {
  const session = await h.andon.session({ prompt });
  await session.waitFor('awaitingPlanApproval', T);
  return session;
}

async function eventually(check: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function timed<T>(fn: () => Promise<T>): Promise<number> {
  const started = performance.now();
  await fn();
  return performance.now() - started;
}

// -----------------------------------------------------------------------------------------------

describe('GET /v1/sessions/:id/events', () => {
  it('sends the backlog, then live events while the session is approved, then `end`, and closes', async () => {
    const session = await awaitingApproval('watch me');
    const stream = await open(session.id);
    expect(stream.response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(stream.response.headers.get('cache-control')).toContain('no-cache');

    const backlog = await stream.until('planGenerated');
    expect(types(backlog)).toEqual(['sessionCreated', 'planGenerated']);
    expect(ids(backlog)).toEqual([1, 2]);

    await session.approve({ by: 'test:alice' });
    const live = await stream.rest();
    expect(types(live)).toEqual(['planApproved', 'progressUpdated', 'progressUpdated', 'sessionCompleted', 'end']);
    expect(parsed(live)[0]).toMatchObject({ type: 'planApproved', by: 'test:alice', seq: 3 });
    expect(live.at(-1)).toEqual({ id: undefined, event: 'end', data: JSON.stringify({ lastSeq: 6 }) });

    const all = [...backlog, ...live];
    expect(ids(all)).toEqual(oneToN(6));
    expect(parsed(all).map(timeless)).toEqual((await session.timeline()).events.map(timeless));
  });

  it('keeps an idle stream open with `: keep-alive` comments', async () => {
    const session = await awaitingApproval('idle watcher');
    const stream = await open(session.id);
    await stream.until('planGenerated');
    const reading = stream.next();
    await new Promise((resolve) => setTimeout(resolve, HEARTBEAT_MS * 3));
    expect(stream.comments).toBeGreaterThanOrEqual(2);
    await session.cancel('done watching');
    await expect(reading).resolves.toMatchObject({ event: 'sessionCancelled' });
    await expect(stream.next()).resolves.toMatchObject({ event: 'end' });
    await expect(stream.next()).resolves.toBeUndefined();
  });

  it('resumes after a dropped connection from Last-Event-ID without gaps or duplicates', async () => {
    const session = await awaitingApproval('resume me');
    const first = await open(session.id);
    const head = await first.until('planGenerated');
    first.drop();
    const lastId = Number(head.at(-1)!.id);

    // The session moves on while the watcher is away...
    await session.ask('status?');
    await session.approve();
    await session.result(T);

    // ...and the watcher comes back, as an EventSource does, with the last id it saw.
    const second = await open(session.id, { lastEventId: lastId });
    const tail = await second.rest();
    expect(Number(tail[0]?.id)).toBe(lastId + 1);
    expect(types(tail)).toEqual([
      'userMessaged',
      'agentMessaged',
      'planApproved',
      'progressUpdated',
      'progressUpdated',
      'sessionCompleted',
      'end',
    ]);

    const all = [...head, ...tail];
    expect(ids(all)).toEqual(oneToN(events(all).length));
    expect(parsed(all).map(timeless)).toEqual((await session.timeline()).events.map(timeless));

    // `?after=` does the same for clients that choose where to start; the header wins over it.
    const fromQuery = await (await open(session.id, { query: '?after=6' })).rest();
    expect(ids(fromQuery)).toEqual([7, 8]);
    const headerWins = await (await open(session.id, { query: '?after=1', lastEventId: 7 })).rest();
    expect(ids(headerWins)).toEqual([8]);
    expect(types(headerWins)).toEqual(['sessionCompleted', 'end']);
  });

  it('answers 404 with the JSON error for an unknown session, before any stream bytes', async () => {
    const response = await fetch(`${base}/v1/sessions/no-such-session-${Date.now()}/events`, { headers: { accept: 'text/event-stream' } });
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await response.json()).toEqual({ error: { code: 'not_found', message: expect.stringContaining('not found') } });
  });

  it('answers 400 for a Last-Event-ID that is not a seq', async () => {
    const session = await awaitingApproval('bad resume');
    const response = await fetch(`${base}/v1/sessions/${session.id}/events`, { headers: { 'last-event-id': 'yesterday' } });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { code: 'invalid_argument', field: 'Last-Event-ID' } });
    await session.cancel('done');
  });

  it('100 concurrent watchers of one session get the identical full sequence, from one reader, and approval stays fast', async () => {
    // The baseline: approving a session nobody watches.
    const unwatched = await awaitingApproval('nobody watches');
    const baselineMs = await timed(() => unwatched.approve());

    const session = await awaitingApproval('watched by a hundred');
    const watchers = await Promise.all(Array.from({ length: 100 }, () => open(session.id)));
    // Every watcher is connected and has its backlog before the approval.
    await Promise.all(watchers.map((w) => w.until('planGenerated')));

    const watchedMs = await timed(() => session.approve());
    const rests = await Promise.all(watchers.map((w) => w.rest()));

    const expected = (await session.timeline()).events;
    const first = at(rests, 0);
    expect(types(first)).toEqual(['planApproved', 'progressUpdated', 'progressUpdated', 'sessionCompleted', 'end']);
    for (const rest of rests) expect(rest).toEqual(first);
    expect(ids(first)).toEqual(expected.slice(2).map((e) => e.seq));
    expect(parsed(first).map(timeless)).toEqual(expected.slice(2).map(timeless));

    // One Temporal reader for all of them.
    expect(readersOf(session.id)).toHaveLength(1);
    // Generous: the point is that a hundred watchers do not turn into a hundred readers in line before the approval.
    expect(watchedMs).toBeLessThan(baselineMs * 5 + 1_000);
    await unwatched.result(T);
  });

  it('releases the reader when the last watcher disconnects, after the linger', async () => {
    const session = await awaitingApproval('watch and leave');
    const a = await open(session.id);
    const b = await open(session.id);
    await Promise.all([a.until('planGenerated'), b.until('planGenerated')]);
    expect(feeds.get(session.id)?.subscriberCount).toBe(2);
    const reader = at(readersOf(session.id), 0);

    a.drop();
    await eventually(() => feeds.get(session.id)?.subscriberCount === 1);
    b.drop();
    await eventually(() => feeds.get(session.id)?.subscriberCount === 0);
    // Lingering: a reconnect right away would reuse it.
    expect(reader.signal.aborted).toBe(false);

    await eventually(() => feeds.get(session.id) === undefined, LINGER_MS * 10);
    expect(reader.signal.aborted).toBe(true);
    expect(readersOf(session.id)).toHaveLength(1);

    // The session is untouched, and a new watcher starts a new reader.
    const c = await open(session.id, { lastEventId: 2 });
    await session.cancel('done');
    expect(types(await c.rest())).toEqual(['sessionCancelled', 'end']);
    expect(readersOf(session.id)).toHaveLength(2);
  });

  it('ends open streams with an `error` frame when the service shuts down, so clients reconnect elsewhere', async () => {
    const session = await awaitingApproval('watched through a restart');
    const other = Fastify({ logger: false, forceCloseConnections: true });
    await other.register(errorsPlugin, { retryAfterSeconds: 1 });
    await other.register(eventsPlugin, { andon: h.andon });
    await other.listen({ port: 0, host: '127.0.0.1' });
    const stream = await open(session.id, { base: `http://127.0.0.1:${(other.server.address() as { port: number }).port}` });
    await stream.until('planGenerated');

    const closing = other.close();
    const rest = await stream.rest();
    expect(types(rest)).toEqual(['error']);
    expect(JSON.parse(at(rest, 0).data)).toEqual({ error: { code: 'unavailable', message: 'the service is shutting down' } });
    await closing;
    await session.cancel('done');
  });
});
