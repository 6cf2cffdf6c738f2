/**
 * Listing sessions: the filter a caller gives and the summary each listed session comes back as.
 * The same for the Temporal SDK (visibility) and the HTTP service (GET /v1/sessions).
 */
import { z } from 'zod';
import { SessionState } from '../session/schema';

/** A value that goes into a visibility query: no quotes or backslashes to break out of it. */
const QueryWord = z
  .string()
  .trim()
  .min(1)
  .max(200)
  .regex(/^[^'"\\]*$/, 'must not contain quotes or backslashes');

export const ListFilter = z.object({
  state: z.union([SessionState, z.array(SessionState).min(1)]).optional(),
  /** Words in the title. */
  text: QueryWord.optional(),
  /** The session's `context.service` (alert label `service`). */
  service: QueryWord.optional(),
  createdAfter: z.coerce.date().optional(),
  createdBefore: z.coerce.date().optional(),
  limit: z.number().int().min(1).max(1000).default(100),
});
export type ListFilter = z.input<typeof ListFilter>;

export const SessionSummary = z.object({
  id: z.string(),
  state: SessionState,
  title: z.string(),
  /** The session's `context.service`, if it had one. */
  service: z.string().optional(),
  createTime: z.string(),
  closeTime: z.string().optional(),
  /** The Temporal workflow status: RUNNING, COMPLETED, ... */
  status: z.string(),
});
export type SessionSummary = z.infer<typeof SessionSummary>;
