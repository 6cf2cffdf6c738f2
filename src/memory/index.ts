/**
 * Memory stores: the contract (./store) and the store the configuration names. Only SQLite for
 * now; a PostgreSQL store (`memory.kind: 'postgres'`) is planned but not built.
 */
import path from 'node:path';
import type { AndonConfig } from '../config';
import { SqliteMemoryStore } from './sqlite';
import type { MemoryStore } from './store';

export * from './store';
export { SqliteMemoryStore, MemoryValidationError } from './sqlite';

/** Opens the configured store; `loadConfig` has already resolved its file against the data directory. */
export function createMemoryStore(config: Pick<AndonConfig, 'memory' | 'dataDir'>): MemoryStore {
  switch (config.memory.kind) {
    case 'sqlite':
      return SqliteMemoryStore.open(config.memory.file ?? path.join(config.dataDir, 'memory.db'));
  }
}
