/**
 * One agent session = one workflow run chain (the workflow id is the session id).
 *
 * The body is a loop over the session's state: plan, wait for approval, execute steps, summarize,
 * then a follow-up window. Because each pass starts from the state alone, the loop resumes
 * correctly after continue-as-new. Chat and notifications run beside it in their own loops.
 * Waiting holds no worker: it is a `condition` on durable state.
 *
 * Where things are: handlers.ts registers every message; plan.ts, approval.ts (and its deadline),
 * steps.ts (steps and tool turns), summary.ts, chat.ts (and the follow-up window), notify.ts and
 * memory.ts are the phases, over the SessionContext of context.ts. The record they change, and its
 * rules as plain functions: record.ts, commands.ts, progress.ts, tool-work.ts.
 */
import { CancellationScope, allHandlersFinished, condition, continueAsNew, isCancellation, patched } from '@temporalio/workflow';
import { isTerminal, type SessionView } from '../../src/session/schema';
import type { SessionWorkflowInput } from '../../src/protocol/messages';
import { awaitDecision } from './approval';
import { chatLoop, followUp } from './chat';
import { canContinueAsNew, now, type SessionContext } from './context';
import { registerHandlers } from './handlers';
import { notifyLoop, showDetails, showReviews, showState } from './notify';
import { planPhase } from './plan';
import { applyCreated, applyStart } from './progress';
import { carryOver, end, nextReviewExpiry, openSession, view } from './record';
import { awaitReviews, stepPhase } from './steps';
import { preparePhase } from './code';
import { sourceOf } from './change-set';
import { needsWorkspace } from './workspace';

export async function andonSession(input: SessionWorkflowInput): Promise<SessionView> {
  const ctx = createContext(input);
  const s = ctx.session;
  // Recorded before any handler is registered: registering a handler delivers the messages that
  // arrived with the start (signal-with-start), and they must come after the creation event.
  if (input.carried === undefined) applyCreated(s, now());
  registerHandlers(ctx);
  // A cancel delivered with the start has already ended the session: then there is nothing to plan.
  // A code session stays queued until its tree is prepared (preparePhase), unless its policy is invalid.
  if (s.record.state === 'queued' && (!needsWorkspace(s) || s.policyError)) applyStart(s, now());
  else showDetails(ctx);

  const chatting = beside(chatLoop(ctx));
  const notifications = beside(ctx.targets ? notifyLoop(ctx) : Promise.resolve());
  try {
    await runToEnd(ctx);
  } catch (error) {
    // `temporal workflow cancel` (or a parent) cancelled the workflow: that is the andon cord too.
    if (!isCancellation(error)) throw error;
    if (!isTerminal(s.record.state)) end(s, 'cancelled', 'the workflow was cancelled through Temporal', 'temporal', now());
  }
  ctx.closing = true;
  await CancellationScope.nonCancellable(async () => {
    await chatting;
    await notifications;
    await condition(allHandlersFinished);
  });
  return view(s);
}

/** The session's process, one pass per state until it ends; then the follow-up window. */
async function runToEnd(ctx: SessionContext): Promise<void> {
  const s = ctx.session;
  const r = s.record;
  while (!isTerminal(r.state)) {
    await continueAsNewIfSuggested(ctx);
    const state = r.state;
    if (state === 'queued') await preparePhase(ctx);
    else if (state === 'planning') await planPhase(ctx);
    else if (state === 'inProgress') await stepPhase(ctx);
    else if ((state === 'awaitingPlanApproval' || state === 'awaitingChangeApproval') && s.policy.deadline)
      await awaitDecision(ctx, s.policy.deadline);
    else if (state === 'awaitingUserFeedback' && nextReviewExpiry(s) !== undefined) await awaitReviews(ctx);
    // Waiting states: a handler moves the session on (approve, reject, answer, resume, cancel).
    else await condition(() => r.state !== state || canContinueAsNew(ctx));
  }
  if (r.state === 'completed' && ctx.input.config.followUpWindowMs > 0) await followUp(ctx, () => continueAsNewIfSuggested(ctx));
}

/**
 * Patch: sessions keep their state within LIMITS (record.ts). Runs that began before replay as
 * they ran: they carry the whole timeline and continue-as-new only when the server suggests it.
 */
const BOUNDED_STATE = 'bounded-state';

/**
 * Continue-as-new carries the session record with the newest timeline events; the ones that left
 * that window go to the next run's input as `archived` (its start event keeps them for readers).
 */
async function continueAsNewIfSuggested(ctx: SessionContext): Promise<void> {
  if (!canContinueAsNew(ctx)) return;
  await continueAsNew<typeof andonSession>({ config: ctx.input.config, ...carryOver(ctx.session) });
}

/** A loop that runs beside the process: it ends quietly when the workflow is cancelled. */
function beside(loop: Promise<void>): Promise<void> {
  return loop.catch((error) => {
    if (!isCancellation(error)) throw error;
  });
}

/**
 * Patch: failed steps decided by `decideStep` under the approval policy (no longer by a chat
 * message), budget changes on resume by approvers only, and the approval deadline kept across a
 * pause. Runs started before keep the old rules until they continue as new.
 */
const DECISIONS_BY_POLICY = 'decisions-by-policy';

/**
 * Patch: the session's `source` is used (code sessions: its tree is prepared, changed, published).
 * Only sessions with a source ask, so every other session's history is unchanged; a session with a
 * source started before kept ignoring it.
 */
const CODE_SESSIONS = 'code-sessions';

/**
 * Patch: while a code session's change set awaits approval, an approval that names the plan's
 * hash (a late click on the plan's Approve button) is refused as stale instead of publishing a
 * diff nobody was shown. Only code sessions ask, so no other history changes.
 */
const PLAN_APPROVALS_STAY_PLANS = 'plan-approvals-stay-plans';

/** The run's context; its observer mirrors the record outside it (search attributes, details, notifications). */
function createContext(input: SessionWorkflowInput): SessionContext {
  const observer = { stateChanged: () => showState(context), reviewsChanged: () => showReviews(context) };
  const rules = {
    decisionsByPolicy: patched(DECISIONS_BY_POLICY),
    codeSessions: sourceOf(input.config.source) !== undefined && patched(CODE_SESSIONS),
    planApprovalsStayPlans: sourceOf(input.config.source) !== undefined && patched(PLAN_APPROVALS_STAY_PLANS),
  };
  const session = openSession(input, now(), observer, rules, patched(BOUNDED_STATE));
  const reviews = session.record.reviews.length;
  const context: SessionContext = {
    input,
    session,
    targets: input.config.notify,
    replyFailures: new Map(),
    chatBusy: false,
    notifying: false,
    closing: false,
    watchers: 0,
    localActivities: 0,
    // A continued session indexed its pending reviews already.
    indexedReviews: input.carried !== undefined && reviews > 0 ? reviews : undefined,
  };
  return context;
}
