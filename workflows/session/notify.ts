/**
 * What the world sees of a session beside its queries: search attributes, the Temporal UI's
 * current details, and notifications (Slack, webhooks) sent one at a time by their own loop.
 */
import { condition, isCancellation, setCurrentDetails, upsertSearchAttributes } from '@temporalio/workflow';
import { PENDING_REVIEWS_ATTRIBUTE, SLACK_THREAD_ATTRIBUTE, STATE_ATTRIBUTE } from '../../src/session/search-attributes';
import { activities, notifyOptions } from './activity-options';
import type { SessionContext } from './context';
import { renderDetails } from './details';
import { applySlackMessage, queueOutgoing, takeOutgoing } from './progress';
import { view, type Outgoing } from './record';
import { codeSource } from './workspace';
import { describeSource } from '../../src/session/schema';

/** The session changed state: index it, show it, announce it. */
export function showState(ctx: SessionContext): void {
  const r = ctx.session.record;
  upsertSearchAttributes([{ key: STATE_ATTRIBUTE, value: r.state }]);
  setCurrentDetails(renderDetails(r, ctx.session.config.agent, sourceLine(ctx)));
  announce(
    ctx,
    r.state === 'awaitingPlanApproval' || r.state === 'awaitingChangeApproval' ? { kind: 'approvalRequested' } : { kind: 'stateChanged' },
  );
}

/** The set of pending reviews changed: index their count when it changed, and keep the announcement current. */
export function showReviews(ctx: SessionContext): void {
  const r = ctx.session.record;
  if (r.reviews.length === (ctx.indexedReviews ?? 0)) return;
  ctx.indexedReviews = r.reviews.length;
  upsertSearchAttributes([{ key: PENDING_REVIEWS_ATTRIBUTE, value: ctx.indexedReviews }]);
  setCurrentDetails(renderDetails(r, ctx.session.config.agent, sourceLine(ctx)));
  // The announced message shows how many calls await review: keep it current.
  announce(ctx, { kind: 'stateChanged' });
}

export function showDetails(ctx: SessionContext): void {
  setCurrentDetails(renderDetails(ctx.session.record, ctx.session.config.agent, sourceLine(ctx)));
}

/** A code session's source as one line, for the details. */
function sourceLine(ctx: SessionContext): string | undefined {
  const source = codeSource(ctx.session);
  return source ? describeSource(source) : undefined;
}

/** Queues a notification for the notify loop; state updates coalesce (the latest view is sent). */
export function announce(ctx: SessionContext, outgoing: Outgoing): void {
  const r = ctx.session.record;
  // Before anything was posted, planning is not news; after (a re-plan), the message must stop offering the old plan.
  if (!ctx.targets || ((r.state === 'planning' || r.state === 'queued') && !r.slack)) return;
  queueOutgoing(ctx.session, outgoing);
}

/**
 * Sends notifications one at a time, beside the session: a slow or rate-limited chat service
 * delays the announcement, never the session. A notification that cannot be sent is given up.
 */
export async function notifyLoop(ctx: SessionContext): Promise<void> {
  const s = ctx.session;
  for (;;) {
    await condition(() => s.record.outbox.length > 0 || ctx.closing);
    // Taken off the queue before sending: `announce` may drop queued state updates meanwhile
    // (a newer view supersedes them), and must not drop the one in flight instead.
    const outgoing = takeOutgoing(s);
    if (!outgoing || !ctx.targets) return;
    ctx.notifying = true;
    try {
      const result = await activities.notify.executeWithOptions({ ...notifyOptions, summary: `notify: ${outgoing.kind}` }, [
        { ...outgoing, targets: ctx.targets, view: view(s), slack: s.record.slack },
      ]);
      if (applySlackMessage(s, result.slack)) {
        const slack = s.record.slack!;
        upsertSearchAttributes([{ key: SLACK_THREAD_ATTRIBUTE, value: `${slack.channel}:${slack.ts}` }]);
      }
    } catch (error) {
      if (isCancellation(error)) throw error;
    } finally {
      ctx.notifying = false;
    }
  }
}
