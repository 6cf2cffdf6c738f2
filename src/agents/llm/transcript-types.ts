/** What the LLM agent needs of a transcript store (./transcripts: SQLite; ./transcripts-postgres: PostgreSQL). */
import type { ModelMessage } from 'ai';
import type { TextCipherOptions } from '../../storage/cipher';

export interface TranscriptStoreOptions {
  /** The encryption keys (`encryption.keys` and `activeKeyId`): with them, rows are sealed. */
  encryption?: TextCipherOptions;
}

/** What the LLM agent needs of a transcript store; both stores keep the same rows, sealed the same way. */
export interface Transcripts {
  /** The step's conversation before `turn`, oldest first. */
  history(sessionId: string, stepId: string, turn: number): Promise<ModelMessage[]>;
  /** Saves a turn's messages (what went in, what came back), replacing an earlier try of the same turn and anything after it. */
  saveTurn(sessionId: string, stepId: string, turn: number, messages: ModelMessage[]): Promise<void>;
  /** Saves a tool call's whole output (its tail is cut past MAX_STORED_OUTPUT_CHARS), replacing an earlier try. */
  saveToolOutput(sessionId: string, toolCallId: string, output: string): Promise<void>;
  toolOutput(sessionId: string, toolCallId: string): Promise<string | undefined>;
  close(): void | Promise<void>;
}
