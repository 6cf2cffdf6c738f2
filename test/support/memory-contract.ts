/**
 * The MemoryStore contract (src/memory/store.ts) as tests, run against every store: SQLite with
 * FTS5 and with its word-overlap fallback (memory-store.test.ts), PostgreSQL (memory-postgres.test.ts).
 *
 * `open(place)` opens a store on `place`: a name unique to the test (a file, a table...). Opening
 * the same place again is a restart: a new store on the same data. The contract closes what it opens.
 */
import { MemoryValidationError, type MemoryStore, type NewMemory } from '../../src/memory';

export const entry = (overrides: Partial<NewMemory> = {}): NewMemory => ({
  scope: 'session',
  key: 's-1',
  content: 'checkout-api logs rotate at midnight',
  sessionId: 's-1',
  ...overrides,
});

export const contents = (memories: { content: string }[]) => memories.map((memory) => memory.content);

let places = 0;

export function memoryStoreContract(open: (place: string) => MemoryStore | Promise<MemoryStore>): void {
  let place: string;
  let store: MemoryStore;

  beforeEach(async () => {
    place = `m${process.pid}_${++places}`;
    store = await open(place);
  });

  afterEach(async () => {
    await store.close();
  });

  it('writes an entry with an id and a creation time', async () => {
    const memory = await store.write(entry({ by: 'alice' }));
    expect(memory).toMatchObject({
      scope: 'session',
      key: 's-1',
      content: 'checkout-api logs rotate at midnight',
      by: 'alice',
      sessionId: 's-1',
    });
    expect(memory.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(Number.isNaN(Date.parse(memory.createdAt))).toBe(false);
    const [recalled] = await store.recall({ sessionId: 's-1', agent: 'runbook', text: '' });
    expect(recalled).toEqual(memory);
    // No `by`: none recalled either.
    const anonymous = await store.write(entry({ content: 'no author' }));
    expect(anonymous).not.toHaveProperty('by');
    expect((await store.recall({ sessionId: 's-1', agent: 'runbook', text: '' }))[0]).toEqual(anonymous);
  });

  it('recalls session entries only in their session, agent and service entries across sessions', async () => {
    await store.write(entry({ scope: 'session', key: 's-1', content: 'session one note', sessionId: 's-1' }));
    await store.write(entry({ scope: 'session', key: 's-2', content: 'session two note', sessionId: 's-2' }));
    await store.write(entry({ scope: 'agent', key: 'runbook', content: 'runbook agent note', sessionId: 's-1' }));
    await store.write(entry({ scope: 'agent', key: 'llm', content: 'llm agent note', sessionId: 's-2' }));
    await store.write(entry({ scope: 'service', key: 'checkout-api', content: 'checkout note', sessionId: 's-2' }));
    await store.write(entry({ scope: 'service', key: 'billing', content: 'billing note', sessionId: 's-1' }));

    const s3 = await store.recall({ sessionId: 's-3', agent: 'runbook', service: 'checkout-api', text: 'note' });
    expect(contents(s3).sort()).toEqual(['checkout note', 'runbook agent note']);

    const s1 = await store.recall({ sessionId: 's-1', agent: 'runbook', text: 'note' });
    expect(contents(s1).sort()).toEqual(['runbook agent note', 'session one note']);

    const s2 = await store.recall({ sessionId: 's-2', agent: 'llm', service: 'billing', text: 'note' });
    expect(contents(s2).sort()).toEqual(['billing note', 'llm agent note', 'session two note']);

    expect(await store.recall({ sessionId: 's-9', agent: 'other', service: 'other', text: 'note' })).toEqual([]);
  });

  it('does not confuse a key of one scope with another scope', async () => {
    // A service named like the agent, a session id equal to a service name.
    await store.write(entry({ scope: 'service', key: 'runbook', content: 'service called runbook' }));
    await store.write(entry({ scope: 'session', key: 'checkout-api', content: 'session called checkout-api', sessionId: 'checkout-api' }));
    expect(await store.recall({ sessionId: 's-1', agent: 'runbook', service: 'checkout-api', text: '' })).toEqual([]);
  });

  it('ranks by shared words, whatever their case, then newest first', async () => {
    const scope = { scope: 'service' as const, key: 'checkout-api' };
    await store.write(entry({ ...scope, content: 'the disk filled up on db-2' }));
    await store.write(entry({ ...scope, content: 'error spike after deploy: roll back the deploy' }));
    await store.write(entry({ ...scope, content: 'error rate alerts are noisy at night' }));
    await store.write(entry({ ...scope, content: 'unrelated: the coffee machine' }));
    await store.write(entry({ scope: 'session', key: 's-2', content: 'error spike after deploy in another session', sessionId: 's-2' }));

    const ranked = await store.recall({
      sessionId: 's-9',
      agent: 'runbook',
      service: 'checkout-api',
      text: 'checkout-api Error spike after DEPLOY',
    });
    expect(contents(ranked)[0]).toBe('error spike after deploy: roll back the deploy');
    expect(contents(ranked)[1]).toBe('error rate alerts are noisy at night');
    // Entries sharing no word still come, after the others, newest first.
    expect(contents(ranked).slice(2)).toEqual(['unrelated: the coffee machine', 'the disk filled up on db-2']);
    // The limit keeps the best.
    expect(
      contents(await store.recall({ sessionId: 's-9', agent: 'runbook', service: 'checkout-api', text: 'DB-2 disk', limit: 1 })),
    ).toEqual(['the disk filled up on db-2']);

    // No words to rank by: newest first.
    const newest = await store.recall({ sessionId: 's-9', agent: 'runbook', service: 'checkout-api', text: ' -- ' });
    expect(contents(newest)).toEqual([
      'unrelated: the coffee machine',
      'error rate alerts are noisy at night',
      'error spike after deploy: roll back the deploy',
      'the disk filled up on db-2',
    ]);
  });

  it('treats search operators in the query as plain words', async () => {
    await store.write(entry({ content: 'restart "worker" NOT the db (carefully)' }));
    const query = `NOT "worker" OR (db* AND -x) NEAR & | ! <-> :* 'quoted' \\ ; -- DROP TABLE memories`;
    const recalled = await store.recall({ sessionId: 's-1', agent: 'runbook', text: query });
    expect(contents(recalled)).toEqual(['restart "worker" NOT the db (carefully)']);
  });

  it('keeps content as written: quotes, unicode, newlines', async () => {
    const content = `it's "fine"\n— café ☕ 日本語 \\ %s $1 ${'{'}x}`;
    const written = await store.write(entry({ content }));
    expect(written.content).toBe(content);
    expect(contents(await store.recall({ sessionId: 's-1', agent: 'runbook', text: 'fine' }))).toEqual([content]);
  });

  it('limits the number of entries (default 10)', async () => {
    for (let i = 0; i < 12; i++) await store.write(entry({ content: `note ${i}` }));
    expect(await store.recall({ sessionId: 's-1', agent: 'runbook', text: 'note', limit: 3 })).toHaveLength(3);
    expect(await store.recall({ sessionId: 's-1', agent: 'runbook', text: 'note' })).toHaveLength(10);
    expect(await store.recall({ sessionId: 's-1', agent: 'runbook', text: '', limit: 50 })).toHaveLength(12);
  });

  it('takes concurrent writes', async () => {
    const written = await Promise.all(Array.from({ length: 8 }, (_, i) => store.write(entry({ content: `parallel ${i}` }))));
    const recalled = await store.recall({ sessionId: 's-1', agent: 'runbook', text: 'parallel' });
    expect(recalled.map((memory) => memory.id).sort()).toEqual(written.map((memory) => memory.id).sort());
  });

  it('refuses invalid entries and queries, naming the field', async () => {
    await expect(store.write(entry({ content: '   ' }))).rejects.toThrow(/content: must not be empty/);
    await expect(store.write(entry({ content: 'x'.repeat(8_001) }))).rejects.toThrow(MemoryValidationError);
    await expect(store.write(entry({ scope: 'team' as never }))).rejects.toThrow(/scope:/);
    await expect(store.write({ ...entry(), sessionId: undefined as never })).rejects.toThrow(/sessionId:/);
    await expect(store.write(entry({ content: 'a\0b' }))).rejects.toThrow(/content: must not contain NUL/);
    await expect(store.write(entry({ key: 's\0' }))).rejects.toThrow(/key: must not contain NUL/);
    await expect(store.recall({ sessionId: 's-1', agent: 'runbook', text: '', limit: 0 })).rejects.toThrow(/limit:/);
    await expect(store.recall({ sessionId: 's-1', agent: 'runbook', text: '', limit: 51 })).rejects.toThrow(/limit:/);
    await expect(store.recall({ sessionId: 's-1', text: '' } as never)).rejects.toThrow(/agent:/);
    // Nothing was written.
    expect(await store.recall({ sessionId: 's-1', agent: 'runbook', text: '' })).toEqual([]);
  });

  it('recalls nothing, without failing, for keys no entry can have', async () => {
    await store.write(entry({ content: 'kept' }));
    expect(await store.recall({ sessionId: 's-1\0', agent: 'run\0book', service: '\0', text: 'kept\0' })).toEqual([]);
  });

  it('trims content', async () => {
    const memory = await store.write(entry({ content: '  keep the cache warm \n' }));
    expect(memory.content).toBe('keep the cache warm');
  });

  it('keeps entries across a close and reopen of the same store', async () => {
    const written = await store.write(entry({ scope: 'agent', key: 'runbook', content: 'flush the queue before restarting', by: 'bob' }));
    await store.close();
    await store.close(); // idempotent
    await expect(store.recall({ sessionId: 's-1', agent: 'runbook', text: '' })).rejects.toThrow(/closed/);
    await expect(store.write(entry())).rejects.toThrow(/closed/);

    store = await open(place);
    const recalled = await store.recall({ sessionId: 's-2', agent: 'runbook', text: 'restarting queue' });
    expect(recalled).toEqual([written]);
    // The index kept up too: new entries are searchable beside old ones.
    await store.write(entry({ scope: 'agent', key: 'runbook', content: 'queue depth alert is flaky' }));
    expect(contents(await store.recall({ sessionId: 's-2', agent: 'runbook', text: 'flaky' }))[0]).toBe('queue depth alert is flaky');
  });
}
