/**
 * The session state machine, as data. The workflow refuses any transition not listed here, the
 * update validators use `OPERATION_STATES` to refuse operations early, and docs/sessions.md shows
 * the same table (a test keeps them in step).
 */
import type { SessionState } from './schema';

export const TRANSITIONS: Readonly<Record<SessionState, readonly SessionState[]>> = {
  // Only ever reported for a session whose state cannot be read (e.g. a list row without the search attribute).
  unspecified: [],
  // Client-side only: the start request has not been acknowledged yet.
  creating: ['queued'],
  // Accepted by Temporal, waiting for a worker to pick the session up.
  queued: ['planning', 'cancelled', 'failed'],
  planning: ['awaitingPlanApproval', 'awaitingUserFeedback', 'inProgress', 'paused', 'failed', 'cancelled'],
  awaitingPlanApproval: ['inProgress', 'planning', 'paused', 'cancelled', 'failed'],
  // From inProgress: a step failed and the person chooses retry, skip or abort.
  awaitingUserFeedback: ['planning', 'inProgress', 'paused', 'cancelled', 'failed'],
  inProgress: ['completed', 'awaitingUserFeedback', 'awaitingChangeApproval', 'paused', 'failed', 'cancelled'],
  // A code session's change set awaits approval: approved → inProgress (publishing), rejected → completed unpublished.
  awaitingChangeApproval: ['inProgress', 'completed', 'paused', 'cancelled', 'failed'],
  // Resume returns to the state the session was paused in.
  paused: ['planning', 'awaitingPlanApproval', 'awaitingUserFeedback', 'inProgress', 'awaitingChangeApproval', 'cancelled', 'failed'],
  completed: [],
  failed: [],
  cancelled: [],
};

export function canTransition(from: SessionState, to: SessionState): boolean {
  return TRANSITIONS[from].includes(to);
}

/** The operations a caller can ask for, and the states in which each is accepted. */
export const OPERATION_STATES = {
  approve: ['awaitingPlanApproval', 'awaitingChangeApproval'],
  reject: ['awaitingPlanApproval', 'awaitingChangeApproval'],
  pause: ['planning', 'awaitingPlanApproval', 'awaitingUserFeedback', 'inProgress', 'awaitingChangeApproval'],
  resume: ['paused'],
  cancel: ['queued', 'planning', 'awaitingPlanApproval', 'awaitingUserFeedback', 'inProgress', 'awaitingChangeApproval', 'paused'],
  // Chat is accepted in every live state, and in `completed` while the follow-up window is open.
  send: [
    'queued',
    'planning',
    'awaitingPlanApproval',
    'awaitingUserFeedback',
    'inProgress',
    'awaitingChangeApproval',
    'paused',
    'completed',
  ],
  ask: [
    'queued',
    'planning',
    'awaitingPlanApproval',
    'awaitingUserFeedback',
    'inProgress',
    'awaitingChangeApproval',
    'paused',
    'completed',
  ],
} as const satisfies Record<string, readonly SessionState[]>;
export type Operation = keyof typeof OPERATION_STATES;

export function operationAllowed(operation: Operation, state: SessionState): boolean {
  return (OPERATION_STATES[operation] as readonly SessionState[]).includes(state);
}
