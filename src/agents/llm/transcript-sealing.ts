/**
 * How both transcript stores (SQLite, PostgreSQL) seal and open a row's text: the same cipher,
 * the same row binding and the same errors, so a row one store wrote reads the same from the other
 * and a misconfigured key says why, whichever store holds it.
 */
import { SealedTextError, TextCipher, type TextCipherOptions } from '../../storage/cipher';
import { AgentError } from '../agent';

/** A row's text as stored, and the key that sealed it (null: plaintext, from before encryption). */
export interface StoredText {
  text: string;
  key_id: string | null;
}

export class TranscriptSealer {
  private readonly cipher: TextCipher | undefined;

  constructor(encryption: TextCipherOptions | undefined) {
    this.cipher = encryption ? new TextCipher(encryption) : undefined;
  }

  /** Sealed when keys are configured; plaintext (key id null) otherwise. */
  seal(text: string, context: string): StoredText {
    if (!this.cipher) return { text, key_id: null };
    const sealed = this.cipher.seal(text, context);
    return { text: sealed.data, key_id: sealed.keyId };
  }

  open(row: StoredText, context: string, what: string): string {
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
}

/** What a sealed row is bound to: moved to another row, it does not open. */
export const turnContext = (sessionId: string, stepId: string, turn: number) =>
  `transcripts/turns\u0000${sessionId}\u0000${stepId}\u0000${turn}`;
export const outputContext = (sessionId: string, toolCallId: string) => `transcripts/tool_outputs\u0000${sessionId}\u0000${toolCallId}`;
export const turnLabel = (sessionId: string, stepId: string, turn: number) => `session ${sessionId}, step ${stepId}, turn ${turn}`;
export const outputLabel = (sessionId: string, toolCallId: string) => `session ${sessionId}, tool call ${toolCallId}`;

/** What one tool output may take in the store (its tail is cut); the model reads at most this much. */
export const MAX_STORED_OUTPUT_CHARS = 64 * 1024;

export function keptOutput(output: string): string {
  return output.length > MAX_STORED_OUTPUT_CHARS ? `…(cut)\n${output.slice(-MAX_STORED_OUTPUT_CHARS)}` : output;
}
