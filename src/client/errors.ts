/**
 * Typed errors of the client SDK. Use `XError.isInstance(error)` rather than `instanceof`: it
 * also works when two copies of andon end up in one process. Temporal-free: both clients throw
 * them (temporal-errors.ts turns Temporal's errors into these; http/errors.ts the service's).
 */
import type { SessionState, SessionView } from '../session/schema';

const MARK = Symbol.for('andon.error');

export class AndonError extends Error {
  readonly [MARK]: string;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this[MARK] = new.target.name;
  }
  static isInstance(error: unknown): error is AndonError {
    return typeof error === 'object' && error !== null && typeof (error as Record<symbol, unknown>)[MARK] === 'string';
  }
}

/** Builds `isInstance` for a subclass by name, so a check matches the class and its subclasses. */
function marked<T extends AndonError>(names: string[]) {
  return (error: unknown): error is T => AndonError.isInstance(error) && names.includes(error[MARK]);
}

/** Input that does not match the schema. `field` is the dotted path of the first bad field. */
export class ValidationError extends AndonError {
  constructor(
    message: string,
    readonly field: string,
  ) {
    super(message);
  }
  static override isInstance = marked<ValidationError>(['ValidationError']);
}

export class SessionNotFoundError extends AndonError {
  constructor(
    readonly sessionId: string,
    options?: { cause?: unknown },
  ) {
    super(`session ${sessionId} not found`, options);
  }
  static override isInstance = marked<SessionNotFoundError>(['SessionNotFoundError']);
}

/** The session is not in a state that allows the operation. Carries the current state. */
export class InvalidStateError extends AndonError {
  constructor(
    message: string,
    readonly state: SessionState,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
  static override isInstance = marked<InvalidStateError>(['InvalidStateError', 'StalePlanError']);
}

/** The decision named a plan that is no longer the one awaiting approval. */
export class StalePlanError extends InvalidStateError {
  constructor(
    message: string,
    state: SessionState,
    readonly currentPlanId: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, state, options);
  }
  static override isInstance = marked<StalePlanError>(['StalePlanError']);
}

/** The session's approval policy does not let this person decide (not an approver, or the requester). */
export class NotAllowedError extends AndonError {
  constructor(
    message: string,
    readonly state: SessionState,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
  static override isInstance = marked<NotAllowedError>(['NotAllowedError']);
}

/** A call did not finish in time (no answer, no worker, or the state was not reached). */
export class TimeoutError extends AndonError {
  constructor(
    message: string,
    readonly timeoutMs: number,
  ) {
    super(message);
  }
  static override isInstance = marked<TimeoutError>(['TimeoutError']);
}

export class SessionFailedError extends AndonError {
  constructor(readonly session: SessionView) {
    super(`session ${session.id} failed: ${session.reason ?? 'no reason recorded'}`);
  }
  get reason(): string | undefined {
    return this.session.reason;
  }
  static override isInstance = marked<SessionFailedError>(['SessionFailedError']);
}

export class SessionCancelledError extends AndonError {
  constructor(readonly session: SessionView) {
    super(`session ${session.id} was cancelled: ${session.reason ?? 'no reason recorded'}`);
  }
  get reason(): string | undefined {
    return this.session.reason;
  }
  static override isInstance = marked<SessionCancelledError>(['SessionCancelledError']);
}

/** The agent could not answer a message (the session goes on). */
export class AgentReplyError extends AndonError {
  static override isInstance = marked<AgentReplyError>(['AgentReplyError']);
}

/** Temporal could not be reached. */
export class UnavailableError extends AndonError {
  static override isInstance = marked<UnavailableError>(['UnavailableError']);
}
