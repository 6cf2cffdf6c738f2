/**
 * The service's error answers (`{ "error": { code, message, field?, state?, currentPlanId? } }`,
 * see src/protocol/http-errors.ts) turned back into the SDK's typed errors, so a caller handles a
 * refusal the same way whether it went through HTTP or straight to Temporal.
 */
import { ErrorBody } from '../../protocol/http-errors';
import {
  AgentReplyError,
  AndonError,
  InvalidStateError,
  NotAllowedError,
  SessionNotFoundError,
  StalePlanError,
  UnavailableError,
  ValidationError,
} from '../errors';
import { SessionState } from '../../session/schema';

const MARK = Symbol.for('andon.error');

/** Same rule as the SDK's errors: match by the name the constructor recorded, not by prototype. */
function isNamed(error: unknown, names: string[]): boolean {
  if (!AndonError.isInstance(error)) return false;
  const name = (error as unknown as Record<symbol, string | undefined>)[MARK];
  return name !== undefined && names.includes(name);
}

/** The service refused the credentials: no or unknown token (401), or a token without the route's scope (403 `forbidden`). */
export class AuthError extends AndonError {
  constructor(
    message: string,
    readonly status: 401 | 403,
  ) {
    super(message);
  }
  static override isInstance = (error: unknown): error is AuthError => isNamed(error, ['AuthError']);
}

/** An answer that is not andon's: a proxy's error page, a server error, or a body that fails its schema. */
export class UnexpectedResponseError extends AndonError {
  constructor(
    message: string,
    readonly status: number,
    readonly code?: string,
  ) {
    super(message);
  }
  static override isInstance = (error: unknown): error is UnexpectedResponseError => isNamed(error, ['UnexpectedResponseError']);
}

export interface ResponseContext {
  /** `GET /v1/sessions/x`, for messages about answers that are not andon's. */
  request: string;
  /** The session the request was about, for SessionNotFoundError. */
  sessionId?: string;
}

/** The typed error for a non-2xx answer whose body was `text`. */
export function errorFromResponse(status: number, text: string, context: ResponseContext): Error {
  const parsed = ErrorBody.safeParse(parseJson(text));
  if (!parsed.success) {
    const snippet = text.trim().slice(0, 200);
    return new UnexpectedResponseError(
      `${context.request} answered ${status}${snippet ? `: ${snippet}` : ''} (is this the andon service's URL?)`,
      status,
    );
  }
  const { code, message, field, state, currentPlanId } = parsed.data.error;
  const sessionState = SessionState.catch('unspecified').parse(state);
  switch (status) {
    case 400:
      return new ValidationError(message, field ?? '(input)');
    case 401:
      return new AuthError(message, status);
    case 403:
      // The token may act, but the session's approval policy does not let this caller decide.
      return code === 'not_allowed' ? new NotAllowedError(message, sessionState) : new AuthError(message, status);
    case 404:
      // The service answers "no route ..." for a path it does not serve: a wrong base URL, not a missing session.
      return context.sessionId !== undefined && !message.startsWith('no route')
        ? new SessionNotFoundError(context.sessionId)
        : new UnexpectedResponseError(`${message} (is this the andon service's URL?)`, status, code);
    case 409:
      return code === 'stale_plan'
        ? new StalePlanError(message, sessionState, currentPlanId)
        : new InvalidStateError(message, sessionState);
    case 413:
      return new ValidationError(message, field ?? '(body)');
    case 502:
      return new AgentReplyError(message);
    case 503:
      return new UnavailableError(message);
    default:
      return new UnexpectedResponseError(message, status, code);
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
