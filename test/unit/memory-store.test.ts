import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config';
import { createMemoryStore, MemoryValidationError, SqliteMemoryStore, type NewMemory } from '../../src/memory';

let dir: string;
let store: SqliteMemoryStore;

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'andon-memory-'));
  store = SqliteMemoryStore.open(path.join(dir, 'memory.db'));
});

afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const entry = (overrides: Partial<NewMemory> = {}): NewMemory => ({
  scope: 'session',
  key: 's-1',
  content: 'checkout-api logs rotate at midnight',
  sessionId: 's-1',
  ...overrides,
});

const contents = (memories: { content: string }[]) => memories.map((memory) => memory.content);

describe('SqliteMemoryStore', () => {
  it('uses FTS5 in this build', () => {
    expect(store.fullTextSearch).toBe(true);
  });

  it('writes an entry with an id and a creation time', async () => {
    const memory = await store.write(entry({ by: 'alice' }));
    expect(memory).toMatchObject({ scope: 'session', key: 's-1', content: 'checkout-api logs rotate at midnight', by: 'alice', sessionId: 's-1' });
    expect(memory.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(Number.isNaN(Date.parse(memory.createdAt))).toBe(false);
    const [recalled] = await store.recall({ sessionId: 's-1', agent: 'runbook', text: '' });
    expect(recalled).toEqual(memory);
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

  it('ranks by shared words, then newest first', async () => {
    const scope = { scope: 'service' as const, key: 'checkout-api' };
    await store.write(entry({ ...scope, content: 'the disk filled up on db-2' }));
    await store.write(entry({ ...scope, content: 'error spike after deploy: roll back the deploy' }));
    await store.write(entry({ ...scope, content: 'error rate alerts are noisy at night' }));
    await store.write(entry({ ...scope, content: 'unrelated: the coffee machine' }));

    const ranked = await store.recall({ sessionId: 's-9', agent: 'runbook', service: 'checkout-api', text: 'checkout-api error spike after deploy' });
    expect(contents(ranked)[0]).toBe('error spike after deploy: roll back the deploy');
    expect(contents(ranked)[1]).toBe('error rate alerts are noisy at night');
    // Entries sharing no word still come, after the others, newest first.
    expect(contents(ranked).slice(2)).toEqual(['unrelated: the coffee machine', 'the disk filled up on db-2']);

    // No words to rank by: newest first.
    const newest = await store.recall({ sessionId: 's-9', agent: 'runbook', service: 'checkout-api', text: '' });
    expect(contents(newest)[0]).toBe('unrelated: the coffee machine');
  });

  it('ranks the same way without FTS5 (word overlap)', async () => {
    await store.close();
    store = SqliteMemoryStore.open(path.join(dir, 'plain.db'), { fullTextSearch: false });
    expect(store.fullTextSearch).toBe(false);
    const scope = { scope: 'agent' as const, key: 'runbook' };
    await store.write(entry({ ...scope, content: 'the disk filled up on db-2' }));
    await store.write(entry({ ...scope, content: 'error spike after deploy: roll back the deploy' }));
    await store.write(entry({ ...scope, content: 'error rate alerts are noisy at night' }));
    await store.write(entry({ ...scope, content: 'unrelated: the coffee machine' }));
    await store.write(entry({ scope: 'session', key: 's-2', content: 'error spike in another session', sessionId: 's-2' }));
    const ranked = await store.recall({ sessionId: 's-1', agent: 'runbook', text: 'Error spike after DEPLOY', limit: 3 });
    expect(contents(ranked)).toEqual(['error spike after deploy: roll back the deploy', 'error rate alerts are noisy at night', 'unrelated: the coffee machine']);
  });

  it('treats search operators in the query as plain words', async () => {
    await store.write(entry({ content: 'restart "worker" NOT the db (carefully)' }));
    const recalled = await store.recall({ sessionId: 's-1', agent: 'runbook', text: 'NOT "worker" OR (db* AND -x) NEAR' });
    expect(contents(recalled)).toEqual(['restart "worker" NOT the db (carefully)']);
  });

  it('limits the number of entries (default 10)', async () => {
    for (let i = 0; i < 12; i++) await store.write(entry({ content: `note ${i}` }));
    expect(await store.recall({ sessionId: 's-1', agent: 'runbook', text: 'note', limit: 3 })).toHaveLength(3);
    expect(await store.recall({ sessionId: 's-1', agent: 'runbook', text: 'note' })).toHaveLength(10);
  });

  it('refuses invalid entries and queries, naming the field', async () => {
    await expect(store.write(entry({ content: '   ' }))).rejects.toThrow(/content: must not be empty/);
    await expect(store.write(entry({ content: 'x'.repeat(8_001) }))).rejects.toThrow(MemoryValidationError);
    await expect(store.write(entry({ scope: 'team' as never }))).rejects.toThrow(/scope:/);
    await expect(store.write({ ...entry(), sessionId: undefined as never })).rejects.toThrow(/sessionId:/);
    await expect(store.recall({ sessionId: 's-1', agent: 'runbook', text: '', limit: 0 })).rejects.toThrow(/limit:/);
    await expect(store.recall({ sessionId: 's-1', agent: 'runbook', text: '', limit: 51 })).rejects.toThrow(/limit:/);
    await expect(store.recall({ sessionId: 's-1', text: '' } as never)).rejects.toThrow(/agent:/);
  });

  it('trims content', async () => {
    const memory = await store.write(entry({ content: '  keep the cache warm \n' }));
    expect(memory.content).toBe('keep the cache warm');
  });

  it('keeps entries across a close and reopen of the same file', async () => {
    const file = path.join(dir, 'memory.db');
    const written = await store.write(entry({ scope: 'agent', key: 'runbook', content: 'flush the queue before restarting', by: 'bob' }));
    await store.close();
    await store.close(); // idempotent
    await expect(store.recall({ sessionId: 's-1', agent: 'runbook', text: '' })).rejects.toThrow(/closed/);

    store = SqliteMemoryStore.open(file);
    const recalled = await store.recall({ sessionId: 's-2', agent: 'runbook', text: 'restarting queue' });
    expect(recalled).toEqual([written]);
    // The index kept up too: new entries are searchable beside old ones.
    await store.write(entry({ scope: 'agent', key: 'runbook', content: 'queue depth alert is flaky' }));
    expect(contents(await store.recall({ sessionId: 's-2', agent: 'runbook', text: 'flaky' }))[0]).toBe('queue depth alert is flaky');
  });
});

describe('memory configuration', () => {
  const base = { backend: { kind: 'scripted' as const } };

  it('defaults to <dataDir>/memory.db', () => {
    const config = loadConfig({ base, env: { ANDON_DATA_DIR: '/var/lib/andon' }, root: '/srv/andon' });
    expect(config.memory).toEqual({ kind: 'sqlite', file: path.join('/var/lib/andon', 'memory.db') });
  });

  it('takes the file from configuration or ANDON_MEMORY_FILE, relative to the project root', () => {
    expect(loadConfig({ base: { ...base, memory: { kind: 'sqlite', file: 'state/mem.db' } }, env: {}, root: '/srv/andon' }).memory.file).toBe(
      '/srv/andon/state/mem.db',
    );
    expect(loadConfig({ base, env: { ANDON_MEMORY_FILE: '/tmp/m.db' }, root: '/srv/andon' }).memory.file).toBe('/tmp/m.db');
  });

  it('opens the configured store', async () => {
    const config = loadConfig({ base, env: { ANDON_MEMORY_FILE: path.join(dir, 'nested', 'm.db') }, root: dir });
    const configured = createMemoryStore(config);
    try {
      await configured.write(entry({ content: 'configured' }));
      expect(contents(await configured.recall({ sessionId: 's-1', agent: 'runbook', text: '' }))).toEqual(['configured']);
    } finally {
      await configured.close();
    }
  });
});
