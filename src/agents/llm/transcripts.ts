/**
 * Where an LLM agent keeps what must not travel through workflow payloads: each step's
 * conversation with the model, and whole tool outputs (the timeline gets their heads). Keyed by
 * session, step and turn, so a retried activity rewrites its own turn instead of adding to it.
 *
 * Two stores behind one interface (`Transcripts`), chosen by the agent's `transcripts` setting:
 * - a SQLite file (Node's `node:sqlite`, `TranscriptStore`), the default: one machine, or workers
 *   that share a disk. Two workers with two files lose a step's conversation when its next model
 *   turn lands on the other worker.
 * - a PostgreSQL database (a `postgres://` URL, ./transcripts-postgres): every worker reads and
 *   writes the same rows, so any worker resumes any step.
 *
 * With encryption keys configured (docs/encryption.md) every row's text is sealed (AES-256-GCM,
 * storage/cipher.ts) and its key id kept beside it (`key_id`); rows written before encryption was
 * on (`key_id` NULL) still read, and rows sealed under an older key open while that key is
 * configured. A row that cannot be opened fails the call with an error that says why, never garbage.
 */
import { inTransaction, openSqlite, type SqliteDatabase } from '../../storage/sqlite';
import type { ModelMessage } from 'ai';
import type { TranscriptStoreOptions, Transcripts } from './transcript-types';
import { AgentError } from '../agent';
import { isPostgresUrl } from './config';
import { TranscriptSealer, keptOutput, outputContext, outputLabel, turnContext, turnLabel, type StoredText } from './transcript-sealing';

export { MAX_STORED_OUTPUT_CHARS } from './transcript-sealing';

export type { TranscriptStoreOptions, Transcripts } from './transcript-types';

/**
 * The store `location` names: a `postgres://` URL (shared by every worker) or a SQLite file.
 * The PostgreSQL store (and the `pg` driver it needs) is loaded only when one is configured.
 */
export function openTranscripts(location: string, options: TranscriptStoreOptions = {}): Transcripts {
  if (!isPostgresUrl(location)) return TranscriptStore.open(location, options);
  let module: typeof import('./transcripts-postgres');
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    module = require('./transcripts-postgres') as typeof import('./transcripts-postgres');
  } catch (error) {
    if ((error as { code?: string }).code !== 'MODULE_NOT_FOUND' || !/'pg'/.test((error as Error).message)) throw error;
    throw new AgentError('transcripts: a postgres:// store needs the `pg` package: npm install pg', {
      retryable: false,
      code: 'TranscriptStoreUnavailable',
      cause: error,
    });
  }
  return new module.PostgresTranscriptStore({ url: location, ...options });
}

/** The SQLite store: one file, for one machine (or workers that share its disk). */
export class TranscriptStore implements Transcripts {
  private open = true;

  private constructor(
    private readonly db: SqliteDatabase,
    private readonly sealer: TranscriptSealer,
  ) {}

  static open(file: string, options: TranscriptStoreOptions = {}): TranscriptStore {
    const sealer = new TranscriptSealer(options.encryption);
    return openSqlite(file, (db) => {
      db.exec(`
        CREATE TABLE IF NOT EXISTS turns (
          session_id TEXT NOT NULL,
          step_id TEXT NOT NULL,
          turn INTEGER NOT NULL,
          messages TEXT NOT NULL,
          PRIMARY KEY (session_id, step_id, turn)
        );
        CREATE TABLE IF NOT EXISTS tool_outputs (
          session_id TEXT NOT NULL,
          tool_call_id TEXT NOT NULL,
          output TEXT NOT NULL,
          PRIMARY KEY (session_id, tool_call_id)
        );
      `);
      // Files from before encryption: the key id column, NULL on their plaintext rows.
      for (const table of ['turns', 'tool_outputs']) {
        const columns = db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[];
        if (!columns.some((c) => c.name === 'key_id')) db.exec(`ALTER TABLE ${table} ADD COLUMN key_id TEXT`);
      }
      return new TranscriptStore(db, sealer);
    });
  }

  async history(sessionId: string, stepId: string, turn: number): Promise<ModelMessage[]> {
    const rows = this.db
      .prepare('SELECT turn, messages AS text, key_id FROM turns WHERE session_id = ? AND step_id = ? AND turn < ? ORDER BY turn')
      .all(sessionId, stepId, turn) as unknown as (StoredText & { turn: number })[];
    return rows.flatMap(
      (row) =>
        JSON.parse(
          this.sealer.open(row, turnContext(sessionId, stepId, row.turn), turnLabel(sessionId, stepId, row.turn)),
        ) as ModelMessage[],
    );
  }

  async saveTurn(sessionId: string, stepId: string, turn: number, messages: ModelMessage[]): Promise<void> {
    inTransaction(this.db, () => {
      this.db.prepare('DELETE FROM turns WHERE session_id = ? AND step_id = ? AND turn >= ?').run(sessionId, stepId, turn);
      const stored = this.sealer.seal(JSON.stringify(messages), turnContext(sessionId, stepId, turn));
      this.db
        .prepare('INSERT INTO turns (session_id, step_id, turn, messages, key_id) VALUES (?, ?, ?, ?, ?)')
        .run(sessionId, stepId, turn, stored.text, stored.key_id);
    });
  }

  async saveToolOutput(sessionId: string, toolCallId: string, output: string): Promise<void> {
    const stored = this.sealer.seal(keptOutput(output), outputContext(sessionId, toolCallId));
    this.db
      .prepare('INSERT OR REPLACE INTO tool_outputs (session_id, tool_call_id, output, key_id) VALUES (?, ?, ?, ?)')
      .run(sessionId, toolCallId, stored.text, stored.key_id);
  }

  async toolOutput(sessionId: string, toolCallId: string): Promise<string | undefined> {
    const row = this.db
      .prepare('SELECT output AS text, key_id FROM tool_outputs WHERE session_id = ? AND tool_call_id = ?')
      .get(sessionId, toolCallId) as StoredText | undefined;
    return row && this.sealer.open(row, outputContext(sessionId, toolCallId), outputLabel(sessionId, toolCallId));
  }

  close(): void {
    if (!this.open) return;
    this.open = false;
    this.db.close();
  }
}
