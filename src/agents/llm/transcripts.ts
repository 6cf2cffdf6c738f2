/**
 * Where an LLM agent keeps what must not travel through workflow payloads: each step's
 * conversation with the model, and whole tool outputs (the timeline gets their heads). Keyed by
 * session, step and turn, so a retried activity rewrites its own turn instead of adding to it.
 *
 * A SQLite file (Node's `node:sqlite`): workers that share it must share a disk. Several workers on
 * several machines need the same turn on whichever worker retries it: give them a shared volume.
 *
 * With encryption keys configured (docs/encryption.md) every row's text is sealed (AES-256-GCM,
 * storage/cipher.ts) and its key id kept beside it (`key_id`); rows written before encryption was
 * on (`key_id` NULL) still read, and rows sealed under an older key open while that key is
 * configured. A row that cannot be opened fails the call with an error that says why, never garbage.
 */
import { inTransaction, openSqlite, type SqliteDatabase } from '../../storage/sqlite';
import { SealedTextError, TextCipher, type TextCipherOptions } from '../../storage/cipher';
import type { ModelMessage } from 'ai';
import { AgentError } from '../agent';

/** What one tool output may take in the store (its tail is cut); the model reads at most this much. */
export const MAX_STORED_OUTPUT_CHARS = 64 * 1024;

export interface TranscriptStoreOptions {
  /** The encryption keys (`encryption.keys` and `activeKeyId`): with them, rows are sealed. */
  encryption?: TextCipherOptions;
}

interface StoredText {
  text: string;
  key_id: string | null;
}

export class TranscriptStore {
  private open = true;

  private constructor(
    private readonly db: SqliteDatabase,
    private readonly cipher: TextCipher | undefined,
  ) {}

  static open(file: string, options: TranscriptStoreOptions = {}): TranscriptStore {
    const cipher = options.encryption ? new TextCipher(options.encryption) : undefined;
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
      return new TranscriptStore(db, cipher);
    });
  }

  /** The step's conversation before `turn`, oldest first. */
  history(sessionId: string, stepId: string, turn: number): ModelMessage[] {
    const rows = this.db
      .prepare('SELECT turn, messages AS text, key_id FROM turns WHERE session_id = ? AND step_id = ? AND turn < ? ORDER BY turn')
      .all(sessionId, stepId, turn) as unknown as (StoredText & { turn: number })[];
    return rows.flatMap(
      (row) =>
        JSON.parse(
          this.unseal(row, turnContext(sessionId, stepId, row.turn), `session ${sessionId}, step ${stepId}, turn ${row.turn}`),
        ) as ModelMessage[],
    );
  }

  /** Saves a turn's messages (what went in, what came back), replacing an earlier try of the same turn and anything after it. */
  saveTurn(sessionId: string, stepId: string, turn: number, messages: ModelMessage[]): void {
    inTransaction(this.db, () => {
      this.db.prepare('DELETE FROM turns WHERE session_id = ? AND step_id = ? AND turn >= ?').run(sessionId, stepId, turn);
      const stored = this.seal(JSON.stringify(messages), turnContext(sessionId, stepId, turn));
      this.db
        .prepare('INSERT INTO turns (session_id, step_id, turn, messages, key_id) VALUES (?, ?, ?, ?, ?)')
        .run(sessionId, stepId, turn, stored.text, stored.key_id);
    });
  }

  saveToolOutput(sessionId: string, toolCallId: string, output: string): void {
    const kept = output.length > MAX_STORED_OUTPUT_CHARS ? `…(cut)\n${output.slice(-MAX_STORED_OUTPUT_CHARS)}` : output;
    const stored = this.seal(kept, outputContext(sessionId, toolCallId));
    this.db
      .prepare('INSERT OR REPLACE INTO tool_outputs (session_id, tool_call_id, output, key_id) VALUES (?, ?, ?, ?)')
      .run(sessionId, toolCallId, stored.text, stored.key_id);
  }

  toolOutput(sessionId: string, toolCallId: string): string | undefined {
    const row = this.db
      .prepare('SELECT output AS text, key_id FROM tool_outputs WHERE session_id = ? AND tool_call_id = ?')
      .get(sessionId, toolCallId) as StoredText | undefined;
    return row && this.unseal(row, outputContext(sessionId, toolCallId), `session ${sessionId}, tool call ${toolCallId}`);
  }

  /** Sealed when keys are configured; plaintext (key id NULL) otherwise. */
  private seal(text: string, context: string): StoredText {
    if (!this.cipher) return { text, key_id: null };
    const sealed = this.cipher.seal(text, context);
    return { text: sealed.data, key_id: sealed.keyId };
  }

  private unseal(row: StoredText, context: string, what: string): string {
    if (row.key_id === null) return row.text;
    if (!this.cipher) {
      throw new AgentError(
        `the transcript of ${what} is encrypted (key "${row.key_id}") and no encryption keys are configured: set encryption.keys or ANDON_ENCRYPTION_KEYS (docs/encryption.md)`,
        { retryable: false, code: 'TranscriptKeyMissing' },
      );
    }
    try {
      return this.cipher.open({ keyId: row.key_id, data: row.text }, context);
    } catch (error) {
      if (!(error instanceof SealedTextError)) throw error;
      throw new AgentError(`the transcript of ${what} cannot be decrypted: ${error.message}`, {
        retryable: false,
        code: 'TranscriptKeyMismatch',
        cause: error,
      });
    }
  }

  close(): void {
    if (!this.open) return;
    this.open = false;
    this.db.close();
  }
}

/** What a sealed row is bound to: moved to another row, it does not open. */
const turnContext = (sessionId: string, stepId: string, turn: number) => `transcripts/turns\u0000${sessionId}\u0000${stepId}\u0000${turn}`;
const outputContext = (sessionId: string, toolCallId: string) => `transcripts/tool_outputs\u0000${sessionId}\u0000${toolCallId}`;
