/**
 * A handle on one session through the andon service: the same calls as the SDK's SessionClient,
 * each one request under /v1/sessions/:id. Input is checked against the service's own request
 * schemas first, so bad input fails at once, naming the field, even when the service is down.
 */
import { z } from 'zod';
import { InvalidStateError, TimeoutError } from '../errors';
import { outcomeOf } from '../outcome';
import { DEFAULT_TIMEOUTS, validate, type TimeoutOption } from '../calls';
import type { SessionOutcome } from '../outcome';
import { SessionState, SessionView, TimelinePage, isTerminal, type Budget, type Review, type TimelineEvent } from '../../session/schema';
import {
  ApproveBody,
  AskBody,
  AskReply,
  CancelBody,
  DecideStepBody,
  MemoryWritten,
  MessageAccepted,
  PauseBody,
  RejectBody,
  ResumeBody,
  ReviewBody,
  SendBody,
  SessionReviews,
  TimelineQuery,
  WriteMemoryBody,
} from '../../protocol/http';
import { ReviewInput, type AskResult, type MemoryScope, type StepDecision } from '../../protocol/inputs';
import type { ReviewDecisionInput, SessionApi } from '../api';
import { sessionEvents } from './stream';
import type { HttpTransport, RequestOptions } from './transport';

/** The longest wait the service holds one request for (GET /wait caps `timeout` at 2m). */
const MAX_WAIT_MS = 120_000;
/**
 * Added to a call's own timeout for the request's deadline: the service enforces the timeout
 * itself and answers (503, or the view for /wait) a little after it, and that answer says more.
 */
const ANSWER_GRACE_MS = 15_000;

const States = z.array(SessionState).min(1);

export class HttpSessionClient implements SessionApi {
  private readonly path: string;

  constructor(
    readonly id: string,
    private readonly http: HttpTransport,
  ) {
    this.path = `/v1/sessions/${encodeURIComponent(id)}`;
  }

  async info(options: TimeoutOption = {}): Promise<SessionView> {
    return this.get(SessionView, '', 'info', options);
  }

  async timeline(options: { after?: number; limit?: number } & TimeoutOption = {}): Promise<TimelinePage> {
    const query = validate(TimelineQuery, { after: options.after, limit: options.limit });
    return this.get(TimelinePage, '/timeline', 'timeline', options, query);
  }

  async approve(options: { planId?: string; changeSetHash?: string; comment?: string } & TimeoutOption = {}): Promise<SessionView> {
    return this.post(
      SessionView,
      '/approve',
      'approve',
      options,
      validate(ApproveBody, { planId: options.planId, changeSetHash: options.changeSetHash, comment: options.comment }),
    );
  }

  async reject(
    reason: string,
    options: { planId?: string; planHash?: string; changeSetHash?: string; replan?: boolean } & TimeoutOption = {},
  ): Promise<SessionView> {
    const { planId, planHash, changeSetHash, replan } = options;
    const body = validate(RejectBody, { reason, planId, planHash, changeSetHash, replan });
    return this.post(SessionView, '/reject', 'reject', options, body);
  }

  async ask(message: string, options: { messageId?: string } & TimeoutOption = {}): Promise<AskResult> {
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUTS.askMs;
    // No timeoutMs in the body for Infinity: the service then waits as long as it allows.
    const body = validate(AskBody, {
      message,
      messageId: options.messageId,
      timeoutMs: Number.isFinite(timeoutMs) ? timeoutMs : undefined,
    });
    return this.post(AskReply, '/ask', 'ask', { timeoutMs: timeoutMs + ANSWER_GRACE_MS }, body);
  }

  async send(message: string, options: { messageId?: string } & TimeoutOption = {}): Promise<{ messageId: string }> {
    return this.post(MessageAccepted, '/messages', 'send', options, validate(SendBody, { message, messageId: options.messageId }));
  }

  async writeMemory(content: string, options: { scope?: MemoryScope } & TimeoutOption = {}): Promise<{ memoryId: string }> {
    return this.post(MemoryWritten, '/memories', 'writeMemory', options, validate(WriteMemoryBody, { content, scope: options.scope }));
  }

  async pause(options: { reason?: string } & TimeoutOption = {}): Promise<SessionView> {
    return this.post(SessionView, '/pause', 'pause', options, validate(PauseBody, { reason: options.reason }));
  }

  async resume(options: { budget?: Budget } & TimeoutOption = {}): Promise<SessionView> {
    return this.post(SessionView, '/resume', 'resume', options, validate(ResumeBody, { budget: options.budget }));
  }

  async decideStep(decision: StepDecision, options: { stepId?: string; reason?: string } & TimeoutOption = {}): Promise<SessionView> {
    const body = validate(DecideStepBody, { decision, stepId: options.stepId, reason: options.reason });
    return this.post(SessionView, '/step-decision', 'decideStep', options, body);
  }

  async reviews(options: TimeoutOption = {}): Promise<Review[]> {
    return (await this.get(SessionReviews, '/reviews', 'reviews', options)).reviews;
  }

  async review(reviewId: string, decision: ReviewDecisionInput, options: TimeoutOption = {}): Promise<SessionView> {
    // The SDK's own rules first (a denial needs a reason, ...), then the wire shape.
    const { reviewId: id, by: _by, ...rest } = validate(ReviewInput, { ...decision, reviewId });
    const body = validate(ReviewBody, rest);
    return this.post(SessionView, `/reviews/${encodeURIComponent(id)}`, 'review', options, body);
  }

  async cancel(reason: string, options: TimeoutOption = {}): Promise<SessionView> {
    return this.post(SessionView, '/cancel', 'cancel', options, validate(CancelBody, { reason }));
  }

  stream(options: { after?: number; signal?: AbortSignal } = {}): AsyncGenerator<TimelineEvent> {
    return sessionEvents(this.http, this.id, options);
  }

  /**
   * Long-polls GET /wait, one request per two minutes at most, until the session is in one of
   * `states`. Fails like the SDK: InvalidStateError if it ends elsewhere, TimeoutError after `timeoutMs`.
   */
  async waitFor(states: SessionState | SessionState[], options: TimeoutOption = {}): Promise<SessionView> {
    const wanted = validate(States, Array.isArray(states) ? states : [states]);
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUTS.waitMs;
    const deadline = Date.now() + timeoutMs;
    const what = `waitFor(${wanted.join('|')}) on session ${this.id}`;
    for (;;) {
      const wait = Math.max(0, Math.min(deadline - Date.now(), MAX_WAIT_MS));
      const view = await this.http.call(SessionView, 'GET', `${this.path}/wait`, {
        query: { state: wanted.join(','), timeout: Math.ceil(wait) },
        timeoutMs: wait + ANSWER_GRACE_MS,
        what,
        sessionId: this.id,
      });
      if (wanted.includes(view.state)) return view;
      if (isTerminal(view.state)) {
        throw new InvalidStateError(`session ${this.id} ended ${view.state} before reaching ${wanted.join(' or ')}`, view.state);
      }
      if (Date.now() >= deadline) throw new TimeoutError(`${what} did not finish within ${timeoutMs} ms`, timeoutMs);
    }
  }

  /** The outcome once the session completes; SessionFailedError or SessionCancelledError otherwise. */
  async result(options: TimeoutOption = {}): Promise<SessionOutcome> {
    return outcomeOf(await this.waitFor(['completed', 'failed', 'cancelled'], options));
  }

  private get<S extends z.ZodType>(schema: S, suffix: string, what: string, options: TimeoutOption, query?: RequestOptions['query']) {
    return this.http.call(schema, 'GET', this.path + suffix, this.request(what, options, { query }));
  }

  private post<S extends z.ZodType>(schema: S, suffix: string, what: string, options: TimeoutOption, body: unknown) {
    return this.http.call(schema, 'POST', this.path + suffix, this.request(what, options, { body }));
  }

  private request(what: string, options: TimeoutOption, extra: Partial<RequestOptions>): RequestOptions {
    return {
      ...extra,
      timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUTS.commandMs,
      what: `${what} on session ${this.id}`,
      sessionId: this.id,
    };
  }
}
