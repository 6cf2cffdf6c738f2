/**
 * Listing sessions and reviews: the filter a caller gives, the summary each listed session comes
 * back as, and a tool call awaiting review with its session. The same for the Temporal SDK
 * (visibility) and the HTTP service (GET /v1/sessions, GET /v1/reviews).
 */
import { z } from 'zod';
import { Review, SessionState } from '../session/schema';

/**
 * A value that goes into a visibility query: no quotes or backslashes to break out of it, and no
 * control characters (a NUL made Temporal's query parser stall until the deadline: 503, not 400).
 */
const QueryWord = z
  .string()
  .trim()
  .min(1)
  .max(200)
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  .regex(/^[^'"\\\u0000-\u001f\u007f]*$/, 'must not contain quotes, backslashes or control characters');

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

/** A tool call awaiting review, with the session it belongs to. */
export const PendingReview = Review.extend({ sessionId: z.string(), sessionTitle: z.string() });
export type PendingReview = z.infer<typeof PendingReview>;
