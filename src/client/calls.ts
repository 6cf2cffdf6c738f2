/**
 * What every call of either client (Temporal SDK or HTTP) shares: how long it may take, and the
 * check of its input. Temporal-free.
 */
import type { z } from 'zod';
import { ValidationError } from './errors';
import { firstIssue } from '../protocol/issues';

/** Defaults for how long a call may take before it fails with TimeoutError. */
export const DEFAULT_TIMEOUTS = {
  /** Commands (approve, reject, pause, resume, cancel, send): a running worker answers in milliseconds. */
  commandMs: 30_000,
  /** ask: the agent's reply. */
  askMs: 120_000,
  /** waitFor and result: sessions wait for people; pass Infinity to wait without limit. */
  waitMs: 10 * 60_000,
};

export interface TimeoutOption {
  timeoutMs?: number;
}

/** Validates input on the client so bad input fails fast, naming the field, and nothing is sent. */
export function validate<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = firstIssue(parsed.error);
  const field = issue.path.join('.') || '(input)';
  throw new ValidationError(`invalid ${field}: ${issue.message}`, field);
}
