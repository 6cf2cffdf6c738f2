/**
 * stream(): the timeline from a point on, then live events, ending with the session; resumable
 * with `after`, consistent across readers, and stoppable with an AbortSignal.
 */
import type { SessionClient, TimelineEvent } from '../../src/client';
import { quickScript, startHarness, type Harness } from '../support/harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ agent: quickScript() });
});
afterAll(() => h.close());

const T = { timeoutMs: 20_000 };

/** A guard so a broken stream fails the test instead of hanging it; `ended()` says whether it ended on its own. */
function guard(ms = 45_000) {
  const signal = AbortSignal.timeout(ms);
  return { signal, endedOnItsOwn: () => !signal.aborted };
}

async function collect(stream: AsyncIterable<TimelineEvent>): Promise<TimelineEvent[]> {
  const events: TimelineEvent[] = [];
  for await (const event of stream) events.push(event);
  return events;
}

/** Reads from an iterator up to and including the first event of `type`. */
async function readUntil(iterator: AsyncIterator<TimelineEvent>, type: TimelineEvent['type']): Promise<TimelineEvent[]> {
  const events: TimelineEvent[] = [];
  for (;;) {
    const next = await iterator.next();
    if (next.done) throw new Error(`the stream ended before a ${type} event; got ${events.map((e) => e.type).join(', ')}`);
    events.push(next.value);
    if (next.value.type === type) return events;
  }
}

const seqs = (events: TimelineEvent[]) => events.map((e) => e.seq);
const types = (events: TimelineEvent[]) => events.map((e) => e.type);
const oneToN = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
const timeless = ({ time: _time, ...rest }: TimelineEvent) => rest;

async function awaitingApproval(prompt: string): Promise<SessionClient> {
  const session = await h.andon.session({ prompt });
  await session.waitFor('awaitingPlanApproval', T);
  return session;
}

describe('stream', () => {
  it('from 0 yields every event once, in seq order, and ends when the session completes', async () => {
    const session = await h.andon.run({ prompt: 'stream it all' });
    const g = guard();
    const events = await collect(session.stream({ signal: g.signal }));
    expect(g.endedOnItsOwn()).toBe(true);
    expect(seqs(events)).toEqual(oneToN(events.length));
    expect(types(events)).toEqual([
      'sessionCreated',
      'planGenerated',
      'planApproved',
      'progressUpdated',
      'progressUpdated',
      'sessionCompleted',
    ]);
    const { events: stored } = await session.timeline();
    expect(events.map(timeless)).toEqual(stored.map(timeless));
  });

  it('a stream opened before approval sees the events after it, live, and ends with the session', async () => {
    const session = await awaitingApproval('live');
    const g = guard();
    const iterator = session.stream({ signal: g.signal })[Symbol.asyncIterator]();
    const before = await readUntil(iterator, 'planGenerated');
    expect(types(before)).toEqual(['sessionCreated', 'planGenerated']);

    await session.approve({ by: 'test:alice' });
    const after: TimelineEvent[] = [];
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) after.push(next.value);
    expect(g.endedOnItsOwn()).toBe(true);
    expect(types(after)).toEqual(['planApproved', 'progressUpdated', 'progressUpdated', 'sessionCompleted']);
    expect(after[0]).toMatchObject({ by: 'test:alice' });
    expect(seqs([...before, ...after])).toEqual(oneToN(6));
  });

  it('resumes with `after` without gaps or duplicates', async () => {
    const session = await awaitingApproval('resume me');
    // A first reader drops out after the plan...
    const first = session.stream({ signal: guard().signal })[Symbol.asyncIterator]();
    const head = await readUntil(first, 'planGenerated');
    await first.return?.(undefined);
    const lastSeen = head.at(-1)!.seq;

    // ...the session moves on meanwhile (a message, the approval), and the reader comes back.
    await session.ask('status?');
    await session.approve();
    const g = guard();
    const tail = await collect(session.stream({ after: lastSeen, signal: g.signal }));
    expect(g.endedOnItsOwn()).toBe(true);
    expect(tail[0]?.seq).toBe(lastSeen + 1);

    const all = [...head, ...tail];
    expect(seqs(all)).toEqual(oneToN(all.length));
    expect(all.map(timeless)).toEqual((await session.timeline()).events.map(timeless));
    expect(types(tail)).toEqual([
      'userMessaged',
      'agentMessaged',
      'planApproved',
      'progressUpdated',
      'progressUpdated',
      'sessionCompleted',
    ]);

    // After the last event there is nothing more: a stream from there ends at once, empty.
    const h2 = guard();
    await expect(collect(session.stream({ after: all.at(-1)!.seq, signal: h2.signal }))).resolves.toEqual([]);
    expect(h2.endedOnItsOwn()).toBe(true);
  });

  it('ends for a cancelled session, live and after the fact', async () => {
    const session = await awaitingApproval('cancel the stream');
    const g = guard();
    const iterator = session.stream({ signal: g.signal })[Symbol.asyncIterator]();
    await readUntil(iterator, 'planGenerated');
    await session.cancel('not needed', { by: 'test:carol' });
    const rest: TimelineEvent[] = [];
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) rest.push(next.value);
    expect(g.endedOnItsOwn()).toBe(true);
    expect(rest).toEqual([expect.objectContaining({ type: 'sessionCancelled', by: 'test:carol', reason: 'not needed' })]);

    // The workflow has closed; a new stream replays the whole timeline and ends.
    await h.client.workflow.getHandle(session.id).result();
    const again = guard();
    const replay = await collect(session.stream({ signal: again.signal }));
    expect(again.endedOnItsOwn()).toBe(true);
    expect(types(replay)).toEqual(['sessionCreated', 'planGenerated', 'sessionCancelled']);
  });

  it('ends at sessionCompleted even while the follow-up window keeps the workflow open', async () => {
    const session = await h.andon.run({ prompt: 'window open', followUpWindow: 10_000 });
    const g = guard();
    const events = await collect(session.stream({ signal: g.signal }));
    expect(g.endedOnItsOwn()).toBe(true);
    expect(events.at(-1)?.type).toBe('sessionCompleted');
    expect((await h.client.workflow.getHandle(session.id).describe()).status.name).toBe('RUNNING');
  });

  it('gives two concurrent readers the identical sequence', async () => {
    const session = await h.andon.session({ prompt: 'two readers' });
    const g1 = guard();
    const g2 = guard();
    const reading = Promise.all([collect(session.stream({ signal: g1.signal })), collect(session.stream({ signal: g2.signal }))]);
    await session.waitFor('awaitingPlanApproval', T);
    await session.send('hello');
    await session.ask('status?');
    await session.approve();
    const [one, two] = await reading;
    expect(g1.endedOnItsOwn() && g2.endedOnItsOwn()).toBe(true);
    // Compared without `time`: the time of an event recorded right after a local activity (the
    // summary) can differ by a few ms between the run that recorded it and a replay of it.
    expect(one.map(timeless)).toEqual(two.map(timeless));
    expect(seqs(one)).toEqual(oneToN(one.length));
    expect(one.map(timeless)).toEqual((await session.timeline()).events.map(timeless));
    // Replies run beside the session, so the second message may be recorded before the first
    // reply: what is fixed is the order of each side and the pairing.
    const chat = ['userMessaged', 'agentMessaged'];
    expect(types(one).filter((t) => !chat.includes(t))).toEqual([
      'sessionCreated',
      'planGenerated',
      'planApproved',
      'progressUpdated',
      'progressUpdated',
      'sessionCompleted',
    ]);
    const asked = one.flatMap((e) => (e.type === 'userMessaged' ? [e] : []));
    const answered = one.flatMap((e) => (e.type === 'agentMessaged' ? [e] : []));
    expect(asked.map((e) => e.message)).toEqual(['hello', 'status?']);
    expect(answered.map((e) => e.inReplyTo)).toEqual(asked.map((e) => e.messageId));
  });

  it('stops when its AbortSignal aborts, even while waiting for the next event', async () => {
    const session = await awaitingApproval('abort me');
    const controller = new AbortController();
    const iterator = session.stream({ signal: controller.signal })[Symbol.asyncIterator]();
    await readUntil(iterator, 'planGenerated');
    // Nothing more will happen until someone approves: the reader is waiting.
    const pending = iterator.next();
    const started = Date.now();
    controller.abort();
    await expect(pending).resolves.toEqual({ done: true, value: undefined });
    expect(Date.now() - started).toBeLessThan(2_000);
    await expect(iterator.next()).resolves.toMatchObject({ done: true });
    // The session is unaffected.
    expect((await session.info()).state).toBe('awaitingPlanApproval');
    await session.cancel('done testing');
  });

  it('stops when its AbortSignal aborts between events', async () => {
    const session = await awaitingApproval('abort between events');
    const controller = new AbortController();
    const iterator = session.stream({ signal: controller.signal })[Symbol.asyncIterator]();
    await readUntil(iterator, 'planGenerated');
    controller.abort();
    const started = Date.now();
    await expect(iterator.next()).resolves.toEqual({ done: true, value: undefined });
    expect(Date.now() - started).toBeLessThan(2_000);
    await session.cancel('done testing');
  });

  it('yields nothing for an AbortSignal that has already aborted', async () => {
    const session = await awaitingApproval('aborted before start');
    const started = Date.now();
    await expect(collect(session.stream({ signal: AbortSignal.abort() }))).resolves.toEqual([]);
    expect(Date.now() - started).toBeLessThan(2_000);
    await session.cancel('done testing');
  });
});

describe('many watchers', () => {
  it('twenty streams on one session each see every event, and approval goes through while they watch', async () => {
    const session = await h.andon.session({ prompt: 'watched by many' });
    await session.waitFor('awaitingPlanApproval', T);
    const watchers = Array.from({ length: 20 }, () => {
      const g = guard();
      return { g, events: collect(session.stream({ signal: g.signal })) };
    });
    const approved = await session.approve();
    expect(approved.state).toBe('inProgress');
    await session.result(T);
    const seen = await Promise.all(watchers.map((w) => w.events));
    const expected = seqs((await session.timeline()).events);
    for (const [i, events] of seen.entries()) {
      expect(watchers[i]?.g.endedOnItsOwn()).toBe(true);
      expect(seqs(events)).toEqual(expected);
    }
  });
});
