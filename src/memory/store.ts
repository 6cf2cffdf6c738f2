/**
 * Memory: what the team learned in one session, recalled in the next. An entry has a scope:
 * `session` (this session only), `agent` (every session of this agent backend) or `service`
 * (every session about this service, the `context.service` alert label). The workflow writes
 * entries through the `remember` activity and records them on the timeline; the `plan` activity
 * recalls the relevant ones into the agent's request. Stores live outside Temporal: entries are
 * data, not history.
 */
import { z } from 'zod';
import { MemoryScope } from '../protocol/inputs';
import { firstIssue } from '../protocol/issues';

export { MemoryScope };

/** Text a store can keep: PostgreSQL's text refuses NUL, so no store takes it. */
const StoredText = z.string().refine((text) => !text.includes('\0'), 'must not contain NUL characters');

export const MemoryContent = StoredText.trim().min(1, 'must not be empty').max(8_000);

export const Memory = z.object({
  id: z.string(),
  scope: MemoryScope,
  /** What the scope is about: the session id, the agent's name, or the service. */
  key: z.string(),
  content: z.string(),
  by: z.string().optional(),
  /** The session the entry was written in. */
  sessionId: z.string(),
  createdAt: z.string(),
});
export type Memory = z.infer<typeof Memory>;

export const NewMemory = Memory.omit({ id: true, createdAt: true });
export type NewMemory = z.infer<typeof NewMemory>;

/** What a session planning now may recall: its own entries, its agent's, its service's. */
export const RecallQuery = z.object({
  sessionId: z.string(),
  agent: z.string(),
  service: z.string().optional(),
  /** Words to rank by (the prompt, the title); entries sharing more of them come first. */
  text: z.string(),
  limit: z.number().int().min(1).max(50).default(10),
});
export type RecallQuery = z.input<typeof RecallQuery>;

/**
 * What every store implements (./sqlite, ./postgres). `write` validates (MemoryValidationError
 * names the field) and trims the content. `recall` returns the entries of the query's session,
 * agent and service, those sharing more of the query's words first, then newest first, at most
 * `limit`; a key never matches another scope's entries. After `close` (idempotent) both refuse.
 */
export interface MemoryStore {
  write(entry: NewMemory): Promise<Memory>;
  recall(query: RecallQuery): Promise<Memory[]>;
  close(): Promise<void>;
  /** Connects and prepares where a store does that lazily (PostgreSQL), so a start can fail early. */
  ready?(): Promise<void>;
}

/** A write or a recall the contract refuses; the message names the field. */
export class MemoryValidationError extends Error {
  override name = 'MemoryValidationError';
}

/** What a write must satisfy: the contract's entry, with content trimmed, not empty and bounded. */
export const NewEntry = NewMemory.extend({ key: StoredText, content: MemoryContent, by: StoredText.optional(), sessionId: StoredText });

/** Parses a store's input, throwing MemoryValidationError with the first issue's field. */
export function parseInput<T extends z.ZodType>(schema: T, value: unknown): z.output<T> {
  const result = schema.safeParse(value);
  if (!result.success) {
    const issue = firstIssue(result.error);
    throw new MemoryValidationError(`invalid memory: ${issue.path.join('.') || '(input)'}: ${issue.message}`);
  }
  return result.data;
}
