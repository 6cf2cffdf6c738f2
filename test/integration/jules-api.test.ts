/**
 * The Jules REST front door (/v1alpha) driven by the unmodified official SDK, @google/jules-sdk,
 * through the seed's whole interactive flow, against a real worker, real git and the loopback
 * GitHub: create (repoless and with a source), wait for plan approval, read the plan from the
 * stream, approve, send, ask, stream live, result with outputs, attach by id from a fresh client,
 * list with paging, 404 for an unknown session, sources. Then the two doors on one session: a
 * session created through Jules is driven by andon's SDK, and the other way round.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  connect,
  JulesApiError,
  JulesAuthenticationError,
  MemorySessionStorage,
  MemoryStorage,
  SourceNotFoundError,
  type Activity,
  type JulesClient,
} from '@google/jules-sdk';
import type { Agent, PlanRequest, ReplyRequest, StepRequest, SummarizeRequest } from '../../src/agents/agent';
import { GitHubServer } from '../support/github-server';
import { startHarness, type Harness } from '../support/harness';
import { startService, TOKENS, type TestService } from '../support/service-harness';

const T = { timeoutMs: 60_000 };
const GITHUB_TOKEN = 'ghp_test_token_for_the_jules_door';
const HELLO_PATCH = ['--- /dev/null', '+++ b/hello.txt', '@@ -0,0 +1 @@', '+hello', ''].join('\n');

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' },
  }).trim();
}

/**
 * Two steps. With a repository it fixes app.js; without one, its outcome is a change set that
 * creates hello.txt (what a repoless Jules session gives). Replies echo; a step is slow enough
 * that a message sent while it runs is answered while it runs.
 */
const agent: Agent = {
  name: 'jules-door',
  async plan(_request: PlanRequest) {
    return {
      kind: 'plan' as const,
      title: 'Do it',
      steps: [
        { title: 'Look', description: 'look around' },
        { title: 'Fix', description: 'fix it' },
      ],
    };
  },
  async executeStep(request: StepRequest) {
    await sleep(400);
    if (request.workspace && request.step.title === 'Fix') {
      const file = path.join(request.workspace.path, 'app.js');
      writeFileSync(file, readFileSync(file, 'utf8').replace('bug', 'fix'));
    }
    return { description: `${request.step.title.toLowerCase()} done` };
  },
  async reply(request: ReplyRequest) {
    return { message: `ok: ${request.message}` };
  },
  async summarize(request: SummarizeRequest) {
    return {
      summary: `done: ${request.prompt}`,
      outputs: request.workspace ? [] : [{ type: 'changeSet' as const, gitPatch: { unidiffPatch: HELLO_PATCH } }],
    };
  },
};

let root: string;
let github: GitHubServer;
let h: Harness;
let api: TestService;

/** A Jules client for the door, as a Jules user makes one: only `baseUrl` (and the key) changed. No disk cache. */
function jules(apiKey: string = TOKENS.alice): JulesClient {
  return connect({
    baseUrl: `${api.url}/v1alpha`,
    apiKey,
    storageFactory: { activity: () => new MemoryStorage(), session: () => new MemorySessionStorage() },
    config: { pollingIntervalMs: 150, requestTimeoutMs: 30_000 },
  });
}

beforeAll(async () => {
  root = mkdtempSync(path.join(tmpdir(), 'andon-jules-'));
  const work = path.join(root, 'work');
  execFileSync('git', ['init', '-q', '-b', 'main', work]);
  writeFileSync(path.join(work, 'app.js'), 'console.log("bug");\n');
  git(work, 'add', '-A');
  git(work, 'commit', '-q', '-m', 'initial');
  // "GitHub": acme/app cloned through the worker's cloneUrl template, pull requests to the loopback API.
  execFileSync('git', ['clone', '-q', '--bare', work, path.join(root, 'github', 'acme', 'app.git')]);
  github = await GitHubServer.start({ token: GITHUB_TOKEN, repos: ['acme/app'] });
  h = await startHarness({
    agent,
    followUpWindowMs: 60_000,
    dataDir: path.join(root, 'worker'),
    workspace: { github: { cloneUrl: path.join(root, 'github', '{owner}', '{repo}.git'), apiUrl: github.apiUrl } },
    env: { ...process.env, GITHUB_TOKEN },
  });
  api = await startService(h.andon, {
    jules: {
      sources: ['acme/app', { github: 'acme/docs', defaultBranch: 'main', branches: ['main', 'next'], private: true }, 'acme/three'],
    },
  });
});

afterAll(async () => {
  await api?.close();
  await h?.close();
  await github?.close();
  if (root) rmSync(root, { recursive: true, force: true });
});

/** Activities of a stream until `until` matches one (the stream itself never ends). */
async function collect(stream: AsyncIterable<Activity>, until: (a: Activity) => boolean): Promise<Activity[]> {
  const seen: Activity[] = [];
  for await (const activity of stream) {
    seen.push(activity);
    if (until(activity)) break;
  }
  return seen;
}

describe('the seed flow through the official Jules SDK', () => {
  it('creates a repoless session, shows its plan, is approved, answers, streams live and gives its change set', async () => {
    const client = jules();
    const session = await client.session({ prompt: 'Write hello.txt', title: 'Hello' });
    expect(session.id).toMatch(/^session-/);

    await session.waitFor('awaitingPlanApproval');
    const info = await session.info();
    expect(info).toMatchObject({ state: 'awaitingPlanApproval', title: 'Hello', prompt: 'Write hello.txt', id: session.id });

    // The plan, read from the stream as Jules users do.
    const [planned] = (await collect(session.stream(), (a) => a.type === 'planGenerated')).filter((a) => a.type === 'planGenerated');
    expect(planned?.type === 'planGenerated' && planned.plan.steps.map((s) => s.title)).toEqual(['Look', 'Fix']);

    await session.approve();
    // ask() while the steps run: the agent's reply, not the user's own message.
    const reply = await session.ask('status?');
    expect(reply.message).toBe('ok: status?');

    // Live: everything up to the end, each kind one the SDK knows, times strictly increasing.
    const live = await collect(session.stream(), (a) => a.type === 'sessionCompleted');
    const types = live.map((a) => a.type);
    expect(types).toEqual(expect.arrayContaining(['planGenerated', 'planApproved', 'userMessaged', 'agentMessaged', 'progressUpdated']));
    expect(types.at(-1)).toBe('sessionCompleted');
    const times = live.map((a) => Date.parse(a.createTime));
    times.slice(1).forEach((t, i) => expect(t).toBeGreaterThan(times[i]!));
    expect(live.find((a) => a.type === 'userMessaged')?.originator).toBe('user');

    const outcome = await session.result();
    expect(outcome).toMatchObject({ sessionId: session.id, state: 'completed', title: 'Hello' });
    expect(outcome.outputs.map((o) => o.type)).toEqual(['changeSet']);
    expect(outcome.generatedFiles().get('hello.txt')?.content).toBe('hello');

    // Completed, and still answering during the follow-up window.
    const after = await session.ask('anything else?');
    expect(after.message).toBe('ok: anything else?');
  });

  it('works on a GitHub source and opens the pull request (AUTO_CREATE_PR)', async () => {
    const client = jules();
    const session = await client.session({
      prompt: 'fix the bug',
      title: 'Fix app.js',
      source: { github: 'acme/app', baseBranch: 'main' },
    });
    await session.waitFor('awaitingPlanApproval');
    await session.approve();
    const outcome = await session.result();
    expect(outcome.pullRequest).toMatchObject({ url: expect.stringContaining('/acme/app/pull/'), title: 'Fix app.js' });
    expect(outcome.outputs.map((o) => o.type)).toEqual(['changeSet', 'pullRequest']);
    expect(outcome.changeSet()?.gitPatch.unidiffPatch).toContain('+console.log("fix");');
    expect(github.pulls('acme', 'app').filter((p) => p.head === `acme:andon/${session.id}`)).toHaveLength(1);
    const info = await session.info();
    expect(info).toMatchObject({
      automationMode: 'AUTO_CREATE_PR',
      sourceContext: { source: 'sources/github/acme/app', githubRepoContext: { startingBranch: 'main' } },
    });
    // The change set the step made, as a changeSet artifact on a progress activity.
    const history = await collect(session.history(), () => false);
    const artifacts = history.flatMap((a) => a.artifacts ?? []);
    expect(artifacts.some((a) => a.type === 'changeSet')).toBe(true);
  });

  it('publishes no pull request when the automation mode is unspecified', async () => {
    const client = jules();
    const session = await client.session({ prompt: 'fix quietly', source: { github: 'acme/app', baseBranch: 'main' }, autoPr: false });
    await session.waitFor('awaitingPlanApproval');
    await session.approve();
    const outcome = await session.result();
    expect(outcome.outputs.map((o) => o.type)).toEqual(['changeSet']);
    expect(github.pulls('acme', 'app').filter((p) => p.head === `acme:andon/${session.id}`)).toHaveLength(0);
  });

  it('attaches by id from a fresh client, pages activities, lists sessions newest first with paging, and 404s an unknown one', async () => {
    const first = await jules().session({ prompt: 'one', title: 'one' });
    const second = await jules().session({ prompt: 'two', title: 'two' });
    await jules().session(second.id).waitFor('awaitingPlanApproval');

    const fresh = jules();
    const attached = fresh.session(second.id);
    expect((await attached.info()).title).toBe('two');
    await attached.approve();
    await attached.result();
    const page1 = await attached.activities.list({ pageSize: 1 });
    expect(page1.activities).toHaveLength(1);
    expect(page1.nextPageToken).toEqual(expect.any(String));
    const page2 = await attached.activities.list({ pageSize: 1, pageToken: page1.nextPageToken });
    expect(page2.activities[0]?.id).not.toBe(page1.activities[0]?.id);
    expect(await attached.activities.get(page1.activities[0]!.id)).toMatchObject({ id: page1.activities[0]!.id });

    const firstPage = await fresh.sessions({ pageSize: 1 });
    expect(firstPage.sessions.map((s) => s.id)).toEqual([second.id]);
    expect(firstPage.nextPageToken).toEqual(expect.any(String));
    const listed: string[] = [];
    for await (const s of fresh.sessions({ pageSize: 1, limit: 2 })) listed.push(s.id);
    expect(listed).toEqual([second.id, first.id]);

    await expect(fresh.session('no-such-session').info()).rejects.toMatchObject({ status: 404 });
  });

  it('lists and finds sources, and refuses a session on a source it does not offer', async () => {
    const client = jules();
    const names: string[] = [];
    for await (const source of client.sources()) names.push(source.name);
    expect(names).toEqual(['sources/github/acme/app', 'sources/github/acme/docs', 'sources/github/acme/three']);
    expect(await client.sources.get({ github: 'acme/docs' })).toMatchObject({
      githubRepo: { owner: 'acme', repo: 'docs', isPrivate: true, defaultBranch: 'main', branches: ['main', 'next'] },
    });
    expect(await client.sources.get({ github: 'acme/nope' })).toBeUndefined();
    await expect(client.session({ prompt: 'x', source: { github: 'acme/nope', baseBranch: 'main' } })).rejects.toBeInstanceOf(
      SourceNotFoundError,
    );
  });
});

describe('automated sessions', () => {
  it('runs a session without plan approval (run(), which needs the approve scope) and streams it to the end', async () => {
    const run = await jules().run({ prompt: 'just do it', title: 'automated' });
    const seen: Activity[] = [];
    for await (const activity of run.stream()) {
      seen.push(activity);
      if (activity.type === 'sessionCompleted') break;
    }
    const types = seen.map((a) => a.type);
    expect(types).toEqual(expect.arrayContaining(['planGenerated', 'progressUpdated', 'sessionCompleted']));
    // Nobody approved: andon records the plan as approved by its policy, a system activity.
    expect(seen.find((a) => a.type === 'planApproved')?.originator).toBe('system');
    const outcome = await run.result();
    expect(outcome).toMatchObject({ sessionId: run.id, state: 'completed' });
    expect((await h.andon.session(run.id).info()).requirePlanApproval).toBe(false);
  });
});

describe('one session, two doors', () => {
  it("drives a session created through Jules with andon's SDK, and the other way round", async () => {
    const viaJules = await jules().session({ prompt: 'jules made me', title: 'from jules' });
    const handle = h.andon.session(viaJules.id);
    const waiting = await handle.waitFor('awaitingPlanApproval', T);
    expect(waiting.requestedBy).toBe('api:alice');
    await handle.approve({ by: 'test:andon' });
    expect((await handle.result(T)).state).toBe('completed');
    expect((await viaJules.info()).state).toBe('completed');

    const viaAndon = await h.andon.session({ prompt: 'andon made me', title: 'from andon' });
    const seen = jules().session(viaAndon.id);
    await seen.waitFor('awaitingPlanApproval');
    await seen.approve();
    const outcome = await seen.result();
    expect(outcome.title).toBe('from andon');
    const view = await viaAndon.info();
    expect(view.state).toBe('completed');
    const { events } = await viaAndon.timeline();
    expect(events.find((e) => e.type === 'planApproved')).toMatchObject({ by: 'api:alice' });
  });
});

describe('scopes and errors as Jules answers them', () => {
  it('refuses a message after the follow-up window with 409 FAILED_PRECONDITION', async () => {
    const closed = await h.andon.session({ prompt: 'no follow-ups', requirePlanApproval: false, followUpWindow: 0 });
    await h.client.workflow.getHandle(closed.id).result();
    const refused = jules().session(closed.id).send('too late');
    await expect(refused).rejects.toBeInstanceOf(JulesApiError);
    await expect(refused).rejects.toMatchObject({ status: 409, message: expect.stringContaining('FAILED_PRECONDITION') });
    expect((await jules().session(closed.id).info()).state).toBe('completed');
  });

  it("refuses a bad key with 401 and a key without the scope with 403, in Google's error shape", async () => {
    await expect(jules('not-a-valid-token-at-all').sessions({ pageSize: 1 })).rejects.toBeInstanceOf(JulesAuthenticationError);
    const session = await jules().session({ prompt: 'scoped' });
    await jules().session(session.id).waitFor('awaitingPlanApproval');
    // writer has read and write but not approve: approving and waiving approval are refused.
    await expect(jules(TOKENS.writer).session(session.id).approve()).rejects.toBeInstanceOf(JulesAuthenticationError);
    await expect(jules(TOKENS.writer).run({ prompt: 'no approval' })).rejects.toBeInstanceOf(JulesAuthenticationError);
    // reader cannot send.
    await expect(jules(TOKENS.reader).session(session.id).send('hi')).rejects.toBeInstanceOf(JulesAuthenticationError);

    const answer = await fetch(`${api.url}/v1alpha/sessions/${session.id}:approvePlan`, {
      method: 'POST',
      headers: { 'x-goog-api-key': TOKENS.writer, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(answer.status).toBe(403);
    expect(await answer.json()).toEqual({ error: { code: 403, status: 'PERMISSION_DENIED', message: expect.stringContaining('approve') } });
    expect((await h.andon.session(session.id).info()).state).toBe('awaitingPlanApproval');
  });

  it('answers a token over its rate limit with 429 RESOURCE_EXHAUSTED, which the SDK waits out', async () => {
    const limited = await startService(h.andon, { jules: { rateLimit: { requests: 3, window: '1s' } } });
    try {
      const get = (key: string) => fetch(`${limited.url}/v1alpha/sources`, { headers: { 'x-goog-api-key': key } });
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) statuses.push((await get(TOKENS.alice)).status);
      expect(statuses).toEqual([200, 200, 200, 429]);
      const over = await get(TOKENS.alice);
      expect(over.headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
      expect(await over.json()).toEqual({
        error: { code: 429, status: 'RESOURCE_EXHAUSTED', message: expect.stringContaining('rateLimit') },
      });
      // Each token has its own allowance.
      expect((await get(TOKENS.reader)).status).toBe(200);
      // The SDK retries 429 with backoff: six calls through a limit of three a second all succeed.
      const client = connect({
        baseUrl: `${limited.url}/v1alpha`,
        apiKey: TOKENS.writer,
        storageFactory: { activity: () => new MemoryStorage(), session: () => new MemorySessionStorage() },
      });
      for (let i = 0; i < 6; i++) expect(await client.sources.get({ github: 'acme/nope' })).toBeUndefined();
    } finally {
      await limited.close();
    }
  });

  it('answers a bad field with 400 INVALID_ARGUMENT naming it, and archive with 400 FAILED_PRECONDITION', async () => {
    const bad = await fetch(`${api.url}/v1alpha/sessions`, {
      method: 'POST',
      headers: { 'x-goog-api-key': TOKENS.alice, 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'x', automationMode: 'SOMETIMES' }),
    });
    expect(bad.status).toBe(400);
    const body = (await bad.json()) as { error: { status: string; details: { fieldViolations: { field: string }[] }[] } };
    expect(body.error.status).toBe('INVALID_ARGUMENT');
    expect(body.error.details[0]?.fieldViolations[0]?.field).toBe('automationMode');

    const session = await jules().session({ prompt: 'archive me' });
    const archived = jules().session(session.id).archive();
    await expect(archived).rejects.toBeInstanceOf(JulesApiError);
    await expect(archived).rejects.toMatchObject({ status: 400, message: expect.stringContaining('FAILED_PRECONDITION') });
    await expect(jules().session(session.id).unarchive()).resolves.toBeUndefined();
    await expect(jules().session('no-such-session').archive()).rejects.toMatchObject({ status: 404 });
  });
});
