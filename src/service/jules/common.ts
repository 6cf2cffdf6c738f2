/**
 * What every route of the Jules door shares: its options, how it authenticates (X-Goog-Api-Key,
 * with andon's scopes), its error responses (Google's body) and the service's deadline.
 */
import type { Andon } from '../../client/andon';
import { withDeadline } from '../deadline';
import type { ErrorMappingOptions } from '../error-handler';
import type { JulesConfig } from './config';
import { GoogleError } from './wire';

export interface JulesRoutesOptions extends ErrorMappingOptions {
  andon: Andon;
  config: JulesConfig;
  /** Deadline for every call to Temporal (503 after it). */
  requestTimeoutMs: number;
}

export const tags = ['jules'];
export const errors = { '4xx': GoogleError, '5xx': GoogleError } as const;
/** Every route takes the token in X-Goog-Api-Key, as Jules clients send it. */
export const auth = (scope: 'read' | 'write' | 'approve') => ({ scope, credential: 'apiKey' as const });

/** As routes/sessions.ts: a little after the SDK's own deadline, so its more precise error wins. */
const BACKSTOP_GRACE_MS = 250;

/** Races a call against the service's deadline (503 after it), as /v1 does. */
export function deadlineOf(timeoutMs: number) {
  return <T>(what: string, call: () => Promise<T>): Promise<T> => withDeadline(timeoutMs + BACKSTOP_GRACE_MS, what, call());
}
