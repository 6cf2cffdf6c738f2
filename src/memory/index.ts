/**
 * Memory stores: the contract (./store) and the store the configuration names: a SQLite file
 * (./sqlite, the default) or a PostgreSQL table (./postgres).
 */
import path from 'node:path';
import type { MemoryConfig } from './config';
import { PostgresMemoryStore } from './postgres';
import { SqliteMemoryStore } from './sqlite';
import type { MemoryStore } from './store';

export * from './store';
export { SqliteMemoryStore } from './sqlite';
export { PostgresMemoryStore, type PostgresMemoryStoreOptions } from './postgres';

/**
 * Opens the configured store; `loadConfig` has already resolved a SQLite file against the data
 * directory. A PostgreSQL store connects on first use (or `ready()`), so this stays synchronous.
 */
export function createMemoryStore(config: { memory: MemoryConfig; dataDir: string }): MemoryStore {
  switch (config.memory.kind) {
    case 'sqlite':
      return SqliteMemoryStore.open(config.memory.file ?? path.join(config.dataDir, 'memory.db'));
    case 'postgres': {
      const { url, schema, table, maxConnections } = config.memory;
      return new PostgresMemoryStore({ url, schema, table, maxConnections });
    }
  }
}
