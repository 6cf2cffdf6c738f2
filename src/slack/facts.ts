/**
 * Who approved, rejected, paused or cancelled: the session view does not carry it, the timeline
 * does. The notifier reads the recent end of the timeline (as of the notification's view) so the
 * Slack message can say "approved by @alice". Only the recent end: decisions come shortly before
 * the state changes they cause, and a message that cannot name who decided is still correct.
 */
import type { Andon } from '../client/andon';
import type { SessionView, TimelineEvent } from '../session/schema';
import type { SessionFacts } from './blocks';

/** How far back from the view's newest event to look. */
const WINDOW = 200;

export type FactsLookup = (view: SessionView) => Promise<SessionFacts>;

/** Reads facts through the session's `timeline` query. */
export function timelineFacts(andon: Andon, options: { timeoutMs?: number } = {}): FactsLookup {
  return async (view) => {
    const after = Math.max(0, view.lastSeq - WINDOW);
    const page = await andon.session(view.id).timeline({ after, limit: WINDOW, timeoutMs: options.timeoutMs ?? 5_000 });
    return factsFrom(
      page.events.filter((event) => event.seq <= view.lastSeq),
      view,
    );
  };
}

export function factsFrom(events: readonly TimelineEvent[], view: SessionView): SessionFacts {
  const facts: SessionFacts = { approvals: [] };
  for (const event of events) {
    switch (event.type) {
      // Plan ids are per round, so these are the approvals of the plan the view shows.
      case 'approvalRecorded':
      case 'planApproved':
        if (event.planId === view.plan?.id) facts.approvals.push({ by: event.by, comment: event.comment });
        break;
      case 'planRejected':
        facts.rejection = { by: event.by, reason: event.reason, replan: event.replan };
        break;
      case 'agentMessaged':
        // A message that answers nobody is the agent's own question (planning waits for its answer).
        if (event.inReplyTo === undefined) facts.question = event.message;
        break;
      case 'sessionPaused':
        facts.pausedBy = event.by;
        break;
      case 'sessionCancelled':
        facts.cancelledBy = event.by;
        break;
    }
  }
  return facts;
}
