/** openMemoryStore (andon/worker): a memory store from a `memory` setting, checked, with `pg` loaded only for PostgreSQL. */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openMemoryStore, SqliteMemoryStore } from '../../src/worker';

describe('openMemoryStore', () => {
  it('opens a SQLite store in the data folder by default, or the file given', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'andon-memory-'));
    try {
      const store = openMemoryStore({}, { dataDir: dir });
      expect(store).toBeInstanceOf(SqliteMemoryStore);
      expect(existsSync(path.join(dir, 'memory.db'))).toBe(true);
      await store.close();
      const named = openMemoryStore({ kind: 'sqlite', file: path.join(dir, 'other.db') });
      expect(existsSync(path.join(dir, 'other.db'))).toBe(true);
      await named.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names the setting that is wrong', () => {
    expect(() => openMemoryStore({ kind: 'postgres', url: 'mysql://db' })).toThrow(
      /^invalid memory configuration: memory\.url: expected a postgres:\/\/ connection string/,
    );
    expect(() => openMemoryStore({ kind: 'sqlite', url: 'postgres://db' } as never)).toThrow(/memory\.url: only for kind 'postgres'/);
  });
});
