/**
 * The session API under /v1: REST for everything the SDK does. Each handler is one SDK call
 * with the caller's identity (`api:<token name>`) as `by` and the service's deadline, so an
 * HTTP client always hears back in bounded time; errors become HTTP answers in error-handler.ts.
 */
import { WorkflowNotFoundError } from '@temporalio/client';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Andon } from '../../client/andon';
import { InvalidStateError, TimeoutError } from '../../client/errors';
import { translateError } from '../../client/temporal-errors';
import { actorOf, requireScopeFor } from '../auth';
import { withDeadline } from '../deadline';
import { HttpError, errorResponses } from '../../protocol/http-errors';
import type { ReviewDecisionInput } from '../../protocol/inputs';
import {
  ApproveBody,
  AskBody,
  AskReply,
  CancelBody,
  CreateSessionBody,
  DecideStepBody,
  ListQuery,
  MemoryWritten,
  MessageAccepted,
  PauseBody,
  PendingReviews,
  RejectBody,
  ResumeBody,
  ReviewBody,
  ReviewParams,
  ReviewsQuery,
  SendBody,
  SessionList,
  SessionParams,
  SessionReviews,
  SessionView,
  TimelinePage,
  TimelineQuery,
  WaitQuery,
  WriteMemoryBody,
} from '../../protocol/http';

export interface SessionRoutesOptions {
  andon: Andon;
  /** Deadline for every call to Temporal, so a request never waits longer (503 after it). */
  requestTimeoutMs: number;
  /** The longest an ask waits for the agent's reply. */
  askTimeoutMs: number;
  /** The worker's agent names, when known: a session naming another is refused with 422. */
  agents?: readonly string[];
  /** Long polls open at once (`service.maxConcurrentWaits`); one more is answered 429. */
  maxConcurrentWaits: number;
  /** What a 429 tells the caller to wait, in seconds. */
  retryAfterSeconds: number;
}

const tags = ['sessions'];
const reviewTags = ['reviews'];

/**
 * The SDK's own deadlines abort its calls, but a call that is still connecting or retrying does
 * not see the abort until the gRPC layer gives up (tens of seconds when Temporal is down). Every
 * handler is therefore also raced against its deadline, a little later than the SDK's own so
 * the SDK's more precise error wins when it can.
 */
const BACKSTOP_GRACE_MS = 250;

export const sessionRoutes: FastifyPluginAsyncZod<SessionRoutesOptions> = async (
  app,
  { andon, requestTimeoutMs, askTimeoutMs, agents, maxConcurrentWaits, retryAfterSeconds },
) => {
  const timeoutMs = requestTimeoutMs;
  const bounded = <T>(what: string, ms: number, call: () => Promise<T>): Promise<T> => withDeadline(ms + BACKSTOP_GRACE_MS, what, call());
  /** Long polls open now: each holds a watch on Temporal, so their number is bounded. */
  let waits = 0;

  app.post(
    '/sessions',
    {
      config: { scope: 'write' },
      schema: {
        operationId: 'createSession',
        summary: 'Create a session',
        description:
          "201 with the new session. `requirePlanApproval: false` (no approval of the plan) needs the `approve` scope: 403 with `field` `requirePlanApproval` otherwise, and nothing is started; leave it out for the service's configured default. 422 `unknown_agent` with `field` `agent` when the service runs beside the worker and `agent` names none of its agents (the message lists them). When `id` names a session that already exists (running or ended), nothing is started and the answer is 200 with that session: creating with an `id` is safe to retry. (Two concurrent first creates of one id may both answer 201; there is still only one session.)",
        tags,
        body: CreateSessionBody,
        response: { 200: SessionView, 201: SessionView, ...errorResponses },
      },
    },
    async (request, reply) => {
      // Waiving approval is an approver's decision (or the service's configuration: leave the field out).
      if (request.body.requirePlanApproval === false)
        requireScopeFor(request, 'approve', 'requirePlanApproval', 'starting a session without plan approval');
      // A name the worker lacks would start a session that can only fail: refuse it before anything starts.
      const { agent } = request.body;
      if (agents && agent !== undefined && !agents.includes(agent))
        throw new HttpError(422, 'unknown_agent', `agent: no agent is named "${agent}" (known agents: ${agents.join(', ')})`, {
          field: 'agent',
        });
      const deadline = Date.now() + timeoutMs;
      const left = () => Math.max(1, deadline - Date.now());
      const { id } = request.body;
      const existed = id !== undefined && (await withDeadline(left(), 'looking up the session', exists(andon, id)));
      const session = existed
        ? andon.session(id)
        : await withDeadline(left(), 'creating the session', andon.session({ ...request.body, requestedBy: actorOf(request) }));
      const view = await bounded('reading the session', left(), () => session.info({ timeoutMs: left() }));
      return reply
        .code(existed ? 200 : 201)
        .header('location', `/v1/sessions/${encodeURIComponent(session.id)}`)
        .send(view);
    },
  );

  app.get(
    '/sessions',
    {
      config: { scope: 'read' },
      schema: {
        operationId: 'listSessions',
        summary: 'List sessions, newest first',
        tags,
        querystring: ListQuery,
        response: { 200: SessionList, ...errorResponses },
      },
    },
    async (request) => {
      const { state, text, service, since, limit } = request.query;
      const sessions = await withDeadline(
        timeoutMs,
        'listing sessions',
        andon.sessions.list({ state, text, service, createdAfter: since, limit }),
      );
      return { sessions };
    },
  );

  app.get(
    '/sessions/:id',
    {
      config: { scope: 'read' },
      schema: {
        operationId: 'getSession',
        summary: 'The session view',
        tags,
        params: SessionParams,
        response: { 200: SessionView, ...errorResponses },
      },
    },
    async (request) => bounded('reading the session', timeoutMs, () => andon.session(request.params.id).info({ timeoutMs })),
  );

  app.get(
    '/sessions/:id/timeline',
    {
      config: { scope: 'read' },
      schema: {
        operationId: 'getTimeline',
        summary: 'A page of the timeline: events with seq > after',
        tags,
        params: SessionParams,
        querystring: TimelineQuery,
        response: { 200: TimelinePage, ...errorResponses },
      },
    },
    async (request) =>
      bounded('reading the timeline', timeoutMs, () => andon.session(request.params.id).timeline({ ...request.query, timeoutMs })),
  );

  app.get(
    '/sessions/:id/wait',
    {
      config: { scope: 'read' },
      schema: {
        operationId: 'waitForSession',
        summary: 'Long-poll until the session is in one of `state`',
        description:
          'Answers with the view as soon as the session is in one of the states, or when it ends in another, or after `timeout`: compare `state` to tell which. A caller that disconnects ends its wait. At most `service.maxConcurrentWaits` waits are open at once: one more is answered 429 `too_many_waits` with Retry-After.',
        tags,
        params: SessionParams,
        querystring: WaitQuery,
        response: { 200: SessionView, ...errorResponses },
      },
    },
    async (request, reply) => {
      if (waits >= maxConcurrentWaits) {
        throw new HttpError(
          429,
          'too_many_waits',
          `${maxConcurrentWaits} waits are open (service.maxConcurrentWaits); try again later`,
          {},
          { 'retry-after': String(retryAfterSeconds) },
        );
      }
      waits += 1;
      // The caller hung up before the answer: stop watching Temporal for it, and free its slot.
      const gone = new AbortController();
      const hungUp = () => {
        // 499 (nginx's "client closed request"): nobody reads it, and it is no server error to log.
        if (!reply.raw.writableEnded) gone.abort(new HttpError(499, 'client_closed_request', 'the caller disconnected'));
      };
      reply.raw.once('close', hungUp);
      const session = andon.session(request.params.id);
      const { state, timeout } = request.query;
      try {
        return await bounded('waiting', timeout, () => session.waitFor(state, { timeoutMs: timeout, signal: gone.signal }));
      } catch (error) {
        // Not reached (yet, or ever): the current view says where the session is.
        if (!gone.signal.aborted && (TimeoutError.isInstance(error) || InvalidStateError.isInstance(error))) {
          return bounded('reading the session', timeoutMs, () => session.info({ timeoutMs }));
        }
        throw error;
      } finally {
        waits -= 1;
        reply.raw.off('close', hungUp);
      }
    },
  );

  app.post(
    '/sessions/:id/approve',
    {
      config: { scope: 'approve' },
      schema: {
        operationId: 'approvePlan',
        summary: 'Approve the plan awaiting approval',
        description:
          '409 `invalid_state` when nothing awaits approval; 409 `stale_plan` (with `currentPlanId`) when `planId` is not the current plan.',
        tags,
        params: SessionParams,
        body: ApproveBody,
        response: { 200: SessionView, ...errorResponses },
      },
    },
    async (request) =>
      bounded('approving', timeoutMs, () => andon.session(request.params.id).approve({ ...request.body, by: actorOf(request), timeoutMs })),
  );

  app.post(
    '/sessions/:id/reject',
    {
      config: { scope: 'approve' },
      schema: {
        operationId: 'rejectPlan',
        summary: 'Reject the plan: the session ends as cancelled, or re-plans with `replan: true`',
        tags,
        params: SessionParams,
        body: RejectBody,
        response: { 200: SessionView, ...errorResponses },
      },
    },
    async (request) => {
      const { reason, ...options } = request.body;
      return bounded('rejecting', timeoutMs, () =>
        andon.session(request.params.id).reject(reason, { ...options, by: actorOf(request), timeoutMs }),
      );
    },
  );

  app.post(
    '/sessions/:id/messages',
    {
      config: { scope: 'write' },
      schema: {
        operationId: 'sendMessage',
        summary: 'Send a message without waiting for the reply (it appears on the timeline)',
        tags,
        params: SessionParams,
        body: SendBody,
        response: { 202: MessageAccepted, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { message, messageId } = request.body;
      const accepted = await bounded('sending the message', timeoutMs, () =>
        andon.session(request.params.id).send(message, { messageId, by: actorOf(request), timeoutMs }),
      );
      return reply.code(202).send(accepted);
    },
  );

  app.post(
    '/sessions/:id/ask',
    {
      config: { scope: 'write' },
      schema: {
        operationId: 'ask',
        summary: "Send a message and wait for the agent's reply",
        description: 'A retry with the same `messageId` is answered once. 502 `agent_error` when the agent could not answer.',
        tags,
        params: SessionParams,
        body: AskBody,
        response: { 200: AskReply, ...errorResponses },
      },
    },
    async (request) => {
      const { message, messageId, timeoutMs: wanted } = request.body;
      const askMs = Math.min(wanted ?? askTimeoutMs, askTimeoutMs);
      return bounded('asking', askMs, () =>
        andon.session(request.params.id).ask(message, { messageId, by: actorOf(request), timeoutMs: askMs }),
      );
    },
  );

  app.post(
    '/sessions/:id/memories',
    {
      config: { scope: 'write' },
      schema: {
        operationId: 'writeMemory',
        summary: 'Remember something for this session, its agent or its service',
        description:
          "201 with the new entry's id. `scope` (default `session`): `session` is recalled by this session only, `agent` by every session of its agent, `service` by every session about its `context.service`. Sessions recall relevant memories when they plan (shown to the agent and to approvers as quoted, attributed text, never as plan steps); the write appears on the timeline as `memoryWritten`. `agent` and `service` memories reach other sessions, so they need the `approve` scope (403 with `field` `scope` otherwise).",
        tags,
        params: SessionParams,
        body: WriteMemoryBody,
        response: { 201: MemoryWritten, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { content, scope } = request.body;
      // Other sessions recall agent and service memories into their plans: only approvers may write them.
      if (scope !== 'session') requireScopeFor(request, 'approve', 'scope', `a memory of scope "${scope}"`);
      const written = await bounded('writing the memory', timeoutMs, () =>
        andon.session(request.params.id).writeMemory(content, { scope, by: actorOf(request), timeoutMs }),
      );
      return reply.code(201).send(written);
    },
  );

  app.post(
    '/sessions/:id/pause',
    {
      config: { scope: 'write' },
      schema: {
        operationId: 'pauseSession',
        summary: 'Pause after the current step',
        tags,
        params: SessionParams,
        body: PauseBody,
        response: { 200: SessionView, ...errorResponses },
      },
    },
    async (request) =>
      bounded('pausing', timeoutMs, () => andon.session(request.params.id).pause({ ...request.body, by: actorOf(request), timeoutMs })),
  );

  app.post(
    '/sessions/:id/resume',
    {
      config: { scope: 'write' },
      schema: {
        operationId: 'resumeSession',
        summary: 'Resume a paused session',
        description:
          "A session the budget paused (`sessionPaused` by `policy:budget`) resumes only with a higher `budget`; without one the answer is 400 with `field` `budget`. Giving a `budget` needs the `approve` scope (403 with `field` `budget` otherwise), and the session's approval policy must allow the caller (403 `not_allowed` otherwise, recorded as `approvalRefused`).",
        tags,
        params: SessionParams,
        body: ResumeBody,
        response: { 200: SessionView, ...errorResponses },
      },
    },
    async (request) => {
      if (request.body.budget !== undefined) requireScopeFor(request, 'approve', 'budget', 'changing the budget');
      return bounded('resuming', timeoutMs, () =>
        andon.session(request.params.id).resume({ budget: request.body.budget, by: actorOf(request), timeoutMs }),
      );
    },
  );

  app.post(
    '/sessions/:id/step-decision',
    {
      // Carrying an approved plan past a failed step is a decision about the plan.
      config: { scope: 'approve' },
      schema: {
        operationId: 'decideStep',
        summary: 'Decide a failed step: retry it, skip it, or abort the session',
        description:
          "The session's approval policy decides who may (403 `not_allowed` otherwise, recorded as `approvalRefused`). 409 `invalid_state` when no failed step awaits a decision, or `stepId` is not the failed step.",
        tags,
        params: SessionParams,
        body: DecideStepBody,
        response: { 200: SessionView, ...errorResponses },
      },
    },
    async (request) => {
      const { decision, ...options } = request.body;
      return bounded('deciding the step', timeoutMs, () =>
        andon.session(request.params.id).decideStep(decision, { ...options, by: actorOf(request), timeoutMs }),
      );
    },
  );

  app.get(
    '/reviews',
    {
      config: { scope: 'read' },
      schema: {
        operationId: 'listReviews',
        summary: 'Tool calls awaiting review across running sessions, oldest first',
        tags: reviewTags,
        querystring: ReviewsQuery,
        response: { 200: PendingReviews, ...errorResponses },
      },
    },
    async (request) => ({ reviews: await withDeadline(timeoutMs, 'listing reviews', andon.reviews.list({ limit: request.query.limit })) }),
  );

  app.get(
    '/sessions/:id/reviews',
    {
      config: { scope: 'read' },
      schema: {
        operationId: 'getSessionReviews',
        summary: "The session's tool calls awaiting review, oldest first",
        tags: reviewTags,
        params: SessionParams,
        response: { 200: SessionReviews, ...errorResponses },
      },
    },
    async (request) => ({
      reviews: await bounded('reading the reviews', timeoutMs, () => andon.session(request.params.id).reviews({ timeoutMs })),
    }),
  );

  app.post(
    '/sessions/:id/reviews/:reviewId',
    {
      // Deciding what a tool may do is an approval.
      config: { scope: 'approve' },
      schema: {
        operationId: 'decideReview',
        summary: 'Decide a tool call awaiting review: approve it, deny it, or edit its arguments',
        description:
          "`deny` needs a `reason` (the model reads it); `edit` needs `arguments`, checked against the tool's schema (400 with `field` such as `arguments.service`). 409 `invalid_state` when no call awaits review under `reviewId`.",
        tags: reviewTags,
        params: ReviewParams,
        body: ReviewBody,
        response: { 200: SessionView, ...errorResponses },
      },
    },
    async (request) => {
      const { id, reviewId } = request.params;
      // The body's schema is the wire shape; the SDK checks the rules between its fields.
      const decision = request.body as ReviewDecisionInput;
      return bounded('deciding the review', timeoutMs, () =>
        andon.session(id).review(reviewId, decision, { by: actorOf(request), timeoutMs }),
      );
    },
  );

  app.post(
    '/sessions/:id/cancel',
    {
      config: { scope: 'write' },
      schema: {
        operationId: 'cancelSession',
        summary: 'Pull the andon cord: stop the work in flight now and end the session as cancelled',
        tags,
        params: SessionParams,
        body: CancelBody,
        response: { 200: SessionView, ...errorResponses },
      },
    },
    async (request) =>
      bounded('cancelling', timeoutMs, () =>
        andon.session(request.params.id).cancel(request.body.reason, { by: actorOf(request), timeoutMs }),
      ),
  );
};

/** Whether a session (running or ended) has this id. */
async function exists(andon: Andon, id: string): Promise<boolean> {
  try {
    await andon.client.workflow.getHandle(id).describe();
    return true;
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return false;
    throw translateError(error, id);
  }
}
