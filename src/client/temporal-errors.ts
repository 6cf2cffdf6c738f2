/**
 * Temporal's client errors (not found, refused updates, unreachable server) turned into andon's
 * typed errors (errors.ts). Refusals carry their type and details (src/protocol/refusals.ts).
 */
import {
  ServiceError,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  isGrpcServiceError,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { SessionState } from '../session/schema';
import { REFUSAL, type RefusalDetails } from '../protocol/refusals';
import {
  AgentReplyError,
  AndonError,
  InvalidStateError,
  NotAllowedError,
  SessionNotFoundError,
  StalePlanError,
  UnavailableError,
  ValidationError,
} from './errors';

/** Turns a Temporal client error into andon's typed error for the session `sessionId`. */
export function translateError(error: unknown, sessionId: string): unknown {
  if (AndonError.isInstance(error)) return error;
  if (error instanceof WorkflowNotFoundError) return new SessionNotFoundError(sessionId, { cause: error });
  if (error instanceof WorkflowUpdateFailedError && error.cause instanceof ApplicationFailure) {
    return fromRefusal(error.cause, sessionId);
  }
  if (error instanceof ApplicationFailure) return fromRefusal(error, sessionId);
  if (error instanceof ServiceError || isGrpcServiceError(error)) {
    const code = (isGrpcServiceError(error) ? error : (error.cause as { code?: number } | undefined))?.code;
    if (code === 5) return new SessionNotFoundError(sessionId, { cause: error });
    if (code === 14) return new UnavailableError(`Temporal is unreachable: ${(error as Error).message}`, { cause: error });
  }
  if (error instanceof WorkflowExecutionAlreadyStartedError) return error;
  return error;
}

function fromRefusal(failure: ApplicationFailure, sessionId: string): unknown {
  const details = (failure.details?.[0] ?? {}) as Partial<RefusalDetails>;
  const state = (details.state ?? 'unspecified') as SessionState;
  switch (failure.type) {
    case REFUSAL.invalidArgument:
      return new ValidationError(failure.message, details.field ?? '(input)');
    case REFUSAL.invalidState:
      return new InvalidStateError(failure.message, state, { cause: failure });
    case REFUSAL.stalePlan:
      return new StalePlanError(failure.message, state, details.planId, { cause: failure });
    case REFUSAL.sessionEnded:
      return new InvalidStateError(failure.message, state, { cause: failure });
    case REFUSAL.notAllowed:
      return new NotAllowedError(failure.message, state, { cause: failure });
    case REFUSAL.duplicateApproval:
      return new InvalidStateError(failure.message, state, { cause: failure });
    case REFUSAL.replyFailed:
      return new AgentReplyError(failure.message, { cause: failure });
    default:
      return new AndonError(`session ${sessionId}: ${failure.message}`, { cause: failure });
  }
}
