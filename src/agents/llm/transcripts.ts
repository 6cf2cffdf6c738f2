/**
 * Where an LLM agent keeps what must not travel through workflow payloads: each step's
 * conversation with the model, and whole tool outputs (the timeline gets their heads). Keyed by
 * session, step and turn, so a retried activity rewrites its own turn instead of adding to it.
 *
 * A SQLite file (Node's `node:sqlite`): workers that share it must share a disk. Several workers on
 * several machines need the same turn on whichever worker retries it: give them a shared volume.
 */
import { inTransaction, openSqlite, type SqliteDatabase } from '../../storage/sqlite';
import type { ModelMessage } from 'ai';

/** What one tool output may take in the store (its tail is cut); the model reads at most this much. */
export const MAX_STORED_OUTPUT_CHARS = 64 * 1024;

export class TranscriptStore {
  private open = true;

  private constructor(private readonly db: SqliteDatabase) {}

  static open(file: string): TranscriptStore {
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
      return new TranscriptStore(db);
    });
  }

  /** The step's conversation before `turn`, oldest first. */
  history(sessionId: string, stepId: string, turn: number): ModelMessage[] {
    const rows = this.db
      .prepare('SELECT messages FROM turns WHERE session_id = ? AND step_id = ? AND turn < ? ORDER BY turn')
      .all(sessionId, stepId, turn) as { messages: string }[];
    return rows.flatMap((row) => JSON.parse(row.messages) as ModelMessage[]);
  }

  /** Saves a turn's messages (what went in, what came back), replacing an earlier try of the same turn and anything after it. */
  saveTurn(sessionId: string, stepId: string, turn: number, messages: ModelMessage[]): void {
    inTransaction(this.db, () => {
      this.db.prepare('DELETE FROM turns WHERE session_id = ? AND step_id = ? AND turn >= ?').run(sessionId, stepId, turn);
      this.db
        .prepare('INSERT INTO turns (session_id, step_id, turn, messages) VALUES (?, ?, ?, ?)')
        .run(sessionId, stepId, turn, JSON.stringify(messages));
    });
  }

  saveToolOutput(sessionId: string, toolCallId: string, output: string): void {
    const kept = output.length > MAX_STORED_OUTPUT_CHARS ? `…(cut)\n${output.slice(-MAX_STORED_OUTPUT_CHARS)}` : output;
    this.db
      .prepare('INSERT OR REPLACE INTO tool_outputs (session_id, tool_call_id, output) VALUES (?, ?, ?)')
      .run(sessionId, toolCallId, kept);
  }

  toolOutput(sessionId: string, toolCallId: string): string | undefined {
    const row = this.db.prepare('SELECT output FROM tool_outputs WHERE session_id = ? AND tool_call_id = ?').get(sessionId, toolCallId) as
      { output: string } | undefined;
    return row?.output;
  }

  close(): void {
    if (!this.open) return;
    this.open = false;
    this.db.close();
  }
}
