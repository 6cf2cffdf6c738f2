/**
 * A loopback server that speaks the part of GitHub's REST API that andon uses to open pull
 * requests, with GitHub's real paths, headers, pagination and error bodies, so tests drive the real
 * Octokit client (`@octokit/rest`) without reaching github.com:
 *
 * - `GET /repos/{owner}/{repo}`: the repository (`default_branch`, `permissions`, ...).
 * - `GET /repos/{owner}/{repo}/pulls`: `head=owner:branch`, `base`, `state` (open, closed, all),
 *   `per_page` (at most `maxPerPage`, GitHub's is 100; default 30) and `page`, newest first, with a
 *   `Link` header (`next`, `last`, `first`, `prev`) as GitHub sends it.
 * - `POST /repos/{owner}/{repo}/pulls`: 201 with the pull request; 422 "Validation Failed" when an
 *   open one has the same head and base ("A pull request already exists for owner:branch."), when
 *   a field is missing, or when the head branch is unknown (`branchExists`).
 * - `GET /repos/{owner}/{repo}/pulls/{number}`.
 *
 * Every request needs `authorization: token <token>` or `Bearer <token>` (401 "Requires
 * authentication" / "Bad credentials"); unknown repositories, and ones the token may not see, are
 * 404 "Not Found", as GitHub answers both. Faults on demand (`fail`): GitHub's secondary rate limit
 * (403 with `retry-after` and its real message), the primary one (403 with
 * `x-ratelimit-remaining: 0` and `x-ratelimit-reset`), any status (5xx), a delay, a dropped
 * connection, and "did it, then failed" (`afterApply`: the pull request exists but the client
 * never heard). Pull requests live in memory: `pulls(owner, repo)` for assertions.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';

export type GitHubRoute = 'getRepo' | 'listPulls' | 'createPull' | 'getPull';

export interface GitHubRequest {
  route: GitHubRoute | 'unknown';
  method: string;
  /** Path and query, as sent. */
  url: string;
  /** The parsed JSON body (POST). */
  body?: unknown;
  /** The credentials matched the server's token. */
  authorized: boolean;
  userAgent?: string;
  apiVersion?: string;
  accept?: string;
  /** What the request was answered with (0: the connection was dropped). */
  status: number;
  at: number;
}

export interface PullRequestRecord {
  number: number;
  owner: string;
  repo: string;
  title: string;
  body: string | null;
  head: string;
  base: string;
  state: 'open' | 'closed';
  draft: boolean;
  createdAt: string;
}

export interface GitHubFault {
  /** Which requests (default: all of them). */
  route?: GitHubRoute;
  /** Only those for which this holds. */
  when?: (request: { route: GitHubRoute; owner: string; repo: string; query: URLSearchParams; body: unknown }) => boolean;
  /** How many requests fail (default: every matching one). */
  times?: number;
  /** 403 "You have exceeded a secondary rate limit" with `retry-after` (seconds; unset: no header). */
  secondaryRateLimit?: { retryAfter?: number };
  /** 403 "API rate limit exceeded" with `x-ratelimit-remaining: 0` and a reset this many seconds away. */
  rateLimit?: { resetInSeconds: number };
  /** This status instead (500, 502, 503, 403, ...), with `{"message": message}` (default: the status's text). */
  status?: number;
  message?: string;
  /** Wait this long first, then answer (with the failure, or normally when the fault has no other). */
  delayMs?: number;
  /** Close the connection without an answer. */
  drop?: boolean;
  /** Do what was asked first, then fail anyway (the change is made; the client never learns it). */
  afterApply?: boolean;
}

export interface GitHubServerOptions {
  token: string;
  /** Repositories as `owner/repo` (more with `addRepo`). */
  repos?: string[];
  /** The largest page GitHub gives (100 on github.com); smaller makes pagination easy to reach. */
  maxPerPage?: number;
  /** Whether a branch exists in a repository, for the head of a new pull request (default: every branch does). */
  branchExists?: (owner: string, repo: string, branch: string) => boolean;
}

interface Repo {
  id: number;
  owner: string;
  name: string;
  defaultBranch: string;
  private: boolean;
  /** The token may see it (false: 404, as GitHub hides a repository it may not read). */
  visible: boolean;
}

const DOCS = 'https://docs.github.com/rest';

/** What POST /repos/{owner}/{repo}/pulls accepts (GitHub's schema, the fields andon may send). */
const CreatePull = z.looseObject({
  title: z.string().optional(),
  head: z.string(),
  base: z.string(),
  body: z.string().nullish(),
  draft: z.boolean().optional(),
  maintainer_can_modify: z.boolean().optional(),
  head_repo: z.string().optional(),
  issue: z.number().optional(),
});

export class GitHubServer {
  readonly requests: GitHubRequest[] = [];
  private readonly repos = new Map<string, Repo>();
  private readonly pullRequests: PullRequestRecord[] = [];
  private faults: GitHubFault[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private nextNumber = 1;
  private nextId = 1000;
  private clock = Date.parse('2026-01-01T00:00:00Z');
  private readonly maxPerPage: number;
  private readonly branchExists: (owner: string, repo: string, branch: string) => boolean;

  private constructor(
    private readonly server: http.Server,
    readonly url: string,
    private readonly token: string,
    options: GitHubServerOptions,
  ) {
    this.maxPerPage = options.maxPerPage ?? 100;
    this.branchExists = options.branchExists ?? (() => true);
    for (const name of options.repos ?? []) this.addRepo(name);
  }

  static async start(options: GitHubServerOptions): Promise<GitHubServer> {
    const server = http.createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        api.handle(request, Buffer.concat(chunks).toString('utf8'), response).catch((error: unknown) => {
          if (!response.headersSent) send(response, 500, { message: `loopback GitHub: ${String(error)}` });
        });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    // Requests arrive only once the server listens, after `api` is set.
    const api = new GitHubServer(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`, options.token, options);
    return api;
  }

  /** The REST API base URL (Octokit's `baseUrl`, andon's `workspace.github.apiUrl`). */
  get apiUrl(): string {
    return this.url;
  }

  /** A repository: `visible: false` makes it one the token may not see (404, as GitHub answers). */
  addRepo(fullName: string, options: { defaultBranch?: string; private?: boolean; visible?: boolean } = {}): void {
    const [owner = '', name = ''] = fullName.split('/');
    this.repos.set(key(owner, name), {
      id: ++this.nextId,
      owner,
      name,
      defaultBranch: options.defaultBranch ?? 'main',
      private: options.private ?? false,
      visible: options.visible ?? true,
    });
  }

  /** A pull request made outside the client under test (someone else's, an earlier attempt's, a closed one). */
  addPull(
    owner: string,
    repo: string,
    pull: { head: string; base: string; title?: string; body?: string; state?: 'open' | 'closed'; draft?: boolean },
  ): PullRequestRecord {
    const known = this.repos.get(key(owner, repo));
    if (!known) throw new Error(`loopback GitHub: no repository ${owner}/${repo}`);
    return this.record(known.owner, known.name, {
      head: pull.head.includes(':') ? pull.head : `${known.owner}:${pull.head}`,
      base: pull.base,
      title: pull.title ?? `Change ${pull.head}`,
      body: pull.body ?? null,
      state: pull.state ?? 'open',
      draft: pull.draft ?? false,
    });
  }

  /** Every pull request of the repository, oldest first (`head` as `owner:branch`). */
  pulls(owner: string, repo: string): PullRequestRecord[] {
    return this.pullRequests.filter((p) => p.owner === owner && p.repo === repo);
  }

  requestsTo(route: GitHubRoute): GitHubRequest[] {
    return this.requests.filter((r) => r.route === route);
  }

  fail(fault: GitHubFault): void {
    this.faults.push({ ...fault });
  }

  clearFaults(): void {
    this.faults = [];
  }

  async close(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // -------------------------------------------------------------------------------------------

  private async handle(request: http.IncomingMessage, text: string, response: http.ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', this.url);
    const method = request.method ?? 'GET';
    const match = /^\/repos\/([^/]+)\/([^/]+)(?:\/pulls(?:\/(\d+))?)?\/?$/.exec(url.pathname);
    const pullsPath = /\/pulls(\/\d+)?\/?$/.exec(url.pathname);
    const route: GitHubRoute | 'unknown' = !match
      ? 'unknown'
      : !pullsPath
        ? method === 'GET'
          ? 'getRepo'
          : 'unknown'
        : pullsPath[1]
          ? method === 'GET'
            ? 'getPull'
            : 'unknown'
          : method === 'GET'
            ? 'listPulls'
            : method === 'POST'
              ? 'createPull'
              : 'unknown';
    let body: unknown;
    if (text) {
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
    }
    const credentials = /^(?:token|bearer)\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
    const entry: GitHubRequest = {
      route,
      method,
      url: `${url.pathname}${url.search}`,
      ...(body !== undefined ? { body } : {}),
      authorized: credentials === this.token,
      ...(request.headers['user-agent'] ? { userAgent: request.headers['user-agent'] } : {}),
      ...(typeof request.headers['x-github-api-version'] === 'string' ? { apiVersion: request.headers['x-github-api-version'] } : {}),
      ...(request.headers.accept ? { accept: request.headers.accept } : {}),
      status: 0,
      at: Date.now(),
    };
    this.requests.push(entry);
    const reply = (status: number, payload: unknown, headers: Record<string, string> = {}) => {
      entry.status = status;
      if (response.destroyed) return;
      send(response, status, payload, { ...this.rateHeaders(), ...headers });
    };

    if (!match || route === 'unknown') return reply(404, { message: 'Not Found', documentation_url: DOCS, status: '404' });
    const owner = decodeURIComponent(match[1] ?? '');
    const repoName = decodeURIComponent(match[2] ?? '');

    const fault = this.takeFault(route, owner, repoName, url.searchParams, body);
    if (fault?.delayMs) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          resolve();
        }, fault.delayMs);
        this.timers.add(timer);
        response.once('close', () => {
          clearTimeout(timer);
          this.timers.delete(timer);
          resolve();
        });
      });
    }
    if (response.destroyed) return; // the client gave up while it waited
    const failing = fault && (fault.drop || fault.status || fault.secondaryRateLimit || fault.rateLimit);
    if (failing && !fault.afterApply) return this.failWith(fault, entry, response, reply);

    if (!credentials) {
      return reply(401, { message: 'Requires authentication', documentation_url: DOCS, status: '401' });
    }
    if (credentials !== this.token) return reply(401, { message: 'Bad credentials', documentation_url: DOCS, status: '401' });
    const repo = this.repos.get(key(owner, repoName));
    if (!repo || !repo.visible) {
      const docs: Record<GitHubRoute, string> = {
        getRepo: `${DOCS}/repos/repos#get-a-repository`,
        listPulls: `${DOCS}/pulls/pulls#list-pull-requests`,
        createPull: `${DOCS}/pulls/pulls#create-a-pull-request`,
        getPull: `${DOCS}/pulls/pulls#get-a-pull-request`,
      };
      return reply(404, { message: 'Not Found', documentation_url: docs[route], status: '404' });
    }

    const [status, payload, headers] = this.apply(route, repo, url, body, match[3]);
    if (failing && fault.afterApply) return this.failWith(fault, entry, response, reply);
    reply(status, payload, headers);
  }

  private apply(
    route: GitHubRoute,
    repo: Repo,
    url: URL,
    body: unknown,
    number: string | undefined,
  ): [number, unknown, Record<string, string>?] {
    switch (route) {
      case 'getRepo':
        return [200, this.repoJson(repo)];
      case 'getPull': {
        const pull = this.pulls(repo.owner, repo.name).find((p) => p.number === Number(number));
        return pull
          ? [200, this.pullJson(pull)]
          : [404, { message: 'Not Found', documentation_url: `${DOCS}/pulls/pulls#get-a-pull-request`, status: '404' }];
      }
      case 'listPulls':
        return this.list(repo, url);
      case 'createPull':
        return this.create(repo, body);
    }
  }

  private list(repo: Repo, url: URL): [number, unknown, Record<string, string>] {
    const query = url.searchParams;
    const state = query.get('state') ?? 'open';
    if (!['open', 'closed', 'all'].includes(state)) {
      return [
        422,
        {
          message: 'Validation Failed',
          errors: [{ resource: 'Issue', field: 'state', code: 'invalid' }],
          documentation_url: `${DOCS}/pulls/pulls#list-pull-requests`,
          status: '422',
        },
        {},
      ];
    }
    const head = query.get('head');
    const base = query.get('base');
    const perPage = Math.min(Math.max(Number(query.get('per_page') ?? 30) || 30, 1), this.maxPerPage);
    const page = Math.max(Number(query.get('page') ?? 1) || 1, 1);
    // Newest first (GitHub's default: sort=created, direction=desc).
    const matching = this.pulls(repo.owner, repo.name)
      .filter((p) => state === 'all' || p.state === state)
      // `owner:branch`; this server ignores a head without an owner.
      .filter((p) => !head || !head.includes(':') || p.head === head)
      .filter((p) => !base || p.base === base)
      .reverse();
    const lastPage = Math.max(1, Math.ceil(matching.length / perPage));
    const items = matching.slice((page - 1) * perPage, page * perPage).map((p) => this.pullJson(p));
    const link = (n: number, rel: string) => {
      const next = new URL(url.pathname, this.url);
      for (const [name, value] of query) if (name !== 'page') next.searchParams.append(name, value);
      next.searchParams.set('per_page', String(perPage));
      next.searchParams.set('page', String(n));
      return `<${next.toString()}>; rel="${rel}"`;
    };
    const links = [
      ...(page > 1 ? [link(page - 1, 'prev'), link(1, 'first')] : []),
      ...(page < lastPage ? [link(page + 1, 'next'), link(lastPage, 'last')] : []),
    ];
    return [200, items, links.length ? { link: links.join(', ') } : {}];
  }

  private create(repo: Repo, body: unknown): [number, unknown] {
    const docs = `${DOCS}/pulls/pulls#create-a-pull-request`;
    const parsed = CreatePull.safeParse(body);
    if (!parsed.success) {
      const field = String(parsed.error.issues[0]?.path[0] ?? 'body');
      return [422, { message: `Invalid request.\n\n"${field}" wasn't supplied.`, documentation_url: docs, status: '422' }];
    }
    const { title, head, base, draft } = parsed.data;
    if (!title)
      return [
        422,
        {
          message: 'Validation Failed',
          errors: [{ resource: 'PullRequest', field: 'title', code: 'missing_field' }],
          documentation_url: docs,
          status: '422',
        },
      ];
    const [headOwner, headBranch] = head.includes(':') ? (head.split(':', 2) as [string, string]) : [repo.owner, head];
    const label = `${headOwner}:${headBranch}`;
    if (headOwner !== repo.owner || !this.branchExists(repo.owner, repo.name, headBranch)) {
      return [
        422,
        {
          message: 'Validation Failed',
          errors: [{ resource: 'PullRequest', field: 'head', code: 'invalid' }],
          documentation_url: docs,
          status: '422',
        },
      ];
    }
    if (!this.branchExists(repo.owner, repo.name, base)) {
      return [
        422,
        {
          message: 'Validation Failed',
          errors: [{ resource: 'PullRequest', field: 'base', code: 'invalid' }],
          documentation_url: docs,
          status: '422',
        },
      ];
    }
    if (headBranch === base) {
      return [
        422,
        {
          message: 'Validation Failed',
          errors: [{ resource: 'PullRequest', code: 'custom', message: `No commits between ${base} and ${headBranch}` }],
          documentation_url: docs,
          status: '422',
        },
      ];
    }
    if (this.pulls(repo.owner, repo.name).some((p) => p.state === 'open' && p.head === label && p.base === base)) {
      return [
        422,
        {
          message: 'Validation Failed',
          errors: [{ resource: 'PullRequest', code: 'custom', message: `A pull request already exists for ${label}.` }],
          documentation_url: docs,
          status: '422',
        },
      ];
    }
    const pull = this.record(repo.owner, repo.name, {
      head: label,
      base,
      title,
      body: parsed.data.body ?? null,
      state: 'open',
      draft: draft ?? false,
    });
    return [201, this.pullJson(pull)];
  }

  private record(
    owner: string,
    repo: string,
    pull: Pick<PullRequestRecord, 'head' | 'base' | 'title' | 'body' | 'state' | 'draft'>,
  ): PullRequestRecord {
    this.clock += 1_000;
    const record: PullRequestRecord = { number: this.nextNumber++, owner, repo, ...pull, createdAt: new Date(this.clock).toISOString() };
    this.pullRequests.push(record);
    return record;
  }

  private failWith(
    fault: GitHubFault,
    entry: GitHubRequest,
    response: http.ServerResponse,
    reply: (status: number, payload: unknown, headers?: Record<string, string>) => void,
  ): void {
    if (fault.drop) {
      entry.status = 0;
      response.socket?.destroy();
      return;
    }
    if (fault.secondaryRateLimit) {
      const requestId = randomBytes(8).toString('hex').toUpperCase();
      return reply(
        403,
        {
          message: `You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID ${requestId}.`,
          documentation_url:
            'https://docs.github.com/free-pro-team@latest/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits',
          status: '403',
        },
        fault.secondaryRateLimit.retryAfter !== undefined ? { 'retry-after': String(fault.secondaryRateLimit.retryAfter) } : {},
      );
    }
    if (fault.rateLimit) {
      return reply(
        403,
        {
          message: 'API rate limit exceeded for user ID 1.',
          documentation_url: 'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-the-primary-rate-limit',
          status: '403',
        },
        {
          'x-ratelimit-remaining': '0',
          'x-ratelimit-used': '5000',
          'x-ratelimit-reset': String(Math.ceil(Date.now() / 1000) + fault.rateLimit.resetInSeconds),
        },
      );
    }
    const status = fault.status ?? 500;
    reply(status, {
      message: fault.message ?? http.STATUS_CODES[status] ?? 'Server Error',
      documentation_url: DOCS,
      status: String(status),
    });
  }

  private takeFault(route: GitHubRoute, owner: string, repo: string, query: URLSearchParams, body: unknown): GitHubFault | undefined {
    const fault = this.faults.find(
      (f) =>
        (f.route === undefined || f.route === route) &&
        (f.when?.({ route, owner, repo, query, body }) ?? true) &&
        (f.times === undefined || f.times > 0),
    );
    if (fault?.times !== undefined) fault.times -= 1;
    return fault;
  }

  private rateHeaders(): Record<string, string> {
    return {
      'x-ratelimit-limit': '5000',
      'x-ratelimit-remaining': String(Math.max(0, 5000 - this.requests.length)),
      'x-ratelimit-reset': String(Math.ceil(Date.now() / 1000) + 3600),
      'x-ratelimit-resource': 'core',
      'x-github-api-version-selected': '2022-11-28',
      'x-github-request-id': randomBytes(8).toString('hex').toUpperCase(),
    };
  }

  private repoJson(repo: Repo): Record<string, unknown> {
    const fullName = `${repo.owner}/${repo.name}`;
    return {
      id: repo.id,
      node_id: `R_${repo.id}`,
      name: repo.name,
      full_name: fullName,
      private: repo.private,
      owner: { login: repo.owner, id: 1, type: 'Organization' },
      html_url: `${this.url}/${fullName}`,
      url: `${this.url}/repos/${fullName}`,
      clone_url: `${this.url}/${fullName}.git`,
      default_branch: repo.defaultBranch,
      visibility: repo.private ? 'private' : 'public',
      permissions: { admin: false, maintain: false, push: true, triage: true, pull: true },
    };
  }

  private pullJson(pull: PullRequestRecord): Record<string, unknown> {
    const repo = this.repos.get(key(pull.owner, pull.repo));
    const repoJson = repo ? this.repoJson(repo) : null;
    const [headOwner = '', headRef = ''] = pull.head.split(':', 2);
    return {
      url: `${this.url}/repos/${pull.owner}/${pull.repo}/pulls/${pull.number}`,
      id: 5_000_000 + pull.number,
      node_id: `PR_${pull.number}`,
      html_url: `${this.url}/${pull.owner}/${pull.repo}/pull/${pull.number}`,
      number: pull.number,
      state: pull.state,
      locked: false,
      title: pull.title,
      user: { login: 'andon-bot', id: 2, type: 'User' },
      body: pull.body,
      created_at: pull.createdAt,
      updated_at: pull.createdAt,
      closed_at: pull.state === 'closed' ? pull.createdAt : null,
      merged_at: null,
      draft: pull.draft,
      head: { label: pull.head, ref: headRef, sha: sha(pull.head), user: { login: headOwner }, repo: repoJson },
      base: { label: `${pull.owner}:${pull.base}`, ref: pull.base, sha: sha(pull.base), user: { login: pull.owner }, repo: repoJson },
      author_association: 'MEMBER',
    };
  }
}

function key(owner: string, repo: string): string {
  // GitHub's names are case-insensitive.
  return `${owner}/${repo}`.toLowerCase();
}

/** A stable fake commit id for a ref. */
function sha(ref: string): string {
  let hash = 0;
  for (const char of ref) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  return hash.toString(16).padStart(8, '0').repeat(5);
}

function send(response: http.ServerResponse, status: number, payload: unknown, headers: Record<string, string> = {}): void {
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  response.end(JSON.stringify(payload));
}
