/**
 * How the session calls its activities: timeouts and retries in one place. Options are given per
 * call (`executeWithOptions`) so each activity gets a summary in the Temporal UI.
 */
import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { SessionActivities } from '../../activities';

const retry = { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts: 10 } as const;
/** Planning and steps may run long: they heartbeat, so a dead worker is noticed in 30 s, not 30 min. */
export const workOptions = { startToCloseTimeout: '30m', heartbeatTimeout: '30s', retry } as const;
/**
 * Publishing a code session's change: pushing and opening a pull request are idempotent, so they
 * may be retried; a rate limit's wait comes from GitHub (nextRetryDelay).
 */
export const publishOptions = { startToCloseTimeout: '15m', heartbeatTimeout: '30s', retry } as const;
/** Chat replies should come back within minutes or not at all; they heartbeat like the rest. */
export const chatOptions = { startToCloseTimeout: '2m', heartbeatTimeout: '30s', retry: { ...retry, maximumAttempts: 5 } } as const;
/**
 * The summary runs once, at the end, and is wanted at once: as a local activity it runs inside
 * the workflow task, one marker event instead of six, which keeps a standard session within its
 * history budget. The price: while it runs, the session answers nothing (it is the last call).
 */
export const quickOptions = { startToCloseTimeout: '2m', retry: { ...retry, maximumAttempts: 5 } } as const;
/** A notification may wait out a chat service's rate limits, but not forever: it is given up after 10 minutes. */
export const notifyOptions = {
  startToCloseTimeout: '30s',
  scheduleToCloseTimeout: '10m',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
} as const;

export const activities = proxyActivities<SessionActivities>(workOptions);
export const quick = proxyLocalActivities<SessionActivities>(quickOptions);
