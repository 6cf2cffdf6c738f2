/**
 * A loopback server that speaks the Jules REST v1alpha API as the published service and
 * @google/jules-sdk 0.2.0 use it (../shared/notes/jules-rest.md), so andon's Jules backend is
 * tested on the wire without reaching jules.googleapis.com:
 *
 * - `POST sessions`, `GET sessions/{id}`, `GET sessions` (newest first, `pageSize`/`pageToken`),
 *   `POST sessions/{id}:approvePlan`, `POST sessions/{id}:sendMessage`,
 *   `GET sessions/{id}/activities` (oldest first, `pageSize`/`pageToken`, `filter` accepted),
 *   `GET sessions/{id}/activities/{a}`, `GET sources`, `GET sources/github/{owner}/{repo}`.
 * - `X-Goog-Api-Key` must be the server's key: 401 UNAUTHENTICATED otherwise, or 403
 *   PERMISSION_DENIED for `deniedKeys`; unknown sessions are 404 NOT_FOUND; Google's error body
 *   (`{error: {code, message, status}}`) throughout.
 * - Activity times strictly increase at millisecond resolution, in one fixed format (microseconds,
 *   `Z`), as the SDK needs.
 * - Sessions follow a scenario chosen by the prompt's first word (`scenarios`): a plan after a
 *   delay (slow plans), a question before the plan, work after approval (progress, bash output,
 *   change sets, spaced in time), then completion with a pull request (sessions with a source)
 *   and a change set as outputs, or failure with a reason.
 * - Faults on demand (`fail`): any status for the next N requests of a route, with Retry-After.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { JulesCreateSession, JulesSendMessage } from '../../src/protocol/jules';

export type JulesRoute =
  | 'createSession'
  | 'getSession'
  | 'listSessions'
  | 'approvePlan'
  | 'sendMessage'
  | 'listActivities'
  | 'getActivity'
  | 'listSources'
  | 'getSource';

export interface JulesRequest {
  route: JulesRoute | 'unknown';
  method: string;
  path: string;
  query: Record<string, string>;
  status: number;
  /** Whether the right key came with it (the key itself is never recorded). */
  authorized: boolean;
}

/** One thing Jules does while it works, `afterMs` after the previous one. */
export type WorkItem =
  { afterMs?: number; progress: { title: string; description?: string }; artifacts?: unknown[] } | { afterMs?: number; message: string };

export interface Scenario {
  /** How long planning takes. */
  planDelayMs?: number;
  /** Jules asks this before it plans; the plan comes after the answer. */
  question?: string;
  steps?: string[];
  /** Progress during planning, before the plan. */
  planning?: WorkItem[];
  /** After approval. */
  work?: WorkItem[];
  /** Ends FAILED with this reason instead of COMPLETED. */
  failWith?: string;
  /** How long a reply to a message takes. */
  replyDelayMs?: number;
  /** The pull request output appears this long after completion (Jules opens it a little later). */
  prDelayMs?: number;
  /** The session ends (COMPLETED or FAILED) without a sessionCompleted/sessionFailed activity. */
  silentEnd?: boolean;
}

export const PATCH = 'diff --git a/app.js b/app.js\n--- a/app.js\n+++ b/app.js\n@@ -1 +1 @@\n-console.log("bug");\n+console.log("fix");\n';

const DEFAULT_SCENARIO: Required<Omit<Scenario, 'question' | 'failWith' | 'prDelayMs' | 'silentEnd'>> = {
  planDelayMs: 50,
  steps: ['Read the code', 'Fix the bug', 'Run the tests'],
  planning: [{ progress: { title: 'Cloning the repository' } }],
  work: [
    { afterMs: 50, progress: { title: 'Reading app.js', description: 'looking for the bug' } },
    {
      afterMs: 50,
      progress: { title: 'Ran the tests' },
      artifacts: [{ bashOutput: { command: 'npm test', output: '1 passing', exitCode: 0 } }],
    },
    {
      afterMs: 50,
      progress: { title: 'Changed app.js' },
      artifacts: [{ changeSet: { source: 'sources/github/acme/app', gitPatch: { unidiffPatch: PATCH, baseCommitId: 'abc123' } } }],
    },
  ],
  replyDelayMs: 50,
};

type Session = {
  id: string;
  prompt: string;
  title?: string;
  state: string;
  createTime: string;
  updateTime: string;
  sourceContext?: { source: string; githubRepoContext?: { startingBranch?: string } };
  automationMode?: string;
  requirePlanApproval?: boolean;
  outputs: unknown[];
  activities: Record<string, unknown>[];
  scenario: Scenario;
  planId?: string;
  answered: boolean;
};

interface Fault {
  route: JulesRoute;
  status: number;
  times: number;
  retryAfter?: string;
}

const STATUS_NAMES: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  409: 'ABORTED',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
};

export class JulesServer {
  readonly requests: JulesRequest[] = [];
  private readonly sessions = new Map<string, Session>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly faults: Fault[] = [];
  private nextId = 1_000;
  private lastTimeMs = 0;

  private constructor(
    private readonly server: http.Server,
    readonly key: string,
    /** Scenarios by the prompt's first word; `default` for the rest. */
    readonly scenarios: Record<string, Scenario>,
    private readonly deniedKeys: string[],
    /** Activities per page unless the client asks for fewer (Jules' own default is larger). */
    private readonly defaultPageSize: number,
  ) {}

  static async start(
    options: { key: string; scenarios?: Record<string, Scenario>; deniedKeys?: string[]; defaultPageSize?: number } = {
      key: 'jules-test-key',
    },
  ): Promise<JulesServer> {
    const server = http.createServer();
    const jules = new JulesServer(server, options.key, options.scenarios ?? {}, options.deniedKeys ?? [], options.defaultPageSize ?? 3);
    server.on('request', (req, res) => {
      jules.handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) jules.send(res, 500, { error: { code: 500, message: String(error), status: 'INTERNAL' } });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return jules;
  }

  get baseUrl(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1alpha`;
  }

  /** The next `times` requests of `route` get `status` (with Retry-After when given). */
  fail(fault: { route: JulesRoute; status: number; times?: number; retryAfter?: string }): void {
    this.faults.push({ times: 1, ...fault });
  }

  /** A session's activities as listed (for assertions). */
  activities(id: string): Record<string, unknown>[] {
    return this.sessions.get(id)?.activities ?? [];
  }

  session(id: string): Session | undefined {
    return this.sessions.get(id);
  }

  allSessions(): Session[] {
    return [...this.sessions.values()];
  }

  async close(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // ---- scenario ---------------------------------------------------------------------------

  /** Strictly increasing times at millisecond resolution, always with six fraction digits. */
  private stamp(): string {
    this.lastTimeMs = Math.max(Date.now(), this.lastTimeMs + 1);
    return new Date(this.lastTimeMs).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
  }

  private later(ms: number, run: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      run();
    }, ms);
    this.timers.add(timer);
  }

  private add(s: Session, originator: 'user' | 'agent' | 'system', payload: Record<string, unknown>, artifacts: unknown[] = []): void {
    const id = `a${s.activities.length + 1}x${s.id}`;
    const time = this.stamp();
    s.activities.push({
      name: `sessions/${s.id}/activities/${id}`,
      id,
      createTime: time,
      originator,
      ...(artifacts.length > 0 ? { artifacts } : {}),
      ...payload,
    });
    s.updateTime = time;
  }

  private setState(s: Session, state: string): void {
    s.state = state;
    s.updateTime = this.stamp();
  }

  /** Runs work items one after another, then `done`. */
  private runItems(s: Session, items: WorkItem[], done: () => void): void {
    const [item, ...rest] = items;
    if (!item) return done();
    this.later(item.afterMs ?? 20, () => {
      if ('progress' in item) {
        this.add(
          s,
          'agent',
          { progressUpdated: { title: item.progress.title, description: item.progress.description ?? '' } },
          item.artifacts,
        );
      } else this.add(s, 'agent', { agentMessaged: { agentMessage: item.message } });
      this.runItems(s, rest, done);
    });
  }

  private plan(s: Session): void {
    const steps = s.scenario.steps ?? DEFAULT_SCENARIO.steps;
    this.setState(s, 'PLANNING');
    this.runItems(s, s.scenario.planning ?? DEFAULT_SCENARIO.planning, () => {
      this.later(s.scenario.planDelayMs ?? DEFAULT_SCENARIO.planDelayMs, () => {
        if (s.scenario.question && !s.answered) {
          this.add(s, 'agent', { agentMessaged: { agentMessage: s.scenario.question } });
          this.setState(s, 'AWAITING_USER_FEEDBACK');
          return;
        }
        this.propose(s, steps);
        if (s.requirePlanApproval === false) this.approve(s);
      });
    });
  }

  private propose(s: Session, steps: string[]): void {
    s.planId = `plan${s.activities.length}`;
    const planTime = this.stamp();
    this.add(s, 'agent', {
      planGenerated: {
        plan: {
          id: s.planId,
          steps: steps.map((title, index) => ({ id: `${s.planId}s${index}`, title, description: `${title} (Jules)`, index })),
          createTime: planTime,
        },
      },
    });
    this.setState(s, 'AWAITING_PLAN_APPROVAL');
  }

  private approve(s: Session): void {
    this.add(s, 'user', { planApproved: { planId: s.planId } });
    this.setState(s, 'IN_PROGRESS');
    this.runItems(s, s.scenario.work ?? DEFAULT_SCENARIO.work, () => {
      this.later(20, () => {
        if (s.scenario.failWith) {
          if (!s.scenario.silentEnd) this.add(s, 'system', { sessionFailed: { reason: s.scenario.failWith } });
          this.setState(s, 'FAILED');
          return;
        }
        const changeSet = { source: s.sourceContext?.source ?? '', gitPatch: { unidiffPatch: PATCH, baseCommitId: 'abc123' } };
        if (!s.scenario.silentEnd) this.add(s, 'system', { sessionCompleted: {} }, [{ changeSet }]);
        const source = s.sourceContext?.source;
        const pullRequest =
          source && s.automationMode === 'AUTO_CREATE_PR'
            ? {
                pullRequest: {
                  url: `https://github.com/${source.replace(/^sources\/github\//, '')}/pull/${s.id}`,
                  title: s.title ?? 'Jules',
                  description: 'Made by Jules',
                },
              }
            : undefined;
        s.outputs = [...(pullRequest && s.scenario.prDelayMs === undefined ? [pullRequest] : []), { changeSet }];
        if (pullRequest && s.scenario.prDelayMs !== undefined)
          this.later(s.scenario.prDelayMs, () => (s.outputs = [pullRequest, { changeSet }]));
        this.setState(s, 'COMPLETED');
      });
    });
  }

  // ---- HTTP -------------------------------------------------------------------------------

  private send(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
    res.end(JSON.stringify(body));
  }

  private error(res: http.ServerResponse, status: number, message: string, headers: Record<string, string> = {}): number {
    this.send(res, status, { error: { code: status, message, status: STATUS_NAMES[status] ?? 'UNKNOWN' } }, headers);
    return status;
  }

  private async body(req: http.IncomingMessage): Promise<unknown> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    return text.trim() === '' ? {} : (JSON.parse(text) as unknown);
  }

  private route(method: string, path: string): { route: JulesRoute; params: string[] } | undefined {
    const table: [string, RegExp, JulesRoute][] = [
      ['POST', /^sessions$/, 'createSession'],
      ['GET', /^sessions$/, 'listSessions'],
      ['GET', /^sessions\/([^/:]+)$/, 'getSession'],
      ['POST', /^sessions\/([^/:]+):approvePlan$/, 'approvePlan'],
      ['POST', /^sessions\/([^/:]+):sendMessage$/, 'sendMessage'],
      ['GET', /^sessions\/([^/:]+)\/activities$/, 'listActivities'],
      ['GET', /^sessions\/([^/:]+)\/activities\/([^/:]+)$/, 'getActivity'],
      ['GET', /^sources$/, 'listSources'],
      ['GET', /^sources\/github\/([^/]+)\/([^/]+)$/, 'getSource'],
    ];
    for (const [m, pattern, route] of table) {
      const match = pattern.exec(path);
      if (m === method && match) return { route, params: match.slice(1) };
    }
    return undefined;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname.replace(/^\/v1alpha\//, '');
    const query = Object.fromEntries(url.searchParams);
    const key = req.headers['x-goog-api-key'];
    const found = this.route(req.method ?? 'GET', path);
    const record: JulesRequest = {
      route: found?.route ?? 'unknown',
      method: req.method ?? 'GET',
      path: url.pathname,
      query,
      status: 0,
      authorized: key === this.key,
    };
    this.requests.push(record);
    record.status = await this.answer(req, res, found, key, query);
  }

  private async answer(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    found: { route: JulesRoute; params: string[] } | undefined,
    key: string | string[] | undefined,
    query: Record<string, string>,
  ): Promise<number> {
    if (typeof key === 'string' && this.deniedKeys.includes(key)) {
      return this.error(res, 403, 'The caller does not have permission');
    }
    if (key !== this.key) return this.error(res, 401, 'Request had invalid authentication credentials. Expected an API key.');
    if (!found) return this.error(res, 404, 'Method not found.');
    const fault = this.faults.find((f) => f.route === found.route && f.times > 0);
    if (fault) {
      fault.times -= 1;
      return this.error(res, fault.status, `injected ${fault.status}`, fault.retryAfter ? { 'retry-after': fault.retryAfter } : {});
    }
    const [first = '', second = ''] = found.params;
    switch (found.route) {
      case 'createSession': {
        const parsed = JulesCreateSession.safeParse(await this.body(req));
        if (!parsed.success) return this.error(res, 400, `Invalid JSON payload: ${parsed.error.issues[0]?.message}`);
        const body = parsed.data;
        const id = String(this.nextId++);
        const word = body.prompt.trim().split(/\s+/)[0]?.toLowerCase() ?? '';
        const time = this.stamp();
        const s: Session = {
          id,
          prompt: body.prompt,
          title: body.title,
          state: 'QUEUED',
          createTime: time,
          updateTime: time,
          sourceContext: body.sourceContext,
          automationMode: body.automationMode,
          requirePlanApproval: body.requirePlanApproval,
          outputs: [],
          activities: [],
          scenario: this.scenarios[word] ?? this.scenarios.default ?? {},
          answered: false,
        };
        this.sessions.set(id, s);
        this.later(10, () => this.plan(s));
        this.send(res, 200, this.resource(s));
        return 200;
      }
      case 'getSession': {
        const s = this.sessions.get(first);
        if (!s) return this.error(res, 404, `Session ${first} not found.`);
        this.send(res, 200, this.resource(s));
        return 200;
      }
      case 'listSessions': {
        const all = [...this.sessions.values()].reverse();
        const { items, next } = page(all, query, 50);
        this.send(res, 200, { sessions: items.map((s) => this.resource(s)), ...(next ? { nextPageToken: next } : {}) });
        return 200;
      }
      case 'approvePlan': {
        const s = this.sessions.get(first);
        if (!s) return this.error(res, 404, `Session ${first} not found.`);
        await this.body(req);
        if (s.state !== 'AWAITING_PLAN_APPROVAL') return this.error(res, 400, `Session is ${s.state}, not awaiting plan approval.`);
        this.approve(s);
        this.send(res, 200, {});
        return 200;
      }
      case 'sendMessage': {
        const s = this.sessions.get(first);
        if (!s) return this.error(res, 404, `Session ${first} not found.`);
        const parsed = JulesSendMessage.safeParse(await this.body(req));
        if (!parsed.success) return this.error(res, 400, 'prompt: required');
        this.add(s, 'user', { userMessaged: { userMessage: parsed.data.prompt } });
        if (s.state === 'AWAITING_USER_FEEDBACK' && s.scenario.question && !s.answered) {
          s.answered = true;
          this.later(20, () => this.plan(s));
        } else if (s.state === 'AWAITING_PLAN_APPROVAL' && /revise/i.test(parsed.data.prompt)) {
          // Feedback on the plan: Jules says so, then proposes a revised plan.
          const steps = (s.scenario.steps ?? DEFAULT_SCENARIO.steps).map((title) => `${title} (revised)`);
          this.later(s.scenario.replyDelayMs ?? DEFAULT_SCENARIO.replyDelayMs, () => {
            this.add(s, 'agent', { agentMessaged: { agentMessage: 'I will revise the plan.' } });
            this.later(50, () => this.propose(s, steps));
          });
        } else {
          this.later(s.scenario.replyDelayMs ?? DEFAULT_SCENARIO.replyDelayMs, () =>
            this.add(s, 'agent', { agentMessaged: { agentMessage: `Jules heard: ${parsed.data.prompt}` } }),
          );
        }
        this.send(res, 200, {});
        return 200;
      }
      case 'listActivities': {
        const s = this.sessions.get(first);
        if (!s) return this.error(res, 404, `Session ${first} not found.`);
        const filter = query.filter;
        let list = s.activities;
        const after = filter ? /^create_time>"([^"]+)"$/.exec(filter)?.[1] : undefined;
        if (filter && after === undefined) return this.error(res, 400, `Invalid filter: ${filter}`);
        if (after) list = list.filter((a) => String(a.createTime) > after);
        const { items, next } = page(list, query, this.defaultPageSize);
        this.send(res, 200, { activities: items, ...(next ? { nextPageToken: next } : {}) });
        return 200;
      }
      case 'getActivity': {
        const activity = this.sessions.get(first)?.activities.find((a) => a.id === second);
        if (!activity) return this.error(res, 404, `Activity ${second} not found.`);
        this.send(res, 200, activity);
        return 200;
      }
      case 'listSources':
        this.send(res, 200, {
          sources: [
            { name: 'sources/github/acme/app', id: 'github/acme/app', githubRepo: { owner: 'acme', repo: 'app', isPrivate: false } },
          ],
        });
        return 200;
      case 'getSource':
        if (`${first}/${second}` !== 'acme/app') return this.error(res, 404, 'Source not found.');
        this.send(res, 200, { name: 'sources/github/acme/app', id: 'github/acme/app', githubRepo: { owner: 'acme', repo: 'app' } });
        return 200;
    }
  }

  private resource(s: Session): Record<string, unknown> {
    return {
      name: `sessions/${s.id}`,
      id: s.id,
      prompt: s.prompt,
      ...(s.title ? { title: s.title } : {}),
      state: s.state,
      url: `https://jules.google.com/session/${s.id}`,
      createTime: s.createTime,
      updateTime: s.updateTime,
      ...(s.sourceContext ? { sourceContext: s.sourceContext } : {}),
      ...(s.automationMode ? { automationMode: s.automationMode } : {}),
      ...(s.requirePlanApproval !== undefined ? { requirePlanApproval: s.requirePlanApproval } : {}),
      ...(s.outputs.length > 0 ? { outputs: s.outputs } : {}),
    };
  }
}

const PageToken = z.string().regex(/^o\d+$/);

/** Offset paging with opaque-looking tokens: a token stays valid as the list grows at its end. */
function page<T>(list: T[], query: Record<string, string>, defaultSize: number): { items: T[]; next?: string } {
  const size = Math.min(Math.max(Number(query.pageSize) || defaultSize, 1), 100);
  const token = query.pageToken ? Buffer.from(query.pageToken, 'base64url').toString('utf8') : 'o0';
  const offset = PageToken.safeParse(token).success ? Number(token.slice(1)) : 0;
  const items = list.slice(offset, offset + size);
  const end = offset + items.length;
  return { items, ...(end < list.length ? { next: Buffer.from(`o${end}`).toString('base64url') } : {}) };
}
