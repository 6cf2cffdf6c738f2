/**
 * The default memory store: one SQLite file (Node's `node:sqlite`, WAL mode) beside andon's other local
 * state. Recall ranks by FTS5's BM25 over the words of the query, then newest first; where the
 * SQLite build lacks FTS5 it falls back to counting shared words in JS. Entries are few (written
 * by people and agents, not per event), so either ranking is cheap.
 *
 * `node:sqlite` is synchronous; calls are short and happen in activities, never in workflows.
 */
import { randomUUID } from 'node:crypto';
import { openSqlite, type SqliteDatabase } from '../storage/sqlite';
import { NewEntry, RecallQuery, parseInput as parse, type Memory, type MemoryStore, type NewMemory } from './store';

export { MemoryValidationError } from './store';

interface Row {
  id: string;
  scope: Memory['scope'];
  key: string;
  content: string;
  by: string | null;
  session_id: string;
  created_at: string;
}

/** Words of a text, lower-cased, for ranking (letters and digits of any script). */
export function words(text: string): string[] {
  return [...new Set(text.toLowerCase().match(/[\p{L}\p{N}_]+/gu) ?? [])];
}

export class SqliteMemoryStore implements MemoryStore {
  private closed = false;

  private constructor(
    private readonly db: SqliteDatabase,
    private readonly fts: boolean,
  ) {}

  /**
   * Opens (creating if need be) the store at `file`; its folder is created too.
   * `fullTextSearch: false` ranks by word overlap even where FTS5 is available (tests of the fallback).
   */
  static open(file: string, options: { fullTextSearch?: boolean } = {}): SqliteMemoryStore {
    return openSqlite(file, (db) => {
      db.exec(`
        CREATE TABLE IF NOT EXISTS memories (
          seq INTEGER PRIMARY KEY AUTOINCREMENT,
          id TEXT NOT NULL UNIQUE,
          scope TEXT NOT NULL CHECK (scope IN ('session', 'agent', 'service')),
          key TEXT NOT NULL,
          content TEXT NOT NULL,
          by TEXT,
          session_id TEXT NOT NULL,
          created_at TEXT NOT NULL
        );
        CREATE INDEX IF NOT EXISTS memories_scope_key ON memories (scope, key);
      `);
      return new SqliteMemoryStore(db, options.fullTextSearch !== false && ensureFts(db));
    });
  }

  async write(entry: NewMemory): Promise<Memory> {
    this.assertOpen();
    const input = parse(NewEntry, entry);
    const memory: Memory = { ...input, id: randomUUID(), createdAt: new Date().toISOString() };
    this.db
      .prepare(
        `INSERT INTO memories (id, scope, key, content, by, session_id, created_at)
         VALUES (@id, @scope, @key, @content, @by, @sessionId, @createdAt)`,
      )
      .run({
        id: memory.id,
        scope: memory.scope,
        key: memory.key,
        content: memory.content,
        by: memory.by ?? null,
        sessionId: memory.sessionId,
        createdAt: memory.createdAt,
      });
    return memory;
  }

  async recall(query: RecallQuery): Promise<Memory[]> {
    this.assertOpen();
    const { sessionId, agent, service, text, limit } = parse(RecallQuery, query);
    const scopes = `((m.scope = 'session' AND m.key = @sessionId) OR (m.scope = 'agent' AND m.key = @agent)
      OR (m.scope = 'service' AND m.key = @service))`;
    // node:sqlite rejects named parameters a statement does not use: each query gets exactly its own.
    const params = { sessionId, agent, service: service ?? null };
    const terms = words(text);
    let rows: Row[];
    if (this.fts && terms.length > 0) {
      // Any of the words; quoted so FTS5 operators in user text are plain words. Entries that share
      // none still qualify (scored 0), after the ones that do.
      const match = terms.map((term) => `"${term.replaceAll('"', '""')}"`).join(' OR ');
      rows = this.db
        .prepare(
          `SELECT m.*, COALESCE(r.score, 0) AS score FROM memories m
           LEFT JOIN (SELECT rowid, bm25(memories_fts) AS score FROM memories_fts WHERE memories_fts MATCH @match) r
             ON r.rowid = m.seq
           WHERE ${scopes}
           ORDER BY score ASC, m.created_at DESC, m.seq DESC
           LIMIT @limit`,
        )
        .all({ ...params, limit, match }) as unknown as Row[];
    } else {
      const all = this.db
        .prepare(`SELECT m.* FROM memories m WHERE ${scopes} ORDER BY m.created_at DESC, m.seq DESC`)
        .all(params) as unknown as Row[];
      const wanted = new Set(terms);
      const overlap = (row: Row) => words(row.content).filter((word) => wanted.has(word)).length;
      // Array.prototype.sort is stable, so equal overlaps keep newest-first order.
      rows = all
        .map((row) => ({ row, score: overlap(row) }))
        .sort((a, b) => b.score - a.score)
        .slice(0, limit)
        .map(({ row }) => row);
    }
    return rows.map(toMemory);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }

  /** Whether recall ranks with FTS5 (false: word overlap counted in JS). */
  get fullTextSearch(): boolean {
    return this.fts;
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('memory store is closed');
  }
}

/** Creates the FTS5 index and the triggers that keep it in step; false if FTS5 is not compiled in. */
function ensureFts(db: SqliteDatabase): boolean {
  try {
    db.exec(`
      CREATE VIRTUAL TABLE IF NOT EXISTS memories_fts USING fts5(
        content, content='memories', content_rowid='seq', tokenize='unicode61 remove_diacritics 2'
      );
      CREATE TRIGGER IF NOT EXISTS memories_ai AFTER INSERT ON memories BEGIN
        INSERT INTO memories_fts (rowid, content) VALUES (new.seq, new.content);
      END;
      CREATE TRIGGER IF NOT EXISTS memories_ad AFTER DELETE ON memories BEGIN
        INSERT INTO memories_fts (memories_fts, rowid, content) VALUES ('delete', old.seq, old.content);
      END;
      CREATE TRIGGER IF NOT EXISTS memories_au AFTER UPDATE ON memories BEGIN
        INSERT INTO memories_fts (memories_fts, rowid, content) VALUES ('delete', old.seq, old.content);
        INSERT INTO memories_fts (rowid, content) VALUES (new.seq, new.content);
      END;
    `);
    return true;
  } catch (error) {
    if (/fts5/i.test((error as Error).message)) return false;
    throw error;
  }
}

function toMemory(row: Row): Memory {
  return {
    id: row.id,
    scope: row.scope,
    key: row.key,
    content: row.content,
    ...(row.by !== null ? { by: row.by } : {}),
    sessionId: row.session_id,
    createdAt: row.created_at,
  };
}
