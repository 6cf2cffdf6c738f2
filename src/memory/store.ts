/**
 * Memory: what the team learned in one session, recalled in the next. An entry has a scope:
 * `session` (this session only), `agent` (every session of this agent backend) or `service`
 * (every session about this service, the `context.service` alert label). The workflow writes
 * entries through the `remember` activity and records them on the timeline; the `plan` activity
 * recalls the relevant ones into the agent's request. Stores live outside Temporal: entries are
 * data, not history.
 */
import { z } from 'zod';

export const MemoryScope = z.enum(['session', 'agent', 'service']);
export type MemoryScope = z.infer<typeof MemoryScope>;

export const MemoryContent = z.string().trim().min(1, 'must not be empty').max(8_000);

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

export interface MemoryStore {
  write(entry: NewMemory): Promise<Memory>;
  recall(query: RecallQuery): Promise<Memory[]>;
  close(): Promise<void>;
}
