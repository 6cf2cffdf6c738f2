/**
 * Every message the session understands, registered in one place. The commands that exist both
 * as an update (the caller gets the view, or a clear refusal) and as a signal (a refusal is noted
 * on the timeline as `inputRejected`) are defined once each in COMMANDS; both forms, and the
 * update's validator, are generated from that definition.
 *
 * Validators run before anything is written to history, so an update they refuse leaves no
 * trace: they run the command's own decision with apply = false.
 */
import type { SignalDefinition, UpdateDefinition } from '@temporalio/common';
import { ApplicationFailure, setHandler } from '@temporalio/workflow';
import { isTerminal, type SessionView } from '../../src/session/schema';
import {
  agentEventsSignal,
  alertSignal,
  approveSignal,
  approveUpdate,
  askUpdate,
  cancelSignal,
  cancelUpdate,
  decideStepSignal,
  decideStepUpdate,
  pauseSignal,
  pauseUpdate,
  rejectSignal,
  rejectUpdate,
  resumeSignal,
  resumeUpdate,
  reviewSignal,
  reviewUpdate,
  sendSignal,
  timelineQuery,
  viewQuery,
  writeMemoryUpdate,
} from '../../src/protocol/messages';
import { receiveAgentEvents } from './agent-events';
import { approve } from './approval';
import { ask, checkAsk, send } from './chat';
import { decideAlert, decideApprove, decideCancel, decidePause, decideReject, decideResume, decideReview, decideStep } from './commands';
import { failureReason, now, stopWork, type SessionContext } from './context';
import { byOf, throwIfRefused } from './refusals';
import { checkWriteMemory, writeMemory } from './memory';
import { noteRejected } from './progress';
import { timelinePage, view, type Refusal } from './record';
import { checkedReview } from './steps';
import { registerWatchers } from './watchers';

/** A command that is both an update and a signal of the same name. */
interface Command {
  description: string;
  /** Checks the input and state; with `apply`, changes the session. */
  decide(ctx: SessionContext, raw: unknown, apply: boolean): Refusal | undefined;
  /** Work done before deciding, which may refuse by throwing (a signal notes that refusal). */
  prepare?(ctx: SessionContext, raw: unknown): Promise<unknown>;
  /** What happens once the command took effect. */
  then?(ctx: SessionContext): void;
}

const COMMANDS: CommandPair[] = [
  pair(approveUpdate, approveSignal, {
    description: 'Approve the plan awaiting approval. Input: {planId?, by?, comment?}. Returns the session view.',
    decide: (ctx, raw, apply) => (apply ? approve(ctx, raw) : decideApprove(ctx.session, raw, now(), false)),
  }),
  pair(rejectUpdate, rejectSignal, {
    description: 'Reject the plan awaiting approval. Input: {reason, planId?, by?, replan?}. Returns the session view.',
    decide: (ctx, raw, apply) => decideReject(ctx.session, raw, now(), apply),
  }),
  pair(pauseUpdate, pauseSignal, {
    description: 'Pause after the current step. Input: {by?, reason?}. Returns the session view.',
    decide: (ctx, raw, apply) => decidePause(ctx.session, raw, now(), apply),
  }),
  pair(resumeUpdate, resumeSignal, {
    description:
      'Resume a paused session. Input: {by?, budget?}; a new budget needs someone the approval policy allows. Returns the session view.',
    decide: (ctx, raw, apply) => decideResume(ctx.session, raw, now(), apply),
  }),
  pair(cancelUpdate, cancelSignal, {
    description: 'Cancel now (the andon cord): stops the work in flight. Input: {reason, by?}. Returns the session view.',
    decide: (ctx, raw, apply) => decideCancel(ctx.session, raw, now(), apply),
    then: stopWork,
  }),
  pair(reviewUpdate, reviewSignal, {
    description:
      'Decide a tool call awaiting review. Input: {reviewId, decision: approve|deny|edit, reason?, arguments?, by?}. Returns the session view.',
    decide: (ctx, raw, apply) => decideReview(ctx.session, raw, now(), apply),
    prepare: checkedReview,
  }),
  pair(decideStepUpdate, decideStepSignal, {
    description:
      'Decide a failed step under the approval policy: retry it, skip it, or abort the session. Input: {decision: retry|skip|abort, stepId?, reason?, by?}. Returns the session view.',
    decide: (ctx, raw, apply) => decideStep(ctx.session, raw, now(), apply),
  }),
];

/** Registers every handler; called before the workflow's first `await`, so no early message is lost. */
export function registerHandlers(ctx: SessionContext): void {
  for (const command of COMMANDS) command.registerUpdate(ctx);
  setHandler(askUpdate, (raw) => ask(ctx, raw), {
    validator: (raw) => checkAsk(ctx, raw),
    description: "Send a message and wait for the agent's reply. Input: {message, messageId?, by?}. Returns {messageId, reply}.",
  });
  setHandler(writeMemoryUpdate, (raw) => writeMemory(ctx, raw), {
    validator: (raw) => checkWriteMemory(ctx, raw),
    description: 'Remember something for this session, its agent or its service. Input: {content, scope?, by?}. Returns {memoryId}.',
  });
  for (const command of COMMANDS) command.registerSignal(ctx);
  setHandler(alertSignal, (raw) => receiveAlert(ctx, raw));
  setHandler(sendSignal, (raw) => send(ctx, raw));
  setHandler(agentEventsSignal, (raw) => receiveAgentEvents(ctx.session, raw, now()));

  setHandler(viewQuery, () => view(ctx.session), { description: 'The session view: state, plan, outputs, lastSeq.' });
  setHandler(timelineQuery, (raw) => timelinePage(ctx.session, raw), {
    description: 'A page of the timeline. Input: {after?: seq, limit?: 1..1000}. Returns {events, lastSeq, state}.',
  });
  registerWatchers(ctx);
}

// ---------------------------------------------------------------------------------------------

interface CommandPair {
  registerUpdate(ctx: SessionContext): void;
  registerSignal(ctx: SessionContext): void;
}

/** The update and the signal of one command, both from its single definition. */
function pair<I>(update: UpdateDefinition<SessionView, [I]>, signal: SignalDefinition<[I]>, command: Command): CommandPair {
  const { decide, prepare, then } = command;
  /** Update: a refusal fails the update; otherwise the caller gets the new view. */
  const orThrow = (ctx: SessionContext, raw: unknown): SessionView => {
    const refusal = decide(ctx, raw, true);
    throwIfRefused(refusal);
    const result = view(ctx.session);
    then?.(ctx);
    return result;
  };
  /** Signal: nobody to answer, so a refusal not yet on the timeline is noted there. */
  const orNote = (ctx: SessionContext, raw: unknown, original: unknown = raw): void => {
    const refusal = decide(ctx, raw, true);
    if (refusal && !refusal.recorded)
      noteRejected(ctx.session, { message: refusal.message, reason: refusal.type, by: byOf(original) }, now());
    if (!refusal) then?.(ctx);
  };
  return {
    registerUpdate: (ctx) =>
      setHandler(update, prepare ? async (raw) => orThrow(ctx, await prepare(ctx, raw)) : (raw) => orThrow(ctx, raw), {
        validator: (raw) => throwIfRefused(decide(ctx, raw, false)),
        description: command.description,
      }),
    registerSignal: (ctx) =>
      setHandler(
        signal,
        prepare
          ? async (raw) => {
              let prepared: unknown;
              try {
                prepared = await prepare(ctx, raw);
              } catch (error) {
                const reason = error instanceof ApplicationFailure ? error.message : failureReason(error);
                noteRejected(ctx.session, { message: signal.name, reason, by: byOf(raw) }, now());
                return;
              }
              orNote(ctx, prepared, raw);
            }
          : (raw) => orNote(ctx, raw),
      ),
  };
}

/** An alert notification; a resolve that ends the session stops its work, like a cancel. */
function receiveAlert(ctx: SessionContext, raw: unknown): void {
  const s = ctx.session;
  const wasTerminal = isTerminal(s.record.state);
  const refusal = decideAlert(s, raw, now());
  if (refusal && !refusal.recorded) noteRejected(s, { message: refusal.message, reason: refusal.type, by: byOf(raw) }, now());
  if (!wasTerminal && isTerminal(s.record.state)) stopWork(ctx);
}
