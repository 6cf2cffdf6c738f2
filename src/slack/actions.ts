/**
 * What a Slack user can do to a session, done as them (`by: slack:<user id>`), each returning
 * what to tell them. The session decides: a refused approval (nothing awaits one, a stale plan, a
 * policy that does not allow this person) comes back as a typed error whose message says why,
 * and that message is what the person reads.
 */
import type { Andon } from '../client/andon';
import { AgentReplyError, AndonError, InvalidStateError, TimeoutError, UnavailableError, ValidationError } from '../client/errors';
import type { ReviewDecisionInput } from '../protocol/inputs';
import { isTerminal, type Review, type SessionState, type SessionView } from '../session/schema';
import { escapeText, reviewList, reviewMessage, sessionList, sessionMessage, type ReviewVerdict, type SlackMessage } from './blocks';
import { slackActor } from './ids';

/** What `list` shows without a state: sessions someone may still need to act on. */
const OPEN_STATES: SessionState[] = ['queued', 'planning', 'awaitingPlanApproval', 'awaitingUserFeedback', 'inProgress', 'paused'];

/** A decision on a tool call awaiting review. */

/** What became of a decision on a review. */
export type ReviewAttempt =
  | { kind: 'decided'; view: SessionView }
  /** The input was refused (edited arguments the tool's schema rejects, ...): `field` is the first bad one. */
  | { kind: 'invalid'; field: string; message: string }
  /** No call awaits review under that id any more: decided already, or its session ended. */
  | { kind: 'gone'; message: string }
  | { kind: 'failed'; message: SlackMessage };

/** How far back the timeline is read for a review's request and decision. */
const TIMELINE_PAGES = 10;
const TIMELINE_PAGE = 1_000;

export interface SessionActionsOptions {
  /** The session's page in the Temporal UI, for status answers. */
  sessionUrl?: (sessionId: string) => string | undefined;
  warn: (message: string) => void;
}

export class SessionActions {
  constructor(
    private readonly andon: Andon,
    private readonly options: SessionActionsOptions,
  ) {}

  async approve(user: string, input: { sessionId: string; planId?: string; planHash?: string; comment?: string }): Promise<SlackMessage> {
    try {
      const view = await this.andon
        .session(input.sessionId)
        .approve({ planId: input.planId, planHash: input.planHash, comment: input.comment, by: slackActor(user) });
      const plan = input.planId ?? view.plan?.id;
      return {
        text: `:white_check_mark: Your approval of ${plan ? `\`${escapeText(plan)}\` of ` : ''}*${escapeText(view.title)}* is recorded (the session is now ${view.state}).`,
      };
    } catch (error) {
      return this.refused('approval', input.sessionId, error);
    }
  }

  async reject(user: string, input: { sessionId: string; planId?: string; reason: string; replan: boolean }): Promise<SlackMessage> {
    try {
      const view = await this.andon
        .session(input.sessionId)
        .reject(input.reason, { planId: input.planId, replan: input.replan, by: slackActor(user) });
      const then = input.replan ? 'the agent will propose a new plan' : `the session is now ${view.state}`;
      return { text: `:no_entry_sign: Your rejection of *${escapeText(view.title)}* is recorded: ${then}.` };
    } catch (error) {
      return this.refused('rejection', input.sessionId, error);
    }
  }

  /** Asks the agent: its reply, or what to tell the person instead. */
  async ask(
    user: string,
    input: { sessionId: string; question: string; messageId?: string },
  ): Promise<{ ok: true; reply: string } | { ok: false; message: SlackMessage }> {
    try {
      const { reply } = await this.andon.session(input.sessionId).ask(input.question, { messageId: input.messageId, by: slackActor(user) });
      return { ok: true, reply };
    } catch (error) {
      return { ok: false, message: this.refused('question', input.sessionId, error) };
    }
  }

  async send(
    user: string,
    input: { sessionId: string; message: string; messageId?: string },
  ): Promise<{ ok: true } | { ok: false; message: SlackMessage }> {
    try {
      await this.andon.session(input.sessionId).send(input.message, { messageId: input.messageId, by: slackActor(user) });
      return { ok: true };
    } catch (error) {
      return { ok: false, message: this.refused('message', input.sessionId, error) };
    }
  }

  async status(sessionId: string): Promise<SlackMessage> {
    try {
      const view = await this.andon.session(sessionId).info();
      return sessionMessage(view, { sessionUrl: this.options.sessionUrl?.(sessionId) });
    } catch (error) {
      return this.refused('status request', sessionId, error);
    }
  }

  async list(states: SessionState[]): Promise<SlackMessage> {
    try {
      const wanted = states.length > 0 ? states : OPEN_STATES;
      const sessions = await this.andon.sessions.list({ state: wanted, limit: 20 });
      return sessionList(sessions, states.length > 0 ? states.join('/') : 'open');
    } catch (error) {
      return this.refused('list request', undefined, error);
    }
  }

  /** Decides a tool call awaiting review, as the person. Never throws. */
  async review(user: string, input: { sessionId: string; reviewId: string; choice: ReviewDecisionInput }): Promise<ReviewAttempt> {
    try {
      const view = await this.andon.session(input.sessionId).review(input.reviewId, input.choice, { by: slackActor(user) });
      return { kind: 'decided', view };
    } catch (error) {
      if (ValidationError.isInstance(error)) return { kind: 'invalid', field: error.field, message: error.message };
      if (InvalidStateError.isInstance(error)) return { kind: 'gone', message: error.message };
      const what = { approve: 'approval', deny: 'denial', edit: 'edit' }[input.choice.decision];
      return { kind: 'failed', message: this.refused(`${what} of the tool call`, input.sessionId, error) };
    }
  }

  /** A tool call of the session that awaits review now; undefined when none does under that id. */
  async pendingReview(sessionId: string, reviewId: string, timeoutMs: number): Promise<Review | undefined> {
    const view = await this.andon.session(sessionId).info({ timeoutMs });
    return view.pendingReviews.find((r) => r.id === reviewId);
  }

  /**
   * A review as it reads now: its message (with who decided what, once decided) and the verdict.
   * From the session's timeline, which has both the request and the decision. Throws when the
   * session cannot be read.
   */
  async reviewNow(sessionId: string, reviewId: string): Promise<{ message?: SlackMessage; verdict?: ReviewVerdict }> {
    const session = this.andon.session(sessionId);
    const view = await session.info();
    const pending = view.pendingReviews.find((r) => r.id === reviewId);
    let review = pending;
    let verdict: ReviewVerdict | undefined;
    let after = 0;
    for (let page = 0; page < TIMELINE_PAGES && !(review && verdict) && !pending; page++) {
      const { events } = await session.timeline({ after, limit: TIMELINE_PAGE });
      for (const event of events) {
        if (event.type === 'reviewRequested' && event.review.id === reviewId) review = event.review;
        if (event.type === 'reviewDecided' && event.reviewId === reviewId) {
          verdict = { decision: event.decision, by: event.by, reason: event.reason, arguments: event.arguments };
        }
      }
      const last = events.at(-1);
      if (events.length < TIMELINE_PAGE || !last) break;
      after = last.seq;
    }
    // Undecided and not pending: its session ended (reviews close with it).
    if (review && !pending && !verdict && isTerminal(view.state)) verdict = { closed: `the session is ${view.state}.` };
    const message = review ? reviewMessage(view, review, { sessionUrl: this.sessionUrl(sessionId), verdict }) : undefined;
    return { message, verdict };
  }

  /** Tool calls awaiting review across sessions (`/andon reviews`). */
  async reviews(): Promise<SlackMessage> {
    try {
      return reviewList(await this.andon.reviews.list({ limit: 50 }));
    } catch (error) {
      return this.refused('review list request', undefined, error);
    }
  }

  /** The session's page in the Temporal UI. */
  sessionUrl(sessionId: string): string | undefined {
    return this.options.sessionUrl?.(sessionId);
  }

  /** What to tell a person whose request did not go through, and why. */
  private refused(what: string, sessionId: string | undefined, error: unknown): SlackMessage {
    if (TimeoutError.isInstance(error) || UnavailableError.isInstance(error)) {
      const check = sessionId ? ` Check with \`/andon status ${escapeText(sessionId)}\`.` : '';
      return {
        text: `:hourglass: Your ${what} got no answer in time: Temporal or the andon worker is slow or down. It may still take effect.${check}`,
      };
    }
    if (AgentReplyError.isInstance(error)) return { text: `:warning: The agent could not answer: ${escapeText(error.message)}` };
    if (AndonError.isInstance(error)) return { text: `:warning: Your ${what} was not accepted: ${escapeText(error.message)}` };
    this.options.warn(`slack: ${what}${sessionId ? ` on ${sessionId}` : ''} failed: ${(error as Error)?.stack ?? String(error)}`);
    return { text: `:x: Your ${what} failed because of an error in andon; the details are in the service log.` };
  }
}
