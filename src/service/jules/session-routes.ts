/**
 * The session routes of the Jules door: create, list (newest first, paged), get, and the custom
 * methods `:approvePlan`, `:sendMessage`, `:archive`, `:unarchive`. Each is one call of andon's
 * client, as /v1 makes it (routes/sessions.ts), with the caller's token as `by`.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Andon } from '../../client/andon';
import { HttpError, badRequest } from '../../protocol/http-errors';
import type { SessionSummary } from '../../protocol/list';
import type { SessionState, SessionView } from '../../session/schema';
import { actorOf, requireScopeFor } from '../auth';
import { auth, deadlineOf, errors, tags, type JulesRoutesOptions } from './common';
import { failedPrecondition } from './errors';
import { parseFilter, readSessionToken, sessionToken, withinTimes, type TimeBound } from './paging';
import { STATE_NAMES, andonStatesOf, sessionName, toSession, type CreateFacts } from './resources';
import { CreateSessionBody, Empty, EmptyBody, ListSessionsQuery, SOURCE_NAME, SendMessageBody, SessionParams } from './schemas';
import { Session, SessionPage } from './wire';

const DEFAULT_SESSION_PAGE = 30;
/** Sessions of one list page whose views are read at once. */
const VIEW_CONCURRENCY = 16;

export const sessionRoutes: FastifyPluginAsyncZod<JulesRoutesOptions> = async (app, options) => {
  const { andon, requestTimeoutMs: timeoutMs } = options;
  const bounded = deadlineOf(timeoutMs);
  const sources = new Map(options.config.sources.map((source) => [source.github.toLowerCase(), source]));

  app.post(
    '/sessions',
    {
      config: auth('write'),
      schema: {
        operationId: 'julesCreateSession',
        summary: 'Create a session (Jules)',
        description:
          '`requirePlanApproval: false` needs the `approve` scope too (403 otherwise), as on /v1. `sourceContext.source` must be one of GET sources; `automationMode: AUTO_CREATE_PR` opens a pull request when the session is done, `AUTOMATION_MODE_UNSPECIFIED` publishes nothing.',
        tags,
        body: CreateSessionBody,
        response: { 200: Session, ...errors },
      },
    },
    async (request) => {
      const body = request.body;
      if (body.requirePlanApproval === false)
        requireScopeFor(request, 'approve', 'requirePlanApproval', 'starting a session without plan approval');
      const facts: CreateFacts = { automationMode: body.automationMode ?? 'AUTOMATION_MODE_UNSPECIFIED' };
      let source: { github: string; branch?: string } | undefined;
      if (body.sourceContext) {
        const github = SOURCE_NAME.exec(body.sourceContext.source)?.[1] ?? '';
        const known = sources.get(github.toLowerCase());
        if (!known)
          throw badRequest(`unknown source ${body.sourceContext.source}: GET sources lists the ones offered`, 'sourceContext.source');
        const branch = body.sourceContext.githubRepoContext?.startingBranch;
        source = { github: known.github, ...(branch ? { branch } : {}) };
        Object.assign(facts, { source: body.sourceContext.source, startingBranch: branch });
      }
      const session = await bounded('creating the session', () =>
        andon.session({
          prompt: body.prompt,
          title: body.title,
          requirePlanApproval: body.requirePlanApproval,
          requestedBy: actorOf(request),
          ...(source
            ? { source, publish: { mode: facts.automationMode === 'AUTO_CREATE_PR' ? ('pullRequest' as const) : ('none' as const) } }
            : {}),
        }),
      );
      return toSession(await bounded('reading the session', () => session.info({ timeoutMs })), facts);
    },
  );

  app.get(
    '/sessions',
    {
      config: auth('read'),
      schema: {
        operationId: 'julesListSessions',
        summary: 'List sessions, newest first (Jules)',
        description:
          '`filter`: clauses joined by AND, each `archived = true|false`, `state = STATE_NAME` or `create_time > "RFC 3339"` (also `>=`, `<`, `<=`).',
        tags,
        querystring: ListSessionsQuery,
        response: { 200: SessionPage, ...errors },
      },
    },
    async (request) => {
      const { pageSize = DEFAULT_SESSION_PAGE, pageToken, filter: text } = request.query;
      const filter = parseFilter(text, new Set(['archived', 'state', 'create_time'] as const));
      // No session is ever archived (docs/jules.md#archive).
      if (filter.archived === true) return { sessions: [] };
      const cursor = pageToken ? readSessionToken(pageToken) : undefined;
      const states = filter.states?.flatMap(andonStatesOf);
      if (states && states.length === 0) return { sessions: [] };
      const before = Math.min(cursor ? Date.parse(cursor.t) + 1 : Infinity, ...upper(filter.times));
      const after = Math.max(-Infinity, ...lower(filter.times));
      const seen = new Set(cursor?.x ?? []);
      const summaries = await bounded('listing sessions', () =>
        andon.sessions.list({
          state: states as SessionState[] | undefined,
          ...(Number.isFinite(before) ? { createdBefore: new Date(before) } : {}),
          ...(Number.isFinite(after) ? { createdAfter: new Date(after) } : {}),
          limit: Math.min(1_000, pageSize + seen.size + 1),
        }),
      );
      const matching = summaries.filter((s) => !seen.has(s.id) && withinTimes(Date.parse(s.createTime), filter.times));
      const page = matching.slice(0, pageSize);
      // A view per listed session, a few at a time, all within the request's deadline: one the
      // worker cannot answer in time is listed from what visibility knows.
      const deadline = Date.now() + timeoutMs;
      const sessions = await mapLimited(page, VIEW_CONCURRENCY, (summary) =>
        sessionOf(andon, summary, Math.max(1, Math.min(5_000, deadline - Date.now()))),
      );
      const last = page.at(-1);
      if (!last || matching.length <= pageSize) return { sessions };
      const sameTime = page.filter((s) => s.createTime === last.createTime).map((s) => s.id);
      const carried = cursor && cursor.t === last.createTime ? cursor.x : [];
      return { sessions, nextPageToken: sessionToken({ t: last.createTime, x: [...carried, ...sameTime] }) };
    },
  );

  app.get(
    '/sessions/:id',
    {
      config: auth('read'),
      schema: {
        operationId: 'julesGetSession',
        summary: 'A session (Jules)',
        tags,
        params: SessionParams,
        response: { 200: Session, ...errors },
      },
    },
    async (request) => toSession(await bounded('reading the session', () => andon.session(request.params.id).info({ timeoutMs }))),
  );

  app.post(
    '/sessions/:id(^[^/]+)::approvePlan',
    {
      // Approving is an approver's decision, as POST /v1/sessions/{id}/approve.
      config: auth('approve'),
      schema: {
        operationId: 'julesApprovePlan',
        summary: 'Approve the plan awaiting approval (Jules)',
        description:
          "Also approves a code session's change set awaiting approval (state AWAITING_PLAN_APPROVAL either way). 409 FAILED_PRECONDITION when nothing awaits approval.",
        tags,
        params: SessionParams,
        body: EmptyBody,
        response: { 200: Empty, ...errors },
      },
    },
    async (request) => {
      await bounded('approving', () => andon.session(request.params.id).approve({ by: actorOf(request), timeoutMs }));
      return {};
    },
  );

  app.post(
    '/sessions/:id(^[^/]+)::sendMessage',
    {
      config: auth('write'),
      schema: {
        operationId: 'julesSendMessage',
        summary: 'Send a message; the reply comes as an agentMessaged activity (Jules)',
        description: 'Answered after completion too, during the follow-up window (`sessions.followUpWindow`).',
        tags,
        params: SessionParams,
        body: SendMessageBody,
        response: { 200: Empty, ...errors },
      },
    },
    async (request) => {
      const session = andon.session(request.params.id);
      // A signal to a session that does not exist would fail anyway; reading it first gives the 404 and a closed session's 409.
      const view = await bounded('reading the session', () => session.info({ timeoutMs }));
      await bounded('sending the message', () => session.send(request.body.prompt, { by: actorOf(request), timeoutMs })).catch(
        (error: unknown) => {
          throw view.state === 'completed' || view.state === 'failed' || view.state === 'cancelled' ? closedSession(view) : error;
        },
      );
      return {};
    },
  );

  app.post(
    '/sessions/:id(^[^/]+)::archive',
    {
      config: auth('write'),
      schema: {
        operationId: 'julesArchive',
        summary: 'Archive a session (Jules): not available, 400 FAILED_PRECONDITION',
        description:
          'andon sessions have no archived state (docs/jules.md#archive): 400 FAILED_PRECONDITION, after the 404 of an unknown session.',
        tags,
        params: SessionParams,
        body: EmptyBody,
        response: { 200: Empty, ...errors },
      },
    },
    async (request) => {
      await bounded('reading the session', () => andon.session(request.params.id).info({ timeoutMs }));
      throw failedPrecondition(
        'andon sessions cannot be archived: a session stays listed until its history is gone (Temporal retention); see docs/jules.md#archive',
      );
    },
  );

  app.post(
    '/sessions/:id(^[^/]+)::unarchive',
    {
      config: auth('write'),
      schema: {
        operationId: 'julesUnarchive',
        summary: 'Unarchive a session (Jules): every session already is',
        tags,
        params: SessionParams,
        body: EmptyBody,
        response: { 200: Empty, ...errors },
      },
    },
    async (request) => {
      await bounded('reading the session', () => andon.session(request.params.id).info({ timeoutMs }));
      return {};
    },
  );
};

/** `fn` over `items` with at most `limit` calls in flight; results in the items' order. */
async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) results[i] = await fn(items[i]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** A listed session as a resource: its view, or (when it cannot be read in time) what the list knows. */
async function sessionOf(andon: Andon, summary: SessionSummary, timeoutMs: number) {
  const view: SessionView | undefined = await andon
    .session(summary.id)
    .info({ timeoutMs })
    .catch(() => undefined);
  if (view) return toSession(view);
  return {
    name: sessionName(summary.id),
    id: summary.id,
    prompt: '',
    title: summary.title,
    state: STATE_NAMES[summary.state],
    createTime: summary.createTime,
    updateTime: summary.closeTime ?? summary.createTime,
    requirePlanApproval: true,
    automationMode: 'AUTOMATION_MODE_UNSPECIFIED' as const,
    outputs: [],
    archived: false,
  };
}

function upper(times: readonly TimeBound[]): number[] {
  return times.filter((t) => t.op === '<' || t.op === '<=').map((t) => (t.op === '<=' ? t.ms + 1 : t.ms));
}
function lower(times: readonly TimeBound[]): number[] {
  return times.filter((t) => t.op === '>' || t.op === '>=').map((t) => (t.op === '>=' ? t.ms - 1 : t.ms));
}

/** As andon's own refusal of a command the state does not allow: 409 invalid_state (FAILED_PRECONDITION). */
function closedSession(view: SessionView): HttpError {
  const message = `session ${view.id} has ended (${STATE_NAMES[view.state]}) and its follow-up window is over`;
  return new HttpError(409, 'invalid_state', message, { state: view.state });
}
