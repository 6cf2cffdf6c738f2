/**
 * The session context every phase and handler works on: the session (its record and rules' inputs)
 * plus what lives only as long as this workflow run (scopes of work in flight, loop flags). The
 * record is carried across continue-as-new; nothing else here is.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  allHandlersFinished,
  isCancellation,
  workflowInfo,
} from '@temporalio/workflow';
import { AGENT_REJECTED, STEP_FAILED } from '../../src/protocol/failures';
import { isTerminal, type NotifyTargets } from '../../src/session/schema';
import type { SessionWorkflowInput } from '../../src/protocol/messages';
import { end, outgrown, type Session } from './record';
import { stepFailed } from './progress';

export interface SessionContext {
  readonly input: SessionWorkflowInput;
  readonly session: Session;
  /** Where the session is announced, if anywhere. */
  readonly targets: NotifyTargets | undefined;
  /** Replies the agent could not give, by message id, so the waiting `ask` fails with the reason. */
  readonly replyFailures: Map<string, string>;
  /** The scope of the planning or step activity in flight, so `cancel` can stop it now. */
  current?: CancellationScope;
  /** The scope of the chat reply in flight: a session that ends stops it too. */
  replying?: CancellationScope;
  chatBusy: boolean;
  /** A chat reply has the code session's tree open: the main loop's next call on the tree waits for it. */
  replyInTree?: boolean;
  notifying: boolean;
  /** The session ended: the chat and notify loops finish. */
  closing: boolean;
  /** Watchers' `waitForEvents` updates in flight (watchers.ts). */
  watchers: number;
  /** Local activities in flight (see `local`): watchers' waits are refused meanwhile. */
  localActivities: number;
  /** The pending-review count last written to visibility (sessions that never had a review never write it). */
  indexedReviews?: number;
}

/** The workflow's clock (deterministic inside a workflow). */
export const now = (): Date => new Date();

/**
 * What every agent call is told about the session. One place, so a new fact (e.g. the agent's
 * name) is added once for plan, step, turn, reply and summary.
 */
export function facts(ctx: SessionContext) {
  const { config } = ctx.session;
  // The agent the session chose (unset: the worker's default); absent in older sessions' inputs.
  return { sessionId: config.id, prompt: config.prompt, title: config.title, context: config.context, agent: config.agent };
}

/** Cancel took effect: stop the work and the reply in flight. */
export function stopWork(ctx: SessionContext): void {
  ctx.current?.cancel();
  ctx.replying?.cancel();
}

/**
 * Continue-as-new when the server suggests it (history events or bytes), or when the run's
 * timeline outgrew its byte budget (so the next run's input stays far below the 2 MB payload limit).
 */
export function canContinueAsNew(ctx: SessionContext): boolean {
  return continueAsNewDue(ctx) && allHandlersFinished();
}

/**
 * Runs a local activity, counted so watchers' waits are refused while it runs. A local activity's
 * result is recorded as a marker in the task that started it, so on replay it resolves earlier
 * than it did live: an update accepted in the task that delivered the result would replay in
 * another order than it ran (a nondeterminism error, seen in a test). Counting adds no command.
 */
export async function local<T>(ctx: SessionContext, run: () => Promise<T>): Promise<T> {
  ctx.localActivities++;
  try {
    return await run();
  } finally {
    ctx.localActivities--;
  }
}

/**
 * Continue-as-new is due once handlers finish. Watchers' waits (watchers.ts) answer when this
 * holds, so a watched session still continues as new.
 */
export function continueAsNewDue(ctx: SessionContext): boolean {
  return (workflowInfo().continueAsNewSuggested || outgrown(ctx.session)) && !ctx.chatBusy && !ctx.notifying;
}

/**
 * Chat starts no new reply while continue-as-new is due: under a steady stream of messages the
 * chat loop would otherwise never be idle, and the run would grow to Temporal's history limit.
 * Not while a handler runs (an `ask` waits for its reply) nor once the session closes (the queue
 * drains). The held messages are carried and answered by the next run.
 */
export function holdChatForContinueAsNew(ctx: SessionContext): boolean {
  const s = ctx.session;
  return s.bounded && !ctx.closing && (workflowInfo().continueAsNewSuggested || outgrown(s)) && allHandlersFinished();
}

/**
 * Runs one activity so that `cancel` can interrupt it. Returns undefined if the session ended
 * meanwhile, or if the activity failed (the failure is applied to the session).
 */
export async function interruptible<T>(ctx: SessionContext, fn: () => Promise<T>): Promise<T | undefined> {
  const s = ctx.session;
  const scope = new CancellationScope();
  ctx.current = scope;
  try {
    return await scope.run(fn);
  } catch (error) {
    if (isCancellation(error)) {
      // Our own `cancel` ended the session; otherwise the whole workflow is being cancelled.
      if (isTerminal(s.record.state)) return undefined;
      throw error;
    }
    if (error instanceof ActivityFailure && !isTerminal(s.record.state)) {
      // Only a step can be retried or skipped; the plan call and the summary fail the session.
      const r = s.record;
      const inStep = r.state === 'inProgress' && (r.currentStep ?? 0) < (r.plan?.steps.length ?? 0);
      if (inStep && isStepFailure(error)) stepFailed(s, failureReason(error), now());
      else end(s, 'failed', failureReason(error), 'system', now());
      return undefined;
    }
    throw error;
  } finally {
    ctx.current = undefined;
  }
}

/** The backend said the step failed in a way a person should judge (AgentError code `StepFailed`). */
function isStepFailure(error: ActivityFailure): boolean {
  const cause = error.cause;
  return cause instanceof ApplicationFailure && cause.type === AGENT_REJECTED && cause.details?.[0] === STEP_FAILED;
}

export function failureReason(error: unknown): string {
  if (error instanceof ActivityFailure) {
    const cause = error.cause;
    if (cause instanceof ApplicationFailure && cause.type === 'ActivityTimeout') return cause.message;
    return cause?.message ?? error.message;
  }
  return error instanceof Error ? error.message : String(error);
}
