/**
 * Provider failures, sorted for Temporal: what trying again can fix is retryable (with the
 * provider's own Retry-After when it gives one), what it cannot (bad credentials, a request the
 * API refuses) is not, so a session with a wrong key fails at once with the provider's message.
 */
import { APICallError, LoadAPIKeyError, NoObjectGeneratedError, RetryError } from 'ai';
import { AgentError } from '../agent';

export function toAgentError(error: unknown, provider: string): unknown {
  if (AgentError.isInstance(error) || isAbort(error)) return error;
  if (RetryError.isInstance(error)) return toAgentError(error.lastError, provider);
  if (APICallError.isInstance(error)) {
    const status = error.statusCode;
    const message = `${provider} answered ${status ?? 'without a status'}: ${error.message}`;
    if (status === 401 || status === 403) return new AgentError(message, { retryable: false, code: 'AgentUnauthorized', cause: error });
    if (status === 429)
      return new AgentError(message, {
        retryable: true,
        code: 'AgentRateLimited',
        retryAfterMs: retryAfterMs(error.responseHeaders),
        cause: error,
      });
    if (status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 409) {
      return new AgentError(message, { retryable: false, code: 'AgentRejected', cause: error });
    }
    return new AgentError(message, {
      retryable: true,
      code: 'AgentUnavailable',
      retryAfterMs: retryAfterMs(error.responseHeaders),
      cause: error,
    });
  }
  if (LoadAPIKeyError.isInstance(error))
    return new AgentError(error.message, { retryable: false, code: 'AgentUnauthorized', cause: error });
  // The model answered, but not in the shape asked for: another try may do better.
  if (NoObjectGeneratedError.isInstance(error))
    return new AgentError(`${provider}: ${error.message}`, { retryable: true, code: 'AgentInvalidOutput', cause: error });
  const message = error instanceof Error ? error.message : String(error);
  return new AgentError(`${provider}: ${message}`, { retryable: true, code: 'AgentUnavailable', cause: error });
}

/** Retry-After in milliseconds: OpenAI's `retry-after-ms`, or the standard header in seconds or as a date. */
export function retryAfterMs(headers: Record<string, string> | undefined): number | undefined {
  if (!headers) return undefined;
  const ms = Number(headers['retry-after-ms']);
  if (Number.isFinite(ms) && ms >= 0) return Math.ceil(ms);
  const value = headers['retry-after'];
  if (value === undefined) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.ceil(seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

function isAbort(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AbortError' || error.name === 'CancelledFailure');
}
