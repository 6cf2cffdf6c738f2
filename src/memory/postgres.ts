/**
 * The PostgreSQL memory store (`memory.kind: 'postgres'`), for workers on several machines or a
 * team that keeps its state in Postgres. Same contract as the SQLite store (./store): the same
 * validation, scopes and limits; recall ranks with Postgres full-text search, then newest first.
 *
 * One table (default `andon_memories`, in `schema` or the connection's search_path), created on
 * first use if it is missing, under an advisory lock so workers starting together do not race.
 * If it already exists nothing is created, so a role with only SELECT and INSERT on it is enough.
 *
 * Words are split in JS (`searchWords`), not by Postgres's parser, which would keep `db-2`,
 * `/var/log/app.log` or `v1.2.3` as single tokens and keep accents: the table stores the words of
 * each entry (`terms`), and a generated tsvector column (`search`, GIN-indexed) indexes them with
 * the `simple` configuration (no stemming, no stop words). The query's words are split the same
 * way and OR'ed, as the SQLite store's FTS5 query does, so both stores match the same words.
 * Ranking is `ts_rank` (the query's words an entry holds, how often, over its length), not BM25:
 * the order among matching entries can differ from SQLite's in detail, not which entries match.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { createTablesOnce, openPool } from '../storage/postgres';
import { SQL_NAME } from './config';
import { NewEntry, RecallQuery, parseInput, type Memory, type MemoryStore, type NewMemory } from './store';

export interface PostgresMemoryStoreOptions {
  /**
   * A `postgres://user:password@host:port/database` connection string; pg also reads the libpq
   * variables (PGPASSWORD, PGSSLMODE...) for what it leaves out, and `?sslmode=require` turns TLS on.
   */
  url: string;
  /** The table's schema, created if missing. Unset: the connection's search_path (usually `public`). */
  schema?: string;
  /** The table (default `andon_memories`). Its indexes are named after it. */
  table?: string;
  /** Most connections the pool opens (default 10). */
  maxConnections?: number;
  /** How long a call waits for a connection before failing, in ms (default 10 s). */
  connectionTimeout?: number;
}

/**
 * The words the store indexes and searches: lower-cased, accents removed (é → e, as FTS5's
 * `remove_diacritics`), split at anything but letters, digits and spacing marks. `_` splits too,
 * as in FTS5's tokenizer.
 */
export function searchWords(text: string): string[] {
  return (
    text
      .normalize('NFD')
      .replace(/\p{Mn}/gu, '')
      .toLowerCase()
      .match(/[\p{L}\p{N}\p{M}]+/gu) ?? []
  );
}

interface Row {
  id: string;
  scope: Memory['scope'];
  key: string;
  content: string;
  written_by: string | null;
  session_id: string;
  created_at: Date | string;
}

const COLUMNS = 'm.seq, m.id, m.scope, m.key, m.content, m.written_by, m.session_id, m.created_at';

export class PostgresMemoryStore implements MemoryStore {
  private readonly pool: pg.Pool;
  /** The table, quoted and qualified as given. */
  private readonly table: string;
  private schemaReady?: Promise<void>;
  private closed = false;

  constructor(private readonly options: PostgresMemoryStoreOptions) {
    for (const [field, name] of [
      ['schema', options.schema],
      ['table', options.table],
    ] as const) {
      if (name !== undefined && !SQL_NAME.test(name))
        throw new Error(`memory store: ${field} "${name}" is not a plain lower-case SQL name`);
    }
    this.table = [options.schema, options.table ?? 'andon_memories']
      .filter((name) => name !== undefined)
      .map((name) => pg.escapeIdentifier(name))
      .join('.');
    this.pool = openPool({ url: options.url, max: options.maxConnections ?? 10, connectionTimeout: options.connectionTimeout ?? 10_000 });
  }

  /**
   * Connects and creates the table if it is missing. Calls do this on first use; calling it at
   * start finds a wrong URL or a missing privilege before the first session needs its memory.
   */
  async ready(): Promise<void> {
    this.assertOpen();
    this.schemaReady ??= this.createSchema().catch((error: unknown) => {
      this.schemaReady = undefined; // a database that was down at start may be up at the next call
      throw error;
    });
    return this.schemaReady;
  }

  async write(entry: NewMemory): Promise<Memory> {
    this.assertOpen();
    const input = parseInput(NewEntry, entry);
    const memory: Memory = { ...input, id: randomUUID(), createdAt: new Date().toISOString() };
    await this.ready();
    await this.pool.query(
      `INSERT INTO ${this.table} (id, scope, key, content, terms, written_by, session_id, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [
        memory.id,
        memory.scope,
        memory.key,
        memory.content,
        searchWords(memory.content).join(' '),
        memory.by ?? null,
        memory.sessionId,
        memory.createdAt,
      ],
    );
    return memory;
  }

  async recall(query: RecallQuery): Promise<Memory[]> {
    this.assertOpen();
    const { sessionId, agent, service, text, limit } = parseInput(RecallQuery, query);
    await this.ready();
    // A key with NUL cannot have been written (Postgres's text refuses it), so it matches nothing.
    const key = (value: string | undefined) => (value === undefined || value.includes('\0') ? null : value);
    const params: unknown[] = [key(sessionId), key(agent), key(service), limit];
    const scopes = `((m.scope = 'session' AND m.key = $1) OR (m.scope = 'agent' AND m.key = $2)
      OR (m.scope = 'service' AND m.key = $3))`;
    const terms = [...new Set(searchWords(text))];
    let rows: Row[];
    if (terms.length === 0) {
      ({ rows } = await this.pool.query<Row>(
        `SELECT ${COLUMNS} FROM ${this.table} m WHERE ${scopes} ORDER BY m.created_at DESC, m.seq DESC LIMIT $4`,
        params,
      ));
    } else {
      // Any of the words (quoted: they hold only letters, digits and marks, so no tsquery operator
      // gets through). The entries that share words come first, by rank (the GIN index finds
      // them); the rest still qualify, newest first, after them.
      const match = terms.map((term) => `'${term}'`).join(' | ');
      ({ rows } = await this.pool.query<Row>(
        `WITH q AS (SELECT to_tsquery('pg_catalog.simple', $5) AS q)
         (SELECT ${COLUMNS}, ts_rank(m.search, q.q, 1) AS score FROM ${this.table} m, q
            WHERE ${scopes} AND m.search @@ q.q
            ORDER BY score DESC, m.created_at DESC, m.seq DESC LIMIT $4)
         UNION ALL
         (SELECT ${COLUMNS}, 0::real AS score FROM ${this.table} m, q
            WHERE ${scopes} AND NOT (m.search @@ q.q)
            ORDER BY m.created_at DESC, m.seq DESC LIMIT $4)
         ORDER BY score DESC, created_at DESC, seq DESC LIMIT $4`,
        [...params, match],
      ));
    }
    return rows.map(toMemory);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.schemaReady?.catch(() => {});
    await this.pool.end();
  }

  private async createSchema(): Promise<void> {
    const table = this.options.table ?? 'andon_memories';
    await createTablesOnce(this.pool, `andon memory store ${this.table}`, [this.table], async (client) => {
      if (this.options.schema) await client.query(`CREATE SCHEMA IF NOT EXISTS ${pg.escapeIdentifier(this.options.schema)}`);
      await client.query(`
    CREATE TABLE IF NOT EXISTS ${this.table} (
      seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      id text NOT NULL UNIQUE,
      scope text NOT NULL CHECK (scope IN ('session', 'agent', 'service')),
      key text NOT NULL,
      content text NOT NULL,
      terms text NOT NULL,
      search tsvector GENERATED ALWAYS AS (to_tsvector('pg_catalog.simple', terms)) STORED,
      written_by text,
      session_id text NOT NULL,
      created_at timestamptz NOT NULL
    )`);
      await client.query(
        `CREATE INDEX IF NOT EXISTS ${pg.escapeIdentifier(`${table}_scope_key`)} ON ${this.table} (scope, key, created_at DESC, seq DESC)`,
      );
      await client.query(`CREATE INDEX IF NOT EXISTS ${pg.escapeIdentifier(`${table}_search`)} ON ${this.table} USING gin (search)`);
    });
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('memory store is closed');
  }
}

function toMemory(row: Row): Memory {
  return {
    id: row.id,
    scope: row.scope,
    key: row.key,
    content: row.content,
    ...(row.written_by !== null ? { by: row.written_by } : {}),
    sessionId: row.session_id,
    createdAt: new Date(row.created_at).toISOString(),
  };
}
