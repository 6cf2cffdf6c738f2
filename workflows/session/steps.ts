/**
 * Carrying out the plan: one step at a time, or one tool turn at a time for agents that work
 * through tools (with reviews of calls the plan does not allow). The main loop calls back in
 * after each unit, so pauses, cancels and continue-as-new fall between units.
 */
import { condition, patched } from '@temporalio/workflow';
import type { PlanStep } from '../../src/session/schema';
import { REFUSAL, ReviewInput } from '../../src/protocol/messages';
import { activities, chatOptions, workOptions } from './activity-options';
import { refusalFailure } from './refusals';
import { canContinueAsNew, facts, interruptible, now, type SessionContext } from './context';
import { announce } from './notify';
import { applyStepResult, budgetReached } from './progress';
import { advance, nextCall, nextReviewExpiry, overBudget } from './record';
import { summaryPhase } from './summary';
import { codeInput, publishPhase, toolStepArtifacts, treeFree } from './code';
import { applyChange, markStepBase, publishing, stepBaseIfChanged, withStepChange } from './workspace';
import { awaitReview, callDone, expireReviews, turnTaken, workDone, workOn } from './tool-work';

/**
 * How many earlier step outcomes a step's request carries, newest last. Every step and every tool
 * turn is an activity input in history: carrying all of them made a plan's history grow with the
 * square of its steps (bench growth). The summary still gets every outcome.
 */
export const PREVIOUS_OUTCOMES = 20;
const recent = <T>(outcomes: readonly T[]): T[] => outcomes.slice(-PREVIOUS_OUTCOMES);

/** Tool grants allow exactly the arguments they name; sessions started before keep the old rule (see grantedBy). */
const EXACT_GRANTS = 'exact-tool-grants';

export async function stepPhase(ctx: SessionContext): Promise<void> {
  const s = ctx.session;
  const r = s.record;
  const plan = r.plan!;
  // A code session whose steps and summary are done publishes its change.
  if (publishing(s)) return publishPhase(ctx);
  const step = plan.steps[r.currentStep ?? 0];
  if (step?.tools) return workThroughTools(ctx, step);
  if (step) {
    if (ctx.replyInTree) await treeFree(ctx);
    const result = await interruptible(ctx, () =>
      activities.executeStep.executeWithOptions({ ...workOptions, summary: `step ${step.index + 1}/${plan.steps.length}: ${step.title}` }, [
        { ...facts(ctx), plan, step, previous: recent(r.stepOutcomes), ...codeInput(ctx) },
      ]),
    );
    if (!result || r.state !== 'inProgress') return;
    // A code session records what the step changed, and shows it as the step's changeSet artifact.
    applyStepResult(s, step, withStepChange(s, result.title ?? step.title, result), now());
    if (r.state !== 'inProgress' || (r.currentStep ?? 0) < plan.steps.length) return;
  }
  await summaryPhase(ctx, plan);
}

/**
 * One unit of a step an agent carries out through tools: a model turn, or the next tool call
 * (run, or denied, or waited for while its review is open).
 */
async function workThroughTools(ctx: SessionContext, step: PlanStep): Promise<void> {
  const s = ctx.session;
  const r = s.record;
  const plan = r.plan!;
  const work = workOn(s, step);
  markStepBase(s, step.id);
  const next = nextCall(s);
  if (next) {
    if (next.waiting) return awaitReview(s, now());
    const { call, decision } = next;
    if (decision?.decision === 'deny') {
      callDone(s, call, { status: 'denied', output: `denied by ${decision.by}: ${decision.reason ?? 'no reason given'}` }, now());
    } else {
      const args = decision?.arguments ?? call.arguments;
      if (ctx.replyInTree) await treeFree(ctx);
      const result = await interruptible(ctx, () =>
        activities.runTool.executeWithOptions({ ...workOptions, summary: `tool ${call.tool} (step ${step.index + 1})` }, [
          { sessionId: s.config.id, stepId: step.id, call: { ...call, arguments: args }, agent: s.config.agent, ...codeInput(ctx) },
        ]),
      );
      if (!result || r.state !== 'inProgress') return;
      if (result.change) applyChange(s, result.change);
      callDone(s, call, result, now());
    }
    return advance(s, 'inProgress', now());
  }
  if (overBudget(s)) return budgetReached(s, now());
  if (ctx.replyInTree) await treeFree(ctx);
  const turn = await interruptible(ctx, () =>
    activities.turn.executeWithOptions(
      { ...workOptions, summary: `step ${step.index + 1}/${plan.steps.length}, turn ${work.turn + 1}: ${step.title}` },
      [{ ...facts(ctx), plan, step, previous: recent(r.stepOutcomes), turn: work.turn, toolResults: work.results, ...codeInput(ctx) }],
    ),
  );
  if (!turn || r.state !== 'inProgress') return;
  const open = new Set(r.reviews.map((x) => x.id));
  if (turnTaken(s, step, turn, now(), () => patched(EXACT_GRANTS))) {
    // A code session's tool step that changed the tree shows its whole diff on the step's event.
    // (Other sessions never await here, so their command order is as it was.)
    const base = stepBaseIfChanged(s, step.id);
    const artifacts = base === undefined ? [] : await toolStepArtifacts(ctx, step, base);
    if (!artifacts) return;
    workDone(s, step, turn.text, now(), artifacts);
  }
  for (const review of r.reviews.filter((x) => !open.has(x.id))) announce(ctx, { kind: 'reviewRequested', review });
  advance(s, 'inProgress', now());
}

/** Waits for reviews under the session's review policy: a review nobody decided in time is denied. */
export async function awaitReviews(ctx: SessionContext): Promise<void> {
  const s = ctx.session;
  const expiry = nextReviewExpiry(s)!;
  const moved = await condition(
    () => s.record.state !== 'awaitingUserFeedback' || nextReviewExpiry(s) !== expiry || canContinueAsNew(ctx),
    Math.max(expiry - Date.now(), 1),
  );
  if (!moved) expireReviews(s, now());
}

/** Edited arguments are checked by the agent against the tool's own schema before the decision is taken. */
export async function checkedReview(ctx: SessionContext, raw: unknown): Promise<unknown> {
  const parsed = ReviewInput.safeParse(raw ?? {});
  if (!parsed.success || parsed.data.decision !== 'edit') return raw;
  const review = ctx.session.record.reviews.find((r) => r.id === parsed.data.reviewId);
  if (!review) return raw;
  const check = await activities.checkToolArguments.executeWithOptions({ ...chatOptions, summary: `check arguments of ${review.tool}` }, [
    { tool: review.tool, arguments: parsed.data.arguments ?? {}, agent: ctx.session.config.agent },
  ]);
  if (!check.ok) {
    throw refusalFailure({
      type: REFUSAL.invalidArgument,
      message: `invalid arguments for ${review.tool}: ${check.field}: ${check.message}`,
      details: { state: ctx.session.record.state, field: `arguments.${check.field}` },
    });
  }
  return { ...parsed.data, arguments: check.arguments };
}
