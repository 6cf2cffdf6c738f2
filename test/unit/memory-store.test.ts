import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config';
import { createMemoryStore, SqliteMemoryStore } from '../../src/memory';
import { contents, entry, memoryStoreContract } from '../support/memory-contract';

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'andon-memory-'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('SqliteMemoryStore (FTS5)', () => {
  memoryStoreContract((place) => SqliteMemoryStore.open(path.join(dir, `${place}.db`)));

  it('uses FTS5 in this build', async () => {
    const store = SqliteMemoryStore.open(path.join(dir, 'fts.db'));
    expect(store.fullTextSearch).toBe(true);
    await store.close();
  });
});

describe('SqliteMemoryStore (word overlap, where FTS5 is missing)', () => {
  memoryStoreContract((place) => {
    const store = SqliteMemoryStore.open(path.join(dir, `${place}-plain.db`), { fullTextSearch: false });
    expect(store.fullTextSearch).toBe(false);
    return store;
  });
});

describe('memory configuration', () => {
  const base = { backend: { kind: 'scripted' as const } };
  const sqliteFile = (memory: ReturnType<typeof loadConfig>['memory']) => (memory.kind === 'sqlite' ? memory.file : undefined);

  it('defaults to <dataDir>/memory.db', () => {
    const config = loadConfig({ base, env: { ANDON_DATA_DIR: '/var/lib/andon' }, root: '/srv/andon' });
    expect(config.memory).toEqual({ kind: 'sqlite', file: path.join('/var/lib/andon', 'memory.db') });
  });

  it('takes the file from configuration or ANDON_MEMORY_FILE, relative to the project root', () => {
    expect(
      sqliteFile(loadConfig({ base: { ...base, memory: { kind: 'sqlite', file: 'state/mem.db' } }, env: {}, root: '/srv/andon' }).memory),
    ).toBe('/srv/andon/state/mem.db');
    expect(sqliteFile(loadConfig({ base, env: { ANDON_MEMORY_FILE: '/tmp/m.db' }, root: '/srv/andon' }).memory)).toBe('/tmp/m.db');
  });

  it('opens the configured store', async () => {
    const config = loadConfig({ base, env: { ANDON_MEMORY_FILE: path.join(dir, 'nested', 'm.db') }, root: dir });
    const configured = createMemoryStore(config);
    try {
      expect(configured).toBeInstanceOf(SqliteMemoryStore);
      await configured.write(entry({ content: 'configured' }));
      expect(contents(await configured.recall({ sessionId: 's-1', agent: 'runbook', text: '' }))).toEqual(['configured']);
    } finally {
      await configured.close();
    }
  });
});
