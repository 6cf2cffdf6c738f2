/**
 * Pull requests on GitHub, through the official Octokit client (`@octokit/rest`): find the open
 * pull request of a session's branch, or open one. Publishing runs in an activity that Temporal may
 * retry, or run again after a worker died mid-call, so `ensure` is find-or-create: an open pull
 * request for the branch (on any page of the list) is reused, and a creation that loses a race
 * ("A pull request already exists for owner:branch.") looks again and reuses the one that won.
 *
 * Failures are `PullRequestError`s with a code and a `retryable` flag (with `retryAfterMs` when
 * GitHub said when to come back), for the activity to turn into retryable or final failures.
 * Octokit's own retries and throttling are not used (`@octokit/rest` has neither plugin):
 * Temporal owns retries. The token is sent as the Authorization header and is never part of an
 * error message or a log line.
 *
 * `@octokit/rest` is an optional peer dependency of andon and an ES module: it is loaded on the
 * first call (Node >= 22.12 `require()`s ES modules), so a worker that never publishes a pull
 * request does not need it installed.
 */
import { z } from 'zod';
import type { Octokit } from '@octokit/rest';
import { BranchName, GitHubRepoName, redactUrl } from '../session/schema';
import { firstIssue } from '../protocol/issues';

const PULL_REQUEST_ERROR = Symbol.for('andon.PullRequestError');

export type PullRequestErrorCode = 'Unauthorized' | 'Forbidden' | 'NotFound' | 'Invalid' | 'RateLimited' | 'Unavailable';

/** Why GitHub did not give a pull request: what went wrong, whether trying again can help, and when. */
export class PullRequestError extends Error {
  readonly [PULL_REQUEST_ERROR] = true;
  readonly code: PullRequestErrorCode;
  readonly retryable: boolean;
  /** GitHub said when to come back (`retry-after`, or the rate limit's reset time). */
  readonly retryAfterMs?: number;
  /** GitHub's HTTP status, when it answered. */
  readonly status?: number;

  constructor(message: string, options: { code: PullRequestErrorCode; retryable: boolean; retryAfterMs?: number; status?: number }) {
    super(message);
    this.name = 'PullRequestError';
    this.code = options.code;
    this.retryable = options.retryable;
    if (options.retryAfterMs !== undefined) this.retryAfterMs = options.retryAfterMs;
    if (options.status !== undefined) this.status = options.status;
  }

  /** Works across duplicated package copies, unlike `instanceof`. */
  static isInstance(error: unknown): error is PullRequestError {
    return typeof error === 'object' && error !== null && (error as Record<symbol, unknown>)[PULL_REQUEST_ERROR] === true;
  }
}

export interface GitHubPullRequestsOptions {
  /** A GitHub token that may read the repository and write its pull requests. */
  token: string;
  /** The REST API's base URL (default https://api.github.com; GitHub Enterprise: https://host/api/v3). */
  apiUrl?: string;
  /** Goes first in the User-Agent header, before Octokit's own (default `andon`). */
  userAgent?: string;
  /** The fetch to call GitHub with (default: Node's). */
  fetch?: typeof fetch;
}

export interface PullRequestRequest {
  owner: string;
  repo: string;
  /** The branch with the change, in `owner/repo` itself. */
  head: string;
  /** The branch the change is to be merged into. */
  base: string;
  title: string;
  body: string;
  /** Open it as a draft (only when it is created: a reused pull request stays as it is). */
  draft?: boolean;
}

export interface PullRequestResult {
  /** The pull request's page (`html_url`). */
  url: string;
  number: number;
  title: string;
  /** Its body, as GitHub has it. */
  description: string;
  /** It was already open (opened by an earlier attempt, or by someone else, for this branch). */
  reused: boolean;
}

/** GitHub's current REST API version, sent with every request. */
const API_VERSION = '2022-11-28';
/** GitHub's page size limit; the list is filtered by branch, so one page nearly always holds it. */
const PAGE_SIZE = 100;
/** GitHub asks to wait at least a minute after a secondary rate limit that names no time. */
const SECONDARY_LIMIT_WAIT_MS = 60_000;

const Options = z.object({
  token: z.string().min(1, 'is empty: the worker has no GitHub token').regex(/^\S+$/, 'must not contain whitespace'),
  apiUrl: z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' }).optional(),
  userAgent: z.string().min(1).optional(),
  fetch: z.custom<typeof fetch>((value) => typeof value === 'function', 'expected a fetch function').optional(),
});

const Request = z.object({
  owner: z.string(),
  repo: z.string(),
  head: BranchName,
  base: BranchName,
  title: z.string().trim().min(1, 'is empty').max(256, 'is longer than GitHub allows (256 characters)'),
  body: z.string().max(65_536, 'is longer than GitHub allows (65536 characters)'),
  draft: z.boolean().optional(),
});

/** The few fields of a pull request that andon reads (GitHub sends many more). */
const PullRequestShape = z.looseObject({
  number: z.number(),
  html_url: z.string(),
  title: z.string(),
  body: z.string().nullish(),
  state: z.string().optional(),
  head: z.looseObject({ ref: z.string(), label: z.string().optional() }),
  base: z.looseObject({ ref: z.string() }),
});
type PullRequestShape = z.infer<typeof PullRequestShape>;

export class GitHubPullRequests {
  private readonly token: string;
  private readonly apiUrl: string;
  private readonly userAgent: string;
  private readonly fetch: typeof fetch | undefined;

  constructor(options: GitHubPullRequestsOptions) {
    const parsed = Options.safeParse(options);
    if (!parsed.success) {
      const issue = firstIssue(parsed.error);
      // Never echo the value: for `token` it is the secret.
      throw new PullRequestError(`GitHub pull requests: ${issue.path.join('.') || 'options'} ${issue.message}`, {
        code: 'Invalid',
        retryable: false,
      });
    }
    this.token = parsed.data.token;
    this.apiUrl = (parsed.data.apiUrl ?? 'https://api.github.com').replace(/\/+$/, '');
    this.userAgent = parsed.data.userAgent ?? 'andon';
    this.fetch = parsed.data.fetch;
  }

  /**
   * The open pull request of `head` into `base` (searched on every page of the repository's open
   * pull requests from `owner:head`), else a new one; a creation that loses a race to another
   * ("a pull request already exists") looks again and reuses it.
   */
  async ensure(request: PullRequestRequest, o?: { signal?: AbortSignal }): Promise<PullRequestResult> {
    const wanted = checkRequest(request);
    const signal = o?.signal;
    signal?.throwIfAborted();
    const octokit = this.client(signal);
    const where = `${wanted.owner}/${wanted.repo}`;
    const listing = `list the open pull requests of ${where}`;
    const call = async <T>(run: () => Promise<T>): Promise<T> => {
      try {
        return await run();
      } catch (error) {
        if (signal?.aborted) throw signal.reason ?? error;
        throw this.toError(error, where, listing);
      }
    };

    const open = await call(() => this.findOpen(octokit, wanted));
    if (open) return result(open, true);

    try {
      const created = await octokit.rest.pulls.create({
        owner: wanted.owner,
        repo: wanted.repo,
        head: wanted.head,
        base: wanted.base,
        title: wanted.title,
        body: wanted.body,
        ...(wanted.draft !== undefined ? { draft: wanted.draft } : {}),
      });
      return result(parsePullRequest(created.data, where), false);
    } catch (error) {
      if (signal?.aborted) throw signal.reason ?? error;
      if (!alreadyExists(error)) throw this.toError(error, where, `open a pull request in ${where}`);
    }
    // Lost a race: another attempt (a retry whose first answer was lost, another worker) opened it.
    const winner = await call(() => this.findOpen(octokit, wanted));
    if (winner) return result(winner, true);
    throw new PullRequestError(
      `GitHub says a pull request from ${wanted.owner}:${wanted.head} into ${wanted.base} already exists in ${where}, but lists none open yet`,
      { code: 'Unavailable', retryable: true, status: 422 },
    );
  }

  /** The open pull request from `owner:head` into `base`, reading page after page until it is found. */
  private async findOpen(octokit: Octokit, wanted: z.output<typeof Request>): Promise<PullRequestShape | undefined> {
    const where = `${wanted.owner}/${wanted.repo}`;
    const label = `${wanted.owner}:${wanted.head}`;
    const pages = octokit.paginate.iterator(octokit.rest.pulls.list, {
      owner: wanted.owner,
      repo: wanted.repo,
      head: label,
      state: 'open',
      per_page: PAGE_SIZE,
    });
    for await (const page of pages) {
      for (const item of page.data as unknown[]) {
        const pull = parsePullRequest(item, where);
        // GitHub filters by head already; checking again keeps a fork's branch of the same name out.
        const sameHead = pull.head.ref === wanted.head && (pull.head.label === undefined || pull.head.label === label);
        if (sameHead && pull.base.ref === wanted.base && (pull.state ?? 'open') === 'open') return pull;
      }
    }
    return undefined;
  }

  /** An Octokit for one `ensure`: the signal must reach every request, later pages included. */
  private client(signal: AbortSignal | undefined): Octokit {
    const { Octokit } = loadOctokit();
    const octokit = new Octokit({
      auth: this.token,
      baseUrl: this.apiUrl,
      userAgent: this.userAgent,
      // Octokit logs deprecations and warnings to the console: andon's workers log through Temporal.
      log: { debug: noop, info: noop, warn: noop, error: noop },
      request: { ...(this.fetch ? { fetch: this.fetch } : {}), ...(signal ? { signal } : {}) },
    });
    octokit.hook.before('request', (options) => {
      options.headers['x-github-api-version'] = API_VERSION;
    });
    return octokit;
  }

  /** Octokit's failure (a `RequestError`: an HTTP status, or 500 for no answer) as a `PullRequestError`. */
  private toError(error: unknown, where: string, what: string): Error {
    if (PullRequestError.isInstance(error)) return error;
    const status = (error as { status?: unknown } | null)?.status;
    if (typeof status !== 'number' || !(error instanceof Error)) return error instanceof Error ? error : new Error(String(error));
    const response = (error as { response?: { headers?: Record<string, string | undefined>; data?: unknown } }).response;
    const headers = response?.headers ?? {};
    const said = this.scrub(gitHubMessage(response?.data) ?? error.message);
    const make = (code: PullRequestErrorCode, retryable: boolean, message: string, retryAfterMs?: number) =>
      new PullRequestError(this.scrub(message), { code, retryable, status, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) });

    if (!response) {
      // No answer at all (refused connection, DNS, reset): Octokit reports it as a 500.
      return make('Unavailable', true, `GitHub API at ${redactUrl(this.apiUrl)} did not answer, trying to ${what}: ${said}`);
    }
    if (status === 401) {
      return make('Unauthorized', false, `GitHub refused the worker's token (401 ${said}), trying to ${what}: check the token`);
    }
    const rateLimit = rateLimited(status, headers, said);
    if (rateLimit) {
      return make(
        'RateLimited',
        true,
        `GitHub rate limit (${status} ${said}), trying to ${what}` +
          (rateLimit.retryAfterMs !== undefined ? `; try again in ${Math.ceil(rateLimit.retryAfterMs / 1000)}s` : ''),
        rateLimit.retryAfterMs,
      );
    }
    if (status === 403) {
      return make(
        'Forbidden',
        false,
        `GitHub refused to ${what} (403 ${said}): the token may lack permission (pull requests: write) on ${where}`,
      );
    }
    if (status === 404) {
      return make(
        'NotFound',
        false,
        `GitHub repository ${where} not found (404 ${said}): it does not exist, or the token may lack access to it`,
      );
    }
    if (status === 408 || status >= 500) {
      return make('Unavailable', true, `GitHub unavailable (${status} ${said}), trying to ${what}`, retryAfter(headers));
    }
    return make('Invalid', false, `GitHub refused to ${what} (${status} ${said})`);
  }

  /** Belt and braces: whatever GitHub or the network said, the token is not repeated. */
  private scrub(text: string): string {
    return text.split(this.token).join('[REDACTED]');
  }
}

// ---------------------------------------------------------------------------------------------

function checkRequest(request: PullRequestRequest): z.output<typeof Request> {
  const parsed = Request.safeParse(request);
  if (!parsed.success) {
    const issue = firstIssue(parsed.error);
    throw new PullRequestError(`pull request: ${issue.path.join('.') || 'request'} ${issue.message}`, {
      code: 'Invalid',
      retryable: false,
    });
  }
  const repo = GitHubRepoName.safeParse(`${parsed.data.owner}/${parsed.data.repo}`);
  if (!repo.success) {
    throw new PullRequestError(`pull request: owner/repo ${firstIssue(repo.error).message}`, { code: 'Invalid', retryable: false });
  }
  return parsed.data;
}

function parsePullRequest(data: unknown, where: string): PullRequestShape {
  const parsed = PullRequestShape.safeParse(data);
  if (!parsed.success) {
    const issue = firstIssue(parsed.error);
    throw new PullRequestError(
      `GitHub answered with a pull request of ${where} andon cannot read: ${issue.path.join('.')} ${issue.message}`,
      {
        code: 'Unavailable',
        retryable: true,
      },
    );
  }
  return parsed.data;
}

function result(pull: PullRequestShape, reused: boolean): PullRequestResult {
  return { url: pull.html_url, number: pull.number, title: pull.title, description: pull.body ?? '', reused };
}

/** GitHub's 422 for a second pull request of the same head and base. */
function alreadyExists(error: unknown): boolean {
  const { status, response } = (error ?? {}) as { status?: unknown; response?: { data?: unknown } };
  return status === 422 && /pull request already exists/i.test(gitHubMessage(response?.data) ?? '');
}

/**
 * GitHub's error body as one line: `message`, then each of `errors` (its own `message`, or
 * `resource.field code`): `Validation Failed: A pull request already exists for o:b.`
 */
function gitHubMessage(data: unknown): string | undefined {
  if (typeof data === 'string') return data.trim() ? data.trim().slice(0, 500) : undefined;
  if (typeof data !== 'object' || data === null) return undefined;
  const { message, errors } = data as { message?: unknown; errors?: unknown };
  const details = Array.isArray(errors)
    ? errors.map((item: unknown) => {
        if (typeof item === 'string') return item;
        const { message: text, resource, field, code } = (item ?? {}) as Record<string, unknown>;
        if (typeof text === 'string') return text;
        return [[resource, field].filter((part) => typeof part === 'string').join('.'), code].filter((part) => part).join(' ');
      })
    : [];
  const head = typeof message === 'string' ? message : undefined;
  const tail = details.filter((detail) => detail).join('; ');
  if (head && tail) return `${head}: ${tail}`;
  return head ?? (tail || undefined);
}

/**
 * A rate limit, and when to come back: 429; 403 with the primary limit spent
 * (`x-ratelimit-remaining: 0`, back at `x-ratelimit-reset`); 403 with `retry-after` or GitHub's
 * "secondary rate limit" message (back after `retry-after`, else in a minute as GitHub asks).
 */
function rateLimited(status: number, headers: Record<string, string | undefined>, message: string): { retryAfterMs?: number } | undefined {
  if (status !== 403 && status !== 429) return undefined;
  const after = retryAfter(headers);
  if (after !== undefined) return { retryAfterMs: after };
  const reset = Number(headers['x-ratelimit-reset']);
  if (headers['x-ratelimit-remaining'] === '0' && Number.isFinite(reset) && reset > 0) {
    return { retryAfterMs: Math.max(0, reset * 1000 - Date.now()) };
  }
  if (status === 429 || /secondary rate limit|abuse detection/i.test(message)) return { retryAfterMs: SECONDARY_LIMIT_WAIT_MS };
  return undefined;
}

/** `retry-after` in milliseconds (seconds, or an HTTP date). */
function retryAfter(headers: Record<string, string | undefined>): number | undefined {
  const value = headers['retry-after']?.trim();
  if (!value) return undefined;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

function noop(): void {}

let octokitModule: typeof import('@octokit/rest') | undefined;

/** `@octokit/rest`, loaded on first use (an optional peer dependency). */
function loadOctokit(): typeof import('@octokit/rest') {
  if (octokitModule) return octokitModule;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    octokitModule = require('@octokit/rest') as typeof import('@octokit/rest');
    return octokitModule;
  } catch (error) {
    if ((error as { code?: string }).code !== 'MODULE_NOT_FOUND' || !/'@octokit\/rest'/.test((error as Error).message)) throw error;
    throw new PullRequestError('opening pull requests needs Octokit, which is not installed: npm install @octokit/rest', {
      code: 'Invalid',
      retryable: false,
    });
  }
}
