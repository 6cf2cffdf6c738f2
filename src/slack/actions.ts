/**
 * What a Slack user can do to a session, done as them (`by: slack:<user id>`), each returning
 * what to tell them. The session decides: a refused approval (nothing awaits one, a stale plan, a
 * policy that does not allow this person) comes back as a typed error whose message says why,
 * and that message is what the person reads.
 */
import type { Andon } from '../client/andon';
import { AgentReplyError, AndonError, InvalidStateError, TimeoutError, UnavailableError, ValidationError } from '../client/errors';
import type { ReviewDecisionInput } from '../protocol/inputs';
import { SessionState, isTerminal, type Review, type SessionView } from '../session/schema';
import { escapeText, reviewList, reviewMessage, sessionList, sessionMessage, type ReviewVerdict, type SlackMessage } from './blocks';
import { slackActor } from './ids';
import type { SessionSummary } from '../protocol/list';
import {
  PENDING_REVIEWS_ATTRIBUTE,
  SESSION_WORKFLOW_TYPE,
  SLACK_THREAD_ATTRIBUTE,
  STATE_ATTRIBUTE,
  TITLE_ATTRIBUTE,
} from '../session/search-attributes';

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

/** Sessions whose channel is remembered (a session's message never moves). */
const REMEMBERED_CHANNELS = 2_000;
const CHANNEL_LOOKUP_MS = 5_000;
/** How long a running session without a recorded message is given to record it. */
const RECORD_WAIT_MS = 3_000;

/**
 * What someone is told when they act on, or ask about, a session from a channel that is not the
 * session's own. The same words whether the session exists or not, in whatever state: it
 * reveals nothing about it.
 */
export function notHere(sessionId: string): SlackMessage {
  return {
    text: `:no_entry: andon acts on \`${escapeText(sessionId)}\` only in the channel where it was announced: use its message or thread there. Nothing was done.`,
  };
}

/** How many sessions `list` and `reviews` read, and how long they may take. */
const LISTED = 20;
const LIST_MS = 10_000;

/** A Slack channel id (it goes into a visibility query: nothing else may). */
function isChannelId(channel: string | undefined): channel is string {
  return channel !== undefined && /^[A-Z0-9]{1,40}$/.test(channel);
}

/** Sessions whose message is in `channel` (AndonSlackThread is `<channel>:<ts>`). */
function inChannel(channel: string): string {
  return `WorkflowType = '${SESSION_WORKFLOW_TYPE}' AND ${SLACK_THREAD_ATTRIBUTE.name} STARTS_WITH '${channel}:'`;
}

export class SessionActions {
  private readonly channels = new Map<string, string>();

  constructor(
    private readonly andon: Andon,
    private readonly options: SessionActionsOptions,
  ) {}

  /**
   * Whether `channel` is the session's own: the channel of its Slack message (the AndonSlackThread
   * search attribute, `<channel>:<ts>`). A session never announced in Slack, or one that does not
   * exist, has no channel, and nothing in Slack may act on it. Never throws.
   */
  async isSessionChannel(sessionId: string, channel: string | undefined): Promise<boolean> {
    if (channel === undefined || channel === '') return false;
    const own = await this.channelOf(sessionId);
    return own !== undefined && own === channel;
  }

  private async channelOf(sessionId: string): Promise<string | undefined> {
    const known = this.channels.get(sessionId);
    if (known) return known;
    let thread: string | undefined;
    try {
      const handle = this.andon.client.workflow.getHandle(sessionId);
      // The message is in Slack (and clicked) a moment before the session records where it is: wait that moment.
      const deadline = Date.now() + RECORD_WAIT_MS;
      for (;;) {
        const description = await this.andon.client.withAbortSignal(AbortSignal.timeout(CHANNEL_LOOKUP_MS), () => handle.describe());
        thread = description.typedSearchAttributes.get(SLACK_THREAD_ATTRIBUTE);
        if (thread || Date.now() >= deadline || description.status.name !== 'RUNNING') break;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    } catch (error) {
      // Not found, or Temporal did not answer: either way, not here.
      if ((error as Error)?.name !== 'WorkflowNotFoundError')
        this.options.warn(`slack: could not read the channel of a session: ${(error as Error).message}`);
      return undefined;
    }
    const channel = thread?.split(':')[0];
    if (!channel) return undefined;
    if (this.channels.size >= REMEMBERED_CHANNELS) this.channels.delete(this.channels.keys().next().value!);
    this.channels.set(sessionId, channel);
    return channel;
  }

  async approve(
    user: string,
    input: { sessionId: string; planId?: string; planHash?: string; changeSetHash?: string; comment?: string },
  ): Promise<SlackMessage> {
    try {
      const view = await this.andon.session(input.sessionId).approve({
        planId: input.planId,
        planHash: input.planHash,
        changeSetHash: input.changeSetHash,
        comment: input.comment,
        by: slackActor(user),
      });
      const plan = input.changeSetHash
        ? 'the change set'
        : input.planId
          ? `\`${escapeText(input.planId)}\``
          : view.plan && `\`${escapeText(view.plan.id)}\``;
      return {
        text: `:white_check_mark: Your approval of ${plan ? `${plan} of ` : ''}*${escapeText(view.title)}* is recorded (the session is now ${view.state}).`,
      };
    } catch (error) {
      return this.refused('approval', input.sessionId, error);
    }
  }

  async reject(
    user: string,
    input: { sessionId: string; planId?: string; planHash?: string; changeSetHash?: string; reason: string; replan: boolean },
  ): Promise<SlackMessage> {
    try {
      const { sessionId, reason, ...options } = input;
      const view = await this.andon.session(sessionId).reject(reason, { ...options, by: slackActor(user) });
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

  /**
   * Sessions announced in `channel` (and only those: a channel shows nothing of another's), in
   * `states` or the open ones, newest first.
   */
  async list(states: SessionState[], channel: string | undefined): Promise<SlackMessage> {
    const what = states.length > 0 ? states.join('/') : 'open';
    if (!isChannelId(channel)) return sessionList([], `${what} (in this channel)`);
    try {
      const wanted = states.length > 0 ? states : OPEN_STATES;
      const query = `${inChannel(channel)} AND ${STATE_ATTRIBUTE.name} IN (${wanted.map((s) => `'${s}'`).join(', ')})`;
      const sessions = await this.andon.client.withAbortSignal(AbortSignal.timeout(LIST_MS), async () => {
        const found: SessionSummary[] = [];
        for await (const execution of this.andon.client.workflow.list({ query, pageSize: LISTED })) {
          const state = SessionState.safeParse(execution.typedSearchAttributes.get(STATE_ATTRIBUTE));
          found.push({
            id: execution.workflowId,
            state: state.success ? state.data : 'unspecified',
            title: execution.typedSearchAttributes.get(TITLE_ATTRIBUTE) ?? '',
            createTime: execution.startTime.toISOString(),
            status: execution.status.name,
          });
          if (found.length >= LISTED) break;
        }
        return found;
      });
      return sessionList(sessions, what);
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

  /** Tool calls awaiting review in the sessions announced in `channel` (`/andon reviews`). */
  async reviews(channel: string | undefined): Promise<SlackMessage> {
    if (!isChannelId(channel)) return reviewList([]);
    try {
      const query = `${inChannel(channel)} AND ExecutionStatus = 'Running' AND ${PENDING_REVIEWS_ATTRIBUTE.name} > 0`;
      const ids = await this.andon.client.withAbortSignal(AbortSignal.timeout(LIST_MS), async () => {
        const found: string[] = [];
        for await (const execution of this.andon.client.workflow.list({ query, pageSize: LISTED })) {
          found.push(execution.workflowId);
          if (found.length >= LISTED) break;
        }
        return found;
      });
      // A session whose worker is gone must not hold up the list: it is left out.
      const views = await Promise.all(
        ids.map((id) =>
          this.andon
            .session(id)
            .info({ timeoutMs: 5_000 })
            .catch(() => undefined),
        ),
      );
      const reviews = views
        .flatMap((view) => (view ? view.pendingReviews.map((review) => ({ ...review, sessionId: view.id, sessionTitle: view.title })) : []))
        .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
      return reviewList(reviews);
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
