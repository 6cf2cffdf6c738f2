/**
 * Page tokens and `filter` expressions of the Jules list calls. Tokens are opaque to clients
 * (base64url JSON) but checked like any input: a token that does not parse is a 400 naming
 * `pageToken`, never a 500. Filters are the AIP-160 subset Jules clients send: clauses joined by
 * AND, each `archived = true|false`, `state = NAME` or `create_time <op> "RFC 3339"`.
 */
import { z } from 'zod';
import { badRequest } from '../../protocol/http-errors';
import { JulesState } from './wire';

export const MAX_FILTER_CHARS = 1_000;
const MAX_TOKEN_CHARS = 4_096;

function encode(value: unknown): string {
  return Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
}

function decode<T>(token: string, schema: z.ZodType<T>): T {
  if (token.length > MAX_TOKEN_CHARS || !/^[A-Za-z0-9_-]+$/.test(token)) throw badPageToken();
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw badPageToken();
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw badPageToken();
  return parsed.data;
}

const badPageToken = () => badRequest('invalid pageToken: pass nextPageToken from the previous page unchanged', 'pageToken');

/** Sessions, newest first: where the last page ended (its oldest createTime) and the ids listed at that time. */
const SessionCursor = z.object({ t: z.iso.datetime(), x: z.array(z.string().max(128)).max(100) }).strict();
export type SessionCursor = z.infer<typeof SessionCursor>;
export const sessionToken = (cursor: SessionCursor) => encode(cursor);
export const readSessionToken = (token: string) => decode(token, SessionCursor);

/** Activities, oldest first: the seq of the last one listed and its time (the time chain goes on from there). */
const ActivityCursor = z
  .object({ s: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER), m: z.number().int().min(0).max(8.64e15) })
  .strict();
export type ActivityCursor = z.infer<typeof ActivityCursor>;
export const activityToken = (cursor: ActivityCursor) => encode(cursor);
export const readActivityToken = (token: string) => decode(token, ActivityCursor);

/** Sources: how many were listed before. */
const SourceCursor = z.object({ o: z.number().int().min(0).max(1_000_000) }).strict();
export const sourceToken = (offset: number) => encode({ o: offset });
export const readSourceToken = (token: string) => decode(token, SourceCursor).o;

export type TimeOp = '>' | '>=' | '<' | '<=';
export interface TimeBound {
  op: TimeOp;
  ms: number;
}

export interface Filter {
  archived?: boolean;
  states?: JulesState[];
  times: TimeBound[];
}

const CLAUSE =
  /^\s*(?:(archived)\s*=\s*(true|false)|(state)\s*=\s*"?([A-Z_]+)"?|(create_?time|createTime)\s*(>=|<=|>|<)\s*"([^"]{1,64})")\s*$/i;

/** Parses `filter`; `allowed` names the fields this list may be filtered by. */
export function parseFilter(text: string | undefined, allowed: ReadonlySet<'archived' | 'state' | 'create_time'>): Filter {
  const filter: Filter = { times: [] };
  if (text === undefined || text.trim() === '') return filter;
  if (text.length > MAX_FILTER_CHARS) throw badRequest(`invalid filter: at most ${MAX_FILTER_CHARS} characters`, 'filter');
  for (const clause of text.split(/\s+AND\s+/i)) {
    const match = CLAUSE.exec(clause);
    const field = match?.[1] ? 'archived' : match?.[3] ? 'state' : match?.[5] ? 'create_time' : undefined;
    if (!match || !field || !allowed.has(field)) {
      throw badRequest(
        `invalid filter: cannot read ${JSON.stringify(clause.trim().slice(0, 100))}; expected clauses joined by AND, each ${[...allowed]
          .map((f) => (f === 'archived' ? 'archived = true|false' : f === 'state' ? 'state = STATE_NAME' : 'create_time > "RFC 3339 time"'))
          .join(', or ')}`,
        'filter',
      );
    }
    if (field === 'archived') filter.archived = match[2]!.toLowerCase() === 'true';
    if (field === 'state') {
      const state = JulesState.safeParse(match[4]!.toUpperCase());
      if (!state.success) throw badRequest(`invalid filter: unknown state ${JSON.stringify(match[4])}`, 'filter');
      filter.states = [...(filter.states ?? []), state.data];
    }
    if (field === 'create_time') {
      const ms = Date.parse(match[7]!);
      if (!z.iso.datetime({ offset: true }).safeParse(match[7]).success || Number.isNaN(ms))
        throw badRequest(`invalid filter: ${JSON.stringify(match[7])} is not an RFC 3339 time`, 'filter');
      filter.times.push({ op: match[6] as TimeOp, ms });
    }
  }
  return filter;
}

export function withinTimes(ms: number, times: readonly TimeBound[]): boolean {
  return times.every(({ op, ms: bound }) => (op === '>' ? ms > bound : op === '>=' ? ms >= bound : op === '<' ? ms < bound : ms <= bound));
}

/** `name = "sources/github/o/r"` clauses joined by OR (the form the SDK's docs show): the names, lower-cased; undefined for no filter. */
export function parseSourceFilter(text: string | undefined): Set<string> | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  if (text.length > MAX_FILTER_CHARS) throw badRequest(`invalid filter: at most ${MAX_FILTER_CHARS} characters`, 'filter');
  const names = new Set<string>();
  for (const clause of text.split(/\s+OR\s+/i)) {
    const match = /^\s*name\s*=\s*"([^"]{1,300})"\s*$/i.exec(clause);
    if (!match?.[1]) {
      throw badRequest(
        `invalid filter: cannot read ${JSON.stringify(clause.trim().slice(0, 100))}; expected name = "sources/github/owner/repo" clauses joined by OR`,
        'filter',
      );
    }
    names.add(match[1].toLowerCase());
  }
  return names;
}
