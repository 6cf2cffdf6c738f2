/**
 * Chat beside the session's process: messages are answered in order by their own loop, even while
 * the agent works or waits, and after completion for the follow-up window.
 */
import { ApplicationFailure, CancellationScope, condition, isCancellation, patched } from '@temporalio/workflow';
import { isTerminal } from '../../src/session/schema';
import { REFUSAL, type AskResult } from '../../src/protocol/messages';
import { activities, chatOptions, quick, quickOptions } from './activity-options';
import { decideMessage } from './commands';
import { canContinueAsNew, facts, failureReason, holdChatForContinueAsNew, local, now, type SessionContext } from './context';
import { byOf, refusalFailure } from './refusals';
import { announce } from './notify';
import { answer, dropMessage, dropQueue, noteRejected } from './progress';
import { addUsage, answerTo, isQueued, transcript } from './record';
import { replyCode } from './code';

/** Patch: replies used to run as local activities; sessions started before keep that shape. */
const REPLIES_AS_ACTIVITIES = 'replies-as-activities';
/** At most this many failed replies are kept for asks that have not read theirs. */
const REMEMBERED_FAILURES = 200;

/** Validates an `ask` before it is accepted (nothing is written for a refused one). */
export function checkAsk(ctx: SessionContext, raw: unknown): void {
  const outcome = decideMessage(ctx.session, 'ask', raw, now(), false);
  if (outcome && 'type' in outcome) throw refusalFailure(outcome);
}

/** Accepts a message and waits for the agent's reply to it. */
export async function ask(ctx: SessionContext, raw: unknown): Promise<AskResult> {
  const s = ctx.session;
  const accepted = decideMessage(s, 'ask', raw, now());
  if ('type' in accepted) throw refusalFailure(accepted);
  const { messageId } = accepted;
  await condition(() => answerTo(s, messageId) !== undefined || !isQueued(s, messageId));
  const reply = answerTo(s, messageId);
  const failure = ctx.replyFailures.get(messageId);
  if (failure !== undefined) {
    ctx.replyFailures.delete(messageId);
    throw ApplicationFailure.create({
      type: REFUSAL.replyFailed,
      message: `the agent could not reply: ${failure}`,
      details: [{ state: s.record.state }],
      nonRetryable: true,
    });
  }
  if (reply === undefined) {
    throw ApplicationFailure.create({
      type: REFUSAL.sessionEnded,
      message: `session ${s.config.id} ended (${s.record.state}) before the agent answered`,
      details: [{ state: s.record.state }],
      nonRetryable: true,
    });
  }
  return { messageId, reply };
}

/** Accepts a message without waiting; a refused one is noted on the timeline. */
export function send(ctx: SessionContext, raw: unknown): void {
  const outcome = decideMessage(ctx.session, 'send', raw, now());
  if ('type' in outcome && !outcome.recorded)
    noteRejected(ctx.session, { message: outcome.message, reason: outcome.type, by: byOf(raw) }, now());
}

export async function chatLoop(ctx: SessionContext): Promise<void> {
  const s = ctx.session;
  const r = s.record;
  for (;;) {
    await condition(() => (r.queue.length > 0 && !holdChatForContinueAsNew(ctx)) || ctx.closing);
    const message = r.queue[0];
    if (!message) return;
    // A session that failed or was cancelled does not call the agent again; its open asks are told so.
    // Checked on the state, not on `closing`: a message accepted in the same activation as a cancel
    // wakes this loop before the main loop has seen the cancel and set `closing`.
    if (r.state === 'failed' || r.state === 'cancelled') {
      dropQueue(s);
      return;
    }
    ctx.chatBusy = true;
    try {
      // A code session's reply sees the tree only while nothing else works on it (replyCode).
      const code = replyCode(ctx);
      const request = { ...facts(ctx), state: r.state, plan: r.plan, message: message.text, transcript: transcript(s), ...code };
      if (code.code) ctx.replyInTree = true;
      const summary = `reply to ${message.id}`;
      // Replies used to run as local activities, which froze the whole session (commands,
      // queries, cancel) while a reply was written; sessions started before keep that shape.
      ctx.replying = new CancellationScope();
      const { message: reply, usage } = await ctx.replying.run(() =>
        patched(REPLIES_AS_ACTIVITIES)
          ? activities.reply.executeWithOptions({ ...chatOptions, summary }, [request])
          : local(ctx, () => quick.reply.executeWithOptions({ ...quickOptions, summary }, [request])),
      );
      addUsage(s, usage);
      answer(s, message.id, reply, now());
      // A question asked in the session's Slack thread is answered there.
      if (message.by.startsWith('slack:')) announce(ctx, { kind: 'agentReplied', reply: { messageId: message.id, text: reply } });
    } catch (error) {
      if (isCancellation(error)) {
        // The session ended (its waiting ask hears SessionEnded), or the workflow is being cancelled.
        if (!isTerminal(r.state)) throw error;
        dropMessage(s, message.id);
        continue;
      }
      // An unanswerable message must not sink the session: note it and go on with the next.
      ctx.replyFailures.set(message.id, failureReason(error));
      // Only a waiting ask reads (and removes) its entry; failed replies to sends must not pile up.
      if (ctx.replyFailures.size > REMEMBERED_FAILURES) ctx.replyFailures.delete(ctx.replyFailures.keys().next().value as string);
      dropMessage(s, message.id);
      noteRejected(s, { message: message.text, reason: `the agent could not reply: ${failureReason(error)}`, by: message.by }, now());
    } finally {
      ctx.chatBusy = false;
      ctx.replyInTree = false;
      ctx.replying = undefined;
    }
  }
}

/**
 * The follow-up window after completion: the session keeps answering, and every new message
 * restarts the window. Continue-as-new still happens when the history grows.
 */
export async function followUp(ctx: SessionContext, continueAsNewIfSuggested: () => Promise<void>): Promise<void> {
  const r = ctx.session.record;
  const window = ctx.input.config.followUpWindowMs;
  for (;;) {
    const seen = r.acceptedMessages;
    const more = await condition(() => r.acceptedMessages !== seen || canContinueAsNew(ctx), window);
    if (!more) break;
    await continueAsNewIfSuggested();
  }
}
