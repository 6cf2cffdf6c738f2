/**
 * The PostgreSQL transcript store (an LLM agent's `transcripts: 'postgres://…'`): the same rows as
 * the SQLite store (./transcripts), sealed the same way, in one database every worker shares, so a
 * step's next model turn resumes its conversation on whichever worker Temporal gives it.
 *
 * Two tables, `andon_transcript_turns` and `andon_transcript_tool_outputs` (in the connection's
 * search_path), created on first use under an advisory lock so workers starting together do not
 * race; if they exist nothing is created, so SELECT, INSERT, UPDATE and DELETE on them are enough.
 *
 * The text is `bytea`: tool outputs may hold NUL, which Postgres's `text` refuses (SQLite keeps
 * it). Ids are `text` with NUL and `%` escaped (`%00`, `%25`): one-to-one, so no two ids meet.
 */
import pg from 'pg';
import { createTablesOnce, openPool } from '../../storage/postgres';
import type { ModelMessage } from 'ai';
import { AgentError } from '../agent';
import type { TranscriptStoreOptions, Transcripts } from './transcript-types';
import { TranscriptSealer, keptOutput, outputContext, outputLabel, turnContext, turnLabel, type StoredText } from './transcript-sealing';

export interface PostgresTranscriptStoreOptions extends TranscriptStoreOptions {
  /** `postgres://user:password@host:port/database` (`?sslmode=require` for TLS); pg reads PGPASSWORD etc. for what it leaves out. */
  url: string;
  /** Most connections the pool opens (default 4: a worker's activities wait on the model, not on this). */
  maxConnections?: number;
  /** How long a call waits for a connection before failing, in ms (default 10 s). */
  connectionTimeout?: number;
}

const TURNS = 'andon_transcript_turns';
const OUTPUTS = 'andon_transcript_tool_outputs';

interface Row {
  data: Buffer;
  key_id: string | null;
}

export class PostgresTranscriptStore implements Transcripts {
  private readonly pool: pg.Pool;
  private readonly sealer: TranscriptSealer;
  private schemaReady?: Promise<void>;
  private closed = false;

  constructor(options: PostgresTranscriptStoreOptions) {
    this.sealer = new TranscriptSealer(options.encryption);
    this.pool = openPool({ url: options.url, max: options.maxConnections ?? 4, connectionTimeout: options.connectionTimeout ?? 10_000 });
  }

  /** Connects and creates the tables if missing; calls do this on first use. */
  async ready(): Promise<void> {
    this.assertOpen();
    this.schemaReady ??= this.createSchema().catch((error: unknown) => {
      this.schemaReady = undefined; // a database that was down may be up at the next call
      throw unavailable('set up its tables', error);
    });
    return this.schemaReady;
  }

  async history(sessionId: string, stepId: string, turn: number): Promise<ModelMessage[]> {
    const { rows } = await this.query<Row & { turn: number }>(
      'read the conversation',
      `SELECT turn, data, key_id FROM ${TURNS} WHERE session_id = $1 AND step_id = $2 AND turn < $3 ORDER BY turn`,
      [id(sessionId), id(stepId), turn],
    );
    return rows.flatMap(
      (row) =>
        JSON.parse(
          this.sealer.open(stored(row), turnContext(sessionId, stepId, row.turn), turnLabel(sessionId, stepId, row.turn)),
        ) as ModelMessage[],
    );
  }

  async saveTurn(sessionId: string, stepId: string, turn: number, messages: ModelMessage[]): Promise<void> {
    const sealed = this.sealer.seal(JSON.stringify(messages), turnContext(sessionId, stepId, turn));
    // One statement, so a retry of the turn on another worker at the same moment cannot interleave
    // with it: later turns of an earlier try go, this turn is written or replaced.
    await this.query(
      'save a turn',
      `WITH gone AS (DELETE FROM ${TURNS} WHERE session_id = $1 AND step_id = $2 AND turn > $3)
       INSERT INTO ${TURNS} (session_id, step_id, turn, data, key_id) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (session_id, step_id, turn) DO UPDATE SET data = EXCLUDED.data, key_id = EXCLUDED.key_id`,
      [id(sessionId), id(stepId), turn, Buffer.from(sealed.text, 'utf8'), sealed.key_id],
    );
  }

  async saveToolOutput(sessionId: string, toolCallId: string, output: string): Promise<void> {
    const sealed = this.sealer.seal(keptOutput(output), outputContext(sessionId, toolCallId));
    await this.query(
      'save a tool output',
      `INSERT INTO ${OUTPUTS} (session_id, tool_call_id, data, key_id) VALUES ($1, $2, $3, $4)
       ON CONFLICT (session_id, tool_call_id) DO UPDATE SET data = EXCLUDED.data, key_id = EXCLUDED.key_id`,
      [id(sessionId), id(toolCallId), Buffer.from(sealed.text, 'utf8'), sealed.key_id],
    );
  }

  async toolOutput(sessionId: string, toolCallId: string): Promise<string | undefined> {
    const { rows } = await this.query<Row>(
      'read a tool output',
      `SELECT data, key_id FROM ${OUTPUTS} WHERE session_id = $1 AND tool_call_id = $2`,
      [id(sessionId), id(toolCallId)],
    );
    const row = rows[0];
    return row && this.sealer.open(stored(row), outputContext(sessionId, toolCallId), outputLabel(sessionId, toolCallId));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.schemaReady?.catch(() => {});
    await this.pool.end();
  }

  private async query<R extends pg.QueryResultRow>(what: string, sql: string, params: unknown[]): Promise<pg.QueryResult<R>> {
    await this.ready();
    try {
      return await this.pool.query<R>(sql, params);
    } catch (error) {
      throw unavailable(what, error);
    }
  }

  private async createSchema(): Promise<void> {
    await createTablesOnce(this.pool, 'andon transcript store', [TURNS, OUTPUTS], async (client) => {
      await client.query(`
    CREATE TABLE IF NOT EXISTS ${TURNS} (
      session_id text NOT NULL,
      step_id text NOT NULL,
      turn integer NOT NULL,
      data bytea NOT NULL,
      key_id text,
      PRIMARY KEY (session_id, step_id, turn)
    )`);
      await client.query(`
    CREATE TABLE IF NOT EXISTS ${OUTPUTS} (
      session_id text NOT NULL,
      tool_call_id text NOT NULL,
      data bytea NOT NULL,
      key_id text,
      PRIMARY KEY (session_id, tool_call_id)
    )`);
    });
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('transcript store is closed');
  }
}

/** Ids as keys: NUL (which `text` refuses) and `%` escaped, one-to-one. */
function id(value: string): string {
  return value.replaceAll('%', '%25').replaceAll('\u0000', '%00');
}

function stored(row: Row): StoredText {
  return { text: row.data.toString('utf8'), key_id: row.key_id };
}

/** The database is down or refuses: Temporal retries the activity (the turn is not lost, only late). */
function unavailable(what: string, error: unknown): AgentError {
  if (error instanceof AgentError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new AgentError(`transcripts: could not ${what} in PostgreSQL: ${message}`, {
    retryable: true,
    code: 'TranscriptStoreUnavailable',
    cause: error,
  });
}
