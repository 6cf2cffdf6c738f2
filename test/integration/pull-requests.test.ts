/**
 * GitHubPullRequests drives the real Octokit client (`@octokit/rest`) against a loopback GitHub
 * REST server (test/support/github-server.ts): it opens a pull request once, reuses the open one
 * of the branch wherever it is in the paginated list, survives the "already exists" race, and
 * turns GitHub's failures (401, 403 rate limits, 404, 422, 5xx, no answer) into typed errors that
 * say whether to retry and when, never with the token in them.
 */
import { GitHubPullRequests, PullRequestError } from '../../src/workspace/pull-requests';
import { GitHubServer } from '../support/github-server';
import { at } from '../support/at';

const TOKEN = 'ghp_loopbackSecretToken0123456789abcdef';
const OWNER = 'acme';
const REPO = 'shop';

let github: GitHubServer;

beforeEach(async () => {
  github = await GitHubServer.start({ token: TOKEN, repos: [`${OWNER}/${REPO}`, 'acme/private'], maxPerPage: 2 });
  github.addRepo('acme/hidden', { visible: false });
});

afterEach(async () => {
  await github.close();
});

const client = (token = TOKEN) => new GitHubPullRequests({ token, apiUrl: github.apiUrl });
const request = (over: Partial<Parameters<GitHubPullRequests['ensure']>[0]> = {}) => ({
  owner: OWNER,
  repo: REPO,
  head: 'andon/s-123',
  base: 'main',
  title: 'Fix the checkout total',
  body: 'The total ignored the discount.\n\nSession s-123.',
  ...over,
});

/** The rejection of `promise`, which must be a PullRequestError. */
async function failure(promise: Promise<unknown>): Promise<PullRequestError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!PullRequestError.isInstance(error)) throw new Error(`expected a PullRequestError, got ${String(error)}`);
  return error;
}

/** The token appears nowhere in what an error carries: message, stack, fields, cause. */
function expectNoToken(error: unknown): void {
  const seen = new Set<unknown>();
  const dump = (value: unknown): string => {
    if (typeof value !== 'object' || value === null) return String(value);
    if (seen.has(value)) return '';
    seen.add(value);
    const own = Object.getOwnPropertyNames(value).map((name) => `${name}=${dump((value as Record<string, unknown>)[name])}`);
    return own.join(' ');
  };
  expect(dump(error)).not.toContain(TOKEN);
  expect(String(error)).not.toContain(TOKEN);
}

describe('GitHubPullRequests.ensure', () => {
  it('opens a pull request with GitHub’s headers and answers with its url, number, title and body', async () => {
    const pull = await client().ensure(request({ draft: true }));

    expect(pull).toEqual({
      url: `${github.url}/${OWNER}/${REPO}/pull/1`,
      number: 1,
      title: 'Fix the checkout total',
      description: 'The total ignored the discount.\n\nSession s-123.',
      reused: false,
    });
    const [made] = github.pulls(OWNER, REPO);
    expect(github.pulls(OWNER, REPO)).toHaveLength(1);
    expect(made).toMatchObject({ head: `${OWNER}:andon/s-123`, base: 'main', state: 'open', draft: true });

    // It looked for an open one first (by owner:branch), then created it, as the token's user.
    expect(github.requests.map((r) => r.route)).toEqual(['listPulls', 'createPull']);
    const list = new URL(at(github.requests, 0).url, github.url);
    expect(list.pathname).toBe(`/repos/${OWNER}/${REPO}/pulls`);
    expect(Object.fromEntries(list.searchParams)).toMatchObject({ head: `${OWNER}:andon/s-123`, state: 'open' });
    for (const r of github.requests) {
      expect(r.authorized).toBe(true);
      expect(r.apiVersion).toBe('2022-11-28');
      expect(r.userAgent).toMatch(/^andon octokit-rest\.js\//);
    }
  });

  it('reuses the open pull request of the branch on a second call: still exactly one', async () => {
    const first = await client().ensure(request());
    const second = await client().ensure(request({ title: 'Another title', body: 'another body' }));

    expect(second).toEqual({ ...first, reused: true });
    expect(github.pulls(OWNER, REPO)).toHaveLength(1);
    expect(github.requestsTo('createPull')).toHaveLength(1);
  });

  it('finds the open pull request on a later page of the list (Link header pagination)', async () => {
    // Oldest first: the one andon wants, then newer ones from the same branch into other bases,
    // so the newest-first list (2 a page) has it on page 2.
    const wanted = github.addPull(OWNER, REPO, { head: 'andon/s-123', base: 'main', title: 'Earlier attempt', body: 'from before' });
    github.addPull(OWNER, REPO, { head: 'andon/s-123', base: 'release-1' });
    github.addPull(OWNER, REPO, { head: 'andon/s-123', base: 'release-2' });
    github.addPull(OWNER, REPO, { head: 'andon/s-999', base: 'main' });

    const pull = await client().ensure(request());

    expect(pull).toEqual({
      url: `${github.url}/${OWNER}/${REPO}/pull/${wanted.number}`,
      number: wanted.number,
      title: 'Earlier attempt',
      description: 'from before',
      reused: true,
    });
    const lists = github.requestsTo('listPulls');
    expect(lists.map((r) => new URL(r.url, github.url).searchParams.get('page') ?? '1')).toEqual(['1', '2']);
    expect(github.requestsTo('createPull')).toHaveLength(0);
    expect(github.pulls(OWNER, REPO).filter((p) => p.head === `${OWNER}:andon/s-123` && p.base === 'main')).toHaveLength(1);
  });

  it('does not reuse a closed pull request, nor one from a fork’s branch of the same name', async () => {
    github.addPull(OWNER, REPO, { head: 'andon/s-123', base: 'main', state: 'closed' });
    github.addPull(OWNER, REPO, { head: 'someone:andon/s-123', base: 'main' });

    const pull = await client().ensure(request());

    expect(pull.reused).toBe(false);
    expect(github.pulls(OWNER, REPO).filter((p) => p.state === 'open' && p.head === `${OWNER}:andon/s-123`)).toHaveLength(1);
  });

  it('a creation that loses the race (422 "A pull request already exists") finds the winner and reuses it', async () => {
    // Another attempt opens it between our list and our create.
    let winner: number | undefined;
    github.fail({
      route: 'createPull',
      when: () => {
        winner = github.addPull(OWNER, REPO, { head: 'andon/s-123', base: 'main', title: 'The winner' }).number;
        return false;
      },
    });

    const pull = await client().ensure(request());

    expect(winner).toBeDefined();
    expect(pull).toMatchObject({ number: winner, title: 'The winner', reused: true });
    expect(github.requestsTo('createPull').map((r) => r.status)).toEqual([422]);
    expect(github.requests.map((r) => r.route)).toEqual(['listPulls', 'createPull', 'listPulls']);
    expect(github.pulls(OWNER, REPO)).toHaveLength(1);
  });

  it('a created pull request whose answer was lost is reused by the retry: exactly one', async () => {
    github.fail({ route: 'createPull', times: 1, status: 502, afterApply: true });
    const prs = client();

    const error = await failure(prs.ensure(request()));
    expect(error).toMatchObject({ code: 'Unavailable', retryable: true, status: 502 });

    const pull = await prs.ensure(request());
    expect(pull).toMatchObject({ number: 1, reused: true });
    expect(github.pulls(OWNER, REPO)).toHaveLength(1);
  });

  it('401 Bad credentials: Unauthorized, not retryable, without the token', async () => {
    const wrong = 'ghp_wrongToken9876543210';
    const error = await failure(client(wrong).ensure(request()));

    expect(error).toMatchObject({ code: 'Unauthorized', retryable: false, status: 401 });
    expect(error.message).toMatch(/Bad credentials/);
    expect(error.message).not.toContain(wrong);
    expect(github.pulls(OWNER, REPO)).toHaveLength(0);
  });

  it('403 without a rate limit (the token may not write pull requests): Forbidden, not retryable', async () => {
    github.fail({ route: 'createPull', status: 403, message: 'Resource not accessible by personal access token' });

    const error = await failure(client().ensure(request()));

    expect(error).toMatchObject({ code: 'Forbidden', retryable: false, status: 403 });
    expect(error.message).toMatch(/open a pull request in acme\/shop \(403 Resource not accessible by personal access token\)/);
    expect(error.message).toMatch(/pull requests: write/);
    expect(error.retryAfterMs).toBeUndefined();
  });

  it('404 for an unknown repository or one the token may not see: NotFound naming it', async () => {
    for (const repo of ['missing', 'hidden']) {
      const error = await failure(client().ensure(request({ repo })));
      expect(error).toMatchObject({ code: 'NotFound', retryable: false, status: 404 });
      expect(error.message).toContain(`${OWNER}/${repo}`);
      expect(error.message).toMatch(/token may lack access/);
      expectNoToken(error);
    }
  });

  it('secondary rate limit (403 with retry-after): RateLimited, retryable, after retry-after', async () => {
    github.fail({ route: 'createPull', times: 1, secondaryRateLimit: { retryAfter: 42 } });

    const error = await failure(client().ensure(request()));

    expect(error).toMatchObject({ code: 'RateLimited', retryable: true, status: 403, retryAfterMs: 42_000 });
    expect(error.message).toMatch(/secondary rate limit/);
    expectNoToken(error);
    // Octokit did not retry on its own: one create, and nothing made.
    expect(github.requestsTo('createPull')).toHaveLength(1);
    expect(github.pulls(OWNER, REPO)).toHaveLength(0);
    // Temporal's retry, later, succeeds.
    await expect(client().ensure(request())).resolves.toMatchObject({ reused: false, number: 1 });
  });

  it('secondary rate limit without retry-after waits a minute, as GitHub asks', async () => {
    github.fail({ route: 'listPulls', times: 1, secondaryRateLimit: {} });
    const error = await failure(client().ensure(request()));
    expect(error).toMatchObject({ code: 'RateLimited', retryable: true, retryAfterMs: 60_000 });
  });

  it('primary rate limit (403, x-ratelimit-remaining 0): RateLimited until x-ratelimit-reset', async () => {
    github.fail({ route: 'listPulls', times: 1, rateLimit: { resetInSeconds: 120 } });

    const error = await failure(client().ensure(request()));

    expect(error).toMatchObject({ code: 'RateLimited', retryable: true, status: 403 });
    expect(error.retryAfterMs).toBeGreaterThan(100_000);
    expect(error.retryAfterMs).toBeLessThanOrEqual(121_000);
  });

  it('5xx: Unavailable, retryable, no pull request; no answer at all: Unavailable too', async () => {
    github.fail({ route: 'listPulls', times: 1, status: 503 });
    const unavailable = await failure(client().ensure(request()));
    expect(unavailable).toMatchObject({ code: 'Unavailable', retryable: true, status: 503 });
    expectNoToken(unavailable);

    github.fail({ route: 'listPulls', times: 1, drop: true });
    const dropped = await failure(client().ensure(request()));
    expect(dropped).toMatchObject({ code: 'Unavailable', retryable: true });
    expectNoToken(dropped);

    const closed = await GitHubServer.start({ token: TOKEN });
    const url = closed.apiUrl;
    await closed.close();
    const refused = await failure(new GitHubPullRequests({ token: TOKEN, apiUrl: url }).ensure(request()));
    expect(refused).toMatchObject({ code: 'Unavailable', retryable: true });
    expect(refused.message).toContain(url);
    expectNoToken(refused);
    expect(github.pulls(OWNER, REPO)).toHaveLength(0);
  });

  it('422 other than "already exists": Invalid with GitHub’s message, not retryable', async () => {
    const error = await failure(client().ensure(request({ head: 'main' })));
    expect(error).toMatchObject({ code: 'Invalid', retryable: false, status: 422 });
    expect(error.message).toMatch(/Validation Failed: No commits between main and main/);
    expect(github.requestsTo('listPulls')).toHaveLength(1); // no second look: it was no race
  });

  it('the abort signal reaches GitHub calls: a slow answer is given up on', async () => {
    github.fail({ route: 'listPulls', delayMs: 5_000 });
    const started = Date.now();
    const error = await client()
      .ensure(request(), { signal: AbortSignal.timeout(200) })
      .then(
        () => undefined,
        (e: unknown) => e as Error,
      );
    expect(error?.name).toMatch(/TimeoutError|AbortError/);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(github.pulls(OWNER, REPO)).toHaveLength(0);
  });

  it('refuses bad input with the field named, before calling GitHub; never echoes the token', async () => {
    const badBranch = await failure(client().ensure(request({ head: '-rf' })));
    expect(badBranch).toMatchObject({ code: 'Invalid', retryable: false });
    expect(badBranch.message).toMatch(/^pull request: head /);

    const badTitle = await failure(client().ensure(request({ title: '  ' })));
    expect(badTitle.message).toMatch(/^pull request: title is empty/);

    const badRepo = await failure(client().ensure(request({ repo: 'a/b' })));
    expect(badRepo.message).toMatch(/^pull request: owner\/repo /);
    expect(github.requests).toHaveLength(0);

    expect(() => new GitHubPullRequests({ token: '' })).toThrow(/token is empty/);
    let spaced: unknown;
    try {
      new GitHubPullRequests({ token: `${TOKEN} x` });
    } catch (error) {
      spaced = error;
    }
    expect(PullRequestError.isInstance(spaced)).toBe(true);
    expectNoToken(spaced);
  });
});
