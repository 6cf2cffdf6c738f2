/**
 * The activity routes of the Jules door: a session's timeline as activities, oldest first, paged
 * (the page token carries the time chain on, activities.ts), and one activity by id.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { SessionClient } from '../../client/session-client';
import { TimeChain, toActivities, type Numbered } from './activities';
import { auth, deadlineOf, errors, tags, type JulesRoutesOptions } from './common';
import { julesNotFound } from './errors';
import { activityToken, parseFilter, readActivityToken, withinTimes } from './paging';
import { sessionName } from './resources';
import { ActivityParams, ListActivitiesQuery, SessionParams } from './schemas';
import { Activity, ActivityPage } from './wire';

/** Timeline events read per query: the client's own page limit. */
const TIMELINE_PAGE = 1_000;
const DEFAULT_ACTIVITY_PAGE = 100;

export const activityRoutes: FastifyPluginAsyncZod<JulesRoutesOptions> = async (app, options) => {
  const { andon, requestTimeoutMs: timeoutMs } = options;
  const bounded = deadlineOf(timeoutMs);

  app.get(
    '/sessions/:id/activities',
    {
      config: auth('read'),
      schema: {
        operationId: 'julesListActivities',
        summary: "The session's activities, oldest first (Jules)",
        description: '`filter`: `create_time > "RFC 3339"` (also `>=`, `<`, `<=`), as the SDK sends it to fetch only new activities.',
        tags,
        params: SessionParams,
        querystring: ListActivitiesQuery,
        response: { 200: ActivityPage, ...errors },
      },
    },
    async (request) => {
      const { pageSize = DEFAULT_ACTIVITY_PAGE, pageToken, filter: text } = request.query;
      const filter = parseFilter(text, new Set(['create_time'] as const));
      const cursor = pageToken ? readActivityToken(pageToken) : { s: 0, m: -1 };
      const session = andon.session(request.params.id);
      const found = await bounded('reading the activities', () =>
        readActivities(session, cursor.s, new TimeChain(cursor.m < 0 ? undefined : cursor.m), timeoutMs, (numbered) => {
          const matching = numbered.filter((n) => withinTimes(Date.parse(n.activity.createTime), filter.times));
          return { matching, enough: matching.length > pageSize };
        }),
      );
      const page = found.slice(0, pageSize);
      const last = page.at(-1);
      const activities = page.map((n) => n.activity);
      if (!last || found.length <= pageSize) return { activities };
      return { activities, nextPageToken: activityToken({ s: last.seq, m: Date.parse(last.activity.createTime) }) };
    },
  );

  app.get(
    '/sessions/:id/activities/:activityId',
    {
      config: auth('read'),
      schema: {
        operationId: 'julesGetActivity',
        summary: 'One activity (Jules)',
        tags,
        params: ActivityParams,
        response: { 200: Activity, ...errors },
      },
    },
    async (request) => {
      const { id, activityId } = request.params;
      const seq = Number(activityId);
      const found = await bounded('reading the activity', () =>
        readActivities(andon.session(id), 0, new TimeChain(), timeoutMs, (numbered) => {
          const matching = numbered.filter((n) => n.seq === seq);
          return { matching, enough: matching.length > 0 || numbered.some((n) => n.seq > seq) };
        }),
      );
      const activity = found[0]?.activity;
      if (!activity) throw julesNotFound(`${sessionName(id)} has no activity ${activityId}`);
      return activity;
    },
  );
};

/**
 * Reads the timeline after `after` a page at a time, mapping it to activities through `chain`,
 * until `take` says it has enough or the timeline ends. Answers what `take` matched.
 */
async function readActivities(
  session: SessionClient,
  after: number,
  chain: TimeChain,
  timeoutMs: number,
  take: (numbered: Numbered[]) => { matching: Numbered[]; enough: boolean },
): Promise<Numbered[]> {
  const all: Numbered[] = [];
  let from = after;
  for (;;) {
    const page = await session.timeline({ after: from, limit: TIMELINE_PAGE, timeoutMs });
    all.push(...toActivities(session.id, page.events, chain));
    from = page.events.at(-1)?.seq ?? from;
    const { matching, enough } = take(all);
    if (enough || page.events.length < TIMELINE_PAGE || from >= page.lastSeq) return matching;
  }
}
