/**
 * Steps an agent carries out through tools: model turns, tool calls, reviews of the calls the
 * plan does not allow, and their expiry. Functions over the session record, like the rest.
 */
import type { TurnResult } from '../../src/agents/agent';
import type { Artifact, PlanStep, Review, ToolCall, ToolGrant } from '../../src/session/schema';
import { decideReview } from './commands';
import { addUsage, advance, lastSeq, recordEvent, type Session, type StepWork } from './record';

/** How much of a tool's output or the model's text goes on the timeline; the agent keeps the rest. */
export const TIMELINE_TEXT_CHARS = 4_000;

/** The work on `step`, begun if it was not. */
export function workOn(s: Session, step: PlanStep): StepWork {
  if (s.record.work?.stepId !== step.id) s.record.work = { stepId: step.id, turn: 0, calls: [], results: [], decisions: {} };
  return s.record.work;
}

/**
 * Takes a model turn's answer. Its text goes on the timeline as one batch; each tool call the
 * plan does not allow (or whose tool is risky) becomes a review request at once, so reviewers see
 * everything the model asked for, while calls still run in the order the model gave them.
 * Returns true when the model called no tool: the step is done.
 */
export function turnTaken(s: Session, step: PlanStep, result: TurnResult, now: Date, exactGrants: () => boolean = () => true): boolean {
  const work = workOn(s, step);
  addUsage(s, result.usage);
  if (result.text.trim()) recordEvent(s, { type: 'agentMessaged', originator: 'agent', message: clip(result.text) }, now);
  work.turn += 1;
  work.results = [];
  work.calls = result.toolCalls;
  const expireAfter = s.config.review?.expireAfter;
  for (const call of result.toolCalls) {
    const grants = step.tools ?? [];
    // Sessions that began before grants were exact keep the old rule (a grant pins only the arguments it names).
    if (!call.risky && (grantedBy(grants, call) || (grantedByPinned(grants, call) && !exactGrants()))) continue;
    const review: Review = {
      id: `review-${lastSeq(s) + 1}`,
      stepId: step.id,
      toolCallId: call.id,
      tool: call.tool,
      arguments: call.arguments,
      reason: call.risky ? 'risky' : 'outsidePlan',
      createdAt: now.toISOString(),
      expiresAt: expireAfter !== undefined ? new Date(now.getTime() + expireAfter).toISOString() : undefined,
    };
    s.record.reviews.push(review);
    recordEvent(s, { type: 'reviewRequested', originator: 'agent', review }, now);
  }
  if (s.record.reviews.length > 0) s.observer.reviewsChanged?.(s);
  return result.toolCalls.length === 0;
}

/** The model's next call waits for a review: the session waits for a person (or pauses, if asked to). */
export function awaitReview(s: Session, now: Date): void {
  advance(s, 'awaitingUserFeedback', now);
}

/** A tool call ran, or was denied: the model reads the result on its next turn. */
export function callDone(s: Session, call: ToolCall, result: { status: 'ok' | 'error' | 'denied'; output: string }, now: Date): void {
  const work = s.record.work!;
  const decision = work.decisions[call.id];
  const args = decision?.arguments ?? call.arguments;
  recordEvent(
    s,
    {
      type: 'toolCalled',
      originator: 'agent',
      stepId: work.stepId,
      toolCallId: call.id,
      tool: call.tool,
      arguments: args,
      status: result.status,
      output: clip(result.output),
      reviewedBy: decision?.by,
    },
    now,
  );
  work.results.push({
    toolCallId: call.id,
    tool: call.tool,
    status: result.status,
    output: clip(result.output),
    editedArguments: decision?.arguments,
  });
  work.calls.shift();
  delete work.decisions[call.id];
}

/** The step's last turn called no tool: the step is done, its text is the outcome. */
export function workDone(s: Session, step: PlanStep, text: string, now: Date, artifacts: Artifact[] = []): void {
  const description = clip(text.trim() || 'done');
  recordEvent(s, { type: 'progressUpdated', originator: 'agent', title: step.title, description, stepId: step.id, artifacts }, now);
  s.record.stepOutcomes.push({ stepId: step.id, title: step.title, description });
  s.record.work = undefined;
  s.record.currentStep = step.index + 1;
}

/** Denies every review whose time ran out: the model hears that nobody decided. */
export function expireReviews(s: Session, now: Date): void {
  for (const review of s.record.reviews.filter((r) => r.expiresAt && Date.parse(r.expiresAt) <= now.getTime())) {
    decideReview(
      s,
      { reviewId: review.id, decision: 'deny', reason: 'nobody reviewed this call in time', by: 'policy:review-expired' },
      now,
    );
  }
}

/**
 * Whether the plan's grants for this step allow `call`: a grant of the same tool with exactly the
 * call's arguments, no more and no fewer. A grant without arguments allows only a call without
 * arguments, never any call of the tool: an approver approves the calls they read, so text the
 * model reads later (a log line, an alert) cannot widen them. Any other call becomes a review.
 */
export function grantedBy(grants: readonly ToolGrant[], call: Pick<ToolCall, 'tool' | 'arguments'>): boolean {
  return grants.some((grant) => grant.tool === call.tool && sameJson(definedOnly(call.arguments), definedOnly(grant.arguments ?? {})));
}

/** The rule before grants were exact: the tool is granted, and every argument the grant names has that value. */
export function grantedByPinned(grants: readonly ToolGrant[], call: Pick<ToolCall, 'tool' | 'arguments'>): boolean {
  return grants.some(
    (grant) =>
      grant.tool === call.tool && Object.entries(grant.arguments ?? {}).every(([key, value]) => sameJson(call.arguments[key], value)),
  );
}

function definedOnly(args: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(args).filter(([, value]) => value !== undefined));
}

function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a as object);
  const kb = Object.keys(b as object);
  return ka.length === kb.length && ka.every((k) => sameJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

function clip(text: string): string {
  return text.length <= TIMELINE_TEXT_CHARS
    ? text
    : `${text.slice(0, TIMELINE_TEXT_CHARS)}… (${text.length - TIMELINE_TEXT_CHARS} more characters kept by the agent)`;
}
