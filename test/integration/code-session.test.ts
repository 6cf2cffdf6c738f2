/**
 * Code sessions end to end on the dev server, with real git: a session with a source prepares its
 * tree, plans, an approved step edits files in `request.workspace.path`, the change shows up as a
 * changeSet artifact and in view.workspace, the session completes with the change set in its
 * outputs and pushes exactly one commit (base + change) to `andon/<session-id>` on a bare remote.
 * A bad source fails the session at once with a reason naming it; a second worker with its own
 * disk rebuilds the tree from the recorded patch and carries on.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type {
  Agent,
  CallOptions,
  PlanRequest,
  ReplyRequest,
  StepRequest,
  SummarizeRequest,
  ToolRequest,
  TurnRequest,
  WorkspaceFacts,
} from '../../src/agents/agent';
import type { SessionClient, TimelineEvent } from '../../src/client';
import { approveUpdate } from '../../src/protocol/messages';
import { GitHubServer } from '../support/github-server';
import { historyText } from '../support/history-text';
import { startHarness, type Harness } from '../support/harness';

const T = { timeoutMs: 60_000 };

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' },
  }).trim();
}

const TOOL_CALLS = [
  { id: 'call-1', tool: 'write_file', arguments: { path: 'app.js', content: 'console.log("fix");\n' } },
  { id: 'call-2', tool: 'write_file', arguments: { path: 'NOTES.md', content: 'fixed the bug\n' } },
];

/**
 * Edits the repository it is given: step "Fix app.js" turns `bug` into `fix`, step "Add notes"
 * creates NOTES.md. A step can be held until the test releases it.
 */
class EditingAgent implements Agent {
  readonly name = 'editor';
  readonly seen: { what: string; workspace?: WorkspaceFacts }[] = [];
  private readonly holds = new Map<string, { entered: () => void; released: Promise<void> }>();

  hold(title: string): { entered: Promise<void>; release: () => void } {
    let entered!: () => void;
    let release!: () => void;
    const enteredPromise = new Promise<void>((resolve) => (entered = resolve));
    const released = new Promise<void>((resolve) => (release = resolve));
    this.holds.set(title, { entered, released });
    return { entered: enteredPromise, release };
  }

  async plan(request: PlanRequest) {
    this.seen.push({ what: 'plan', workspace: request.workspace });
    if (request.context.tools) {
      // One step carried out through tools: two file writes the plan grants exactly.
      return {
        kind: 'plan' as const,
        title: 'Fix the bug with tools',
        steps: [
          {
            title: 'Edit through tools',
            description: 'write both files',
            tools: TOOL_CALLS.map(({ tool, arguments: args }) => ({ tool, arguments: args })),
          },
        ],
      };
    }
    return {
      kind: 'plan' as const,
      title: 'Fix the bug',
      steps: [
        { title: 'Fix app.js', description: 'replace bug with fix' },
        { title: 'Add notes', description: 'write NOTES.md' },
      ],
    };
  }

  async executeStep(request: StepRequest, _options: CallOptions) {
    this.seen.push({ what: `step:${request.step.title}`, workspace: request.workspace });
    const hold = this.holds.get(request.step.title);
    if (hold) {
      this.holds.delete(request.step.title);
      hold.entered();
      await hold.released;
    }
    const dir = request.workspace!.path;
    // A change larger than the worker's maxChangeBytes (256 KiB by default) is refused.
    if (request.prompt.includes('huge') && !existsSync(path.join(dir, 'HUGE.txt')))
      writeFileSync(path.join(dir, 'HUGE.txt'), 'x\n'.repeat(200_000));
    if (request.step.title === 'Fix app.js') {
      const file = path.join(dir, 'app.js');
      writeFileSync(file, readFileSync(file, 'utf8').replace('bug', 'fix'));
      return { description: 'fixed app.js' };
    }
    writeFileSync(path.join(dir, 'NOTES.md'), 'fixed the bug\n');
    return { description: 'wrote notes' };
  }

  /** Turn 0 asks for both writes; turn 1, having their results, is done. */
  async turn(request: TurnRequest) {
    this.seen.push({ what: `turn:${request.turn}`, workspace: request.workspace });
    return request.turn === 0 ? { text: 'writing', toolCalls: TOOL_CALLS } : { text: 'both files written' };
  }

  async runTool(request: ToolRequest) {
    this.seen.push({ what: `tool:${request.call.id}`, workspace: request.workspace });
    const args = request.call.arguments as { path: string; content: string };
    writeFileSync(path.join(request.workspace!.path, args.path), args.content);
    return { status: 'ok' as const, output: `wrote ${args.path}` };
  }

  async reply(request: ReplyRequest) {
    return { message: `ok: ${request.message}` };
  }

  async summarize(request: SummarizeRequest) {
    this.seen.push({ what: 'summarize', workspace: request.workspace });
    return { summary: `fixed: ${request.prompt}` };
  }
}

let root: string;
let remote: string;
let base: string;
let agent: EditingAgent;
let h: Harness;
let github: GitHubServer;
const TOKEN = 'ghp_test_token_for_the_loopback';

beforeAll(async () => {
  root = mkdtempSync(path.join(tmpdir(), 'andon-code-'));
  // The "upstream" repository: a bare remote with one commit on main.
  const work = path.join(root, 'work');
  remote = path.join(root, 'remotes', 'app.git');
  execFileSync('git', ['init', '-q', '-b', 'main', work]);
  writeFileSync(path.join(work, 'app.js'), 'console.log("bug");\n');
  writeFileSync(path.join(work, 'README.md'), '# app\n');
  git(work, 'add', '-A');
  git(work, 'commit', '-q', '-m', 'initial');
  execFileSync('git', ['clone', '-q', '--bare', work, remote]);
  // "GitHub": the same repository as acme/app, cloned through the worker's cloneUrl template, and a loopback REST API.
  execFileSync('git', ['clone', '-q', '--bare', work, path.join(root, 'github', 'acme', 'app.git')]);
  github = await GitHubServer.start({ token: TOKEN, repos: ['acme/app'] });
  base = git(remote, 'rev-parse', 'main');
  agent = new EditingAgent();
  h = await startHarness({ agent, ...workerPlace('worker-a') });
});

/** A worker's own disk, and its GitHub settings: the token only in its environment. */
function workerPlace(dataDir: string) {
  return {
    dataDir: path.join(root, dataDir),
    workspace: {
      allowedGitSources: [path.join(root, 'remotes')],
      github: { cloneUrl: path.join(root, 'github', '{owner}', '{repo}.git'), apiUrl: github.apiUrl },
    },
    env: { ...process.env, GITHUB_TOKEN: TOKEN },
  };
}

afterAll(async () => {
  await h?.close();
  await github?.close();
  rmSync(root, { recursive: true, force: true });
});

const types = (events: TimelineEvent[]) => events.map((e) => e.type);
/** The session's final view, whatever the end. */
const ended = (session: SessionClient) => session.waitFor(['completed', 'failed', 'cancelled'], T);
/** `approve` with the change set's hash, as the update carries it. */
const approveChanges = (session: SessionClient, changeSetHash: string | undefined) =>
  h.client.workflow.getHandle(session.id).executeUpdate(approveUpdate, { args: [{ by: 'test:lead', changeSetHash }] });

async function approved(prompt: string, extra: Record<string, unknown> = {}): Promise<SessionClient> {
  const session = await h.andon.session({ prompt, source: { git: remote, branch: 'main' }, ...extra });
  await session.waitFor('awaitingPlanApproval', T);
  await session.approve({ by: 'test:lead' });
  return session;
}

it('prepares the tree, records each step as a change set, and pushes one commit of base + change', async () => {
  const session = await approved('the app prints bug');
  const outcome = await session.result(T);
  expect(outcome.state).toBe('completed');
  const id = session.id;
  const { events } = await session.timeline();
  expect(types(events).slice(0, 4)).toEqual(['sessionCreated', 'workspacePrepared', 'planGenerated', 'planApproved']);
  expect(events.find((e) => e.type === 'workspacePrepared')).toMatchObject({
    source: `git:${remote}@main`,
    branch: 'main',
    baseCommit: base,
  });

  // Every agent call saw the tree at the recorded base.
  expect(agent.seen.filter((c) => c.workspace === undefined)).toEqual([]);
  expect(agent.seen[0]?.workspace).toMatchObject({ source: `git:${remote}@main`, branch: 'main', baseCommit: base });

  // Each step's own diff, as a changeSet artifact on its progressUpdated event.
  const steps = events.filter((e): e is Extract<TimelineEvent, { type: 'progressUpdated' }> => e.type === 'progressUpdated');
  expect(steps.map((e) => e.artifacts.map((a) => a.type))).toEqual([['changeSet'], ['changeSet']]);
  const [fix, notes] = steps.map(
    (e) => e.artifacts[0] as Extract<TimelineEvent, { type: 'progressUpdated' }>['artifacts'][number] & { type: 'changeSet' },
  );
  expect(fix?.gitPatch).toMatchObject({ baseCommitId: base, suggestedCommitMessage: 'Fix app.js' });
  expect(fix?.gitPatch.unidiffPatch).toMatch(/-console\.log\("bug"\);\n\+console\.log\("fix"\);/);
  expect(fix?.gitPatch.unidiffPatch).not.toContain('NOTES.md');
  expect(notes?.gitPatch.unidiffPatch).toContain('NOTES.md');
  expect(notes?.gitPatch.unidiffPatch).not.toContain('app.js');

  // The view and the outputs: the cumulative change.
  const view = await session.info();
  expect(view.workspace).toMatchObject({
    source: `git:${remote}@main`,
    branch: 'main',
    baseCommit: base,
    changes: expect.arrayContaining([
      { path: 'app.js', changeType: 'modified', additions: 1, deletions: 1 },
      { path: 'NOTES.md', changeType: 'created', additions: 1, deletions: 0 },
    ]),
    published: { branch: `andon/${id}` },
  });
  const changeSet = view.outputs.find((o) => o.type === 'changeSet');
  expect(changeSet?.type === 'changeSet' && changeSet.gitPatch.baseCommitId).toBe(base);
  expect(changeSet?.type === 'changeSet' && changeSet.gitPatch.unidiffPatch).toMatch(/app\.js[\s\S]*NOTES\.md|NOTES\.md[\s\S]*app\.js/);
  const published = events.find((e) => e.type === 'changesPublished');
  expect(published).toMatchObject({ branch: `andon/${id}`, files: 2, additions: 2, deletions: 1 });

  // The remote has exactly one new commit on andon/<id>, whose parent is the base and whose tree is base + change.
  const head = git(remote, 'rev-parse', `refs/heads/andon/${id}`);
  expect(published).toMatchObject({ commit: head });
  expect(git(remote, 'rev-list', '--count', `main..andon/${id}`)).toBe('1');
  expect(git(remote, 'rev-parse', `andon/${id}^`)).toBe(base);
  expect(git(remote, 'show', `andon/${id}:app.js`)).toBe('console.log("fix");');
  expect(git(remote, 'show', `andon/${id}:NOTES.md`)).toBe('fixed the bug');
  expect(git(remote, 'show', `andon/${id}:README.md`)).toBe('# app');
  expect(git(remote, 'diff', '--name-only', 'main', `andon/${id}`).split('\n').sort()).toEqual(['NOTES.md', 'app.js']);
});

it('fails at once, naming the source, when the branch does not exist', async () => {
  const session = await h.andon.session({ prompt: 'no such branch', source: { git: remote, branch: 'nope' } });
  const outcome = await ended(session);
  expect(outcome.state).toBe('failed');
  expect(outcome.reason).toContain(`git:${remote}@nope`);
  expect(outcome.reason).toMatch(/nope/);
  const { events } = await session.timeline();
  expect(types(events)).toEqual(['sessionCreated', 'sessionFailed']);
});

it('fails at once when the worker may not use the source', async () => {
  const elsewhere = path.join(root, 'elsewhere.git');
  const session = await h.andon.session({ prompt: 'not allowed', source: { git: elsewhere } });
  const outcome = await ended(session);
  expect(outcome.state).toBe('failed');
  expect(outcome.reason).toContain(`git:${elsewhere}`);
});

it('another worker with its own disk rebuilds the tree from the recorded patch and finishes the change', async () => {
  const held = agent.hold('Fix app.js');
  const session = await approved('rebuild me');
  await held.entered;
  // The pause takes effect once step 1 is done: then worker A stops, and worker B (another data directory) goes on.
  await session.pause({ by: 'test:lead' });
  held.release();
  await session.waitFor('paused', T);
  const pathA = agent.seen.find((c) => c.what === 'step:Fix app.js' && c.workspace?.path.includes('worker-a'))?.workspace?.path;
  expect(pathA).toBeDefined();
  await h.stopWorker();
  await h.startWorker(agent, workerPlace('worker-b'));
  try {
    await session.resume({ by: 'test:lead' });
    const outcome = await session.result(T);
    expect(outcome.state).toBe('completed');
    const notes = agent.seen.filter((c) => c.what === 'step:Add notes').at(-1);
    expect(notes?.workspace?.path).toContain('worker-b');
    const id = session.id;
    expect(git(remote, 'show', `andon/${id}:app.js`)).toBe('console.log("fix");');
    expect(git(remote, 'show', `andon/${id}:NOTES.md`)).toBe('fixed the bug');
    expect(git(remote, 'rev-list', '--count', `main..andon/${id}`)).toBe('1');
  } finally {
    await h.stopWorker();
    await h.startWorker(agent);
  }
});

it('publishes nothing in mode none: the change set is in the outputs, no branch is pushed', async () => {
  const session = await approved('keep it local', { publish: { mode: 'none' } });
  const outcome = await session.result(T);
  expect(outcome.state).toBe('completed');
  const view = await session.info();
  expect(view.outputs.map((o) => o.type)).toEqual(['changeSet']);
  expect(view.workspace?.published).toBeUndefined();
  expect(() => git(remote, 'rev-parse', '--verify', '-q', `refs/heads/andon/${session.id}`)).toThrow();
});

it('waits for approval of the change set; a stale hash is refused; the approved change is published', async () => {
  const session = await approved('approve the change', { publish: { approveChanges: true } });
  const waiting = await session.waitFor('awaitingChangeApproval', T);
  const hash = waiting.workspace?.changeSetHash;
  expect(hash).toMatch(/^[0-9a-f]{16}$/);
  expect(waiting.outputs.map((o) => o.type)).toEqual(['changeSet']);
  await expect(approveChanges(session, '0000000000000000')).rejects.toMatchObject({
    cause: { type: 'StalePlan', message: expect.stringMatching(/the change set changed since it was shown/) },
  });
  expect((await session.info()).state).toBe('awaitingChangeApproval');
  await approveChanges(session, hash);
  const outcome = await session.result(T);
  expect(outcome.state).toBe('completed');
  const { events } = await session.timeline();
  expect(types(events)).toEqual(expect.arrayContaining(['changesApproved', 'changesPublished', 'sessionCompleted']));
  expect(git(remote, 'rev-list', '--count', `main..andon/${session.id}`)).toBe('1');
});

it('a rejected change set completes the session without publishing it', async () => {
  const session = await approved('reject the change', { publish: { approveChanges: true } });
  await session.waitFor('awaitingChangeApproval', T);
  await session.reject('not this way', { by: 'test:lead' });
  const outcome = await ended(session);
  expect(outcome.state).toBe('completed');
  expect(outcome.reason).toBe('change set rejected by test:lead: not this way; not published');
  expect(() => git(remote, 'rev-parse', '--verify', '-q', `refs/heads/andon/${session.id}`)).toThrow();
});

it("a tool step's calls change the tree; the step's whole diff is its changeSet artifact", async () => {
  const session = await approved('fix it with tools', { context: { tools: 'yes' } });
  const outcome = await session.result(T);
  expect(outcome.state).toBe('completed');
  const { events } = await session.timeline();
  expect(events.filter((e) => e.type === 'toolCalled').map((e) => e.type === 'toolCalled' && e.status)).toEqual(['ok', 'ok']);
  const step = events.find((e): e is Extract<TimelineEvent, { type: 'progressUpdated' }> => e.type === 'progressUpdated');
  expect(step?.artifacts).toHaveLength(1);
  const artifact = step?.artifacts[0];
  expect(artifact?.type).toBe('changeSet');
  const patch = artifact?.type === 'changeSet' ? artifact.gitPatch.unidiffPatch : '';
  expect(patch).toContain('app.js');
  expect(patch).toContain('NOTES.md');
  // Every turn and tool call saw the tree.
  expect(agent.seen.filter((c) => /^(turn|tool):/.test(c.what) && !c.workspace)).toEqual([]);
  expect((await session.info()).workspace?.changes.map((f) => f.path).sort()).toEqual(['NOTES.md', 'app.js']);
  expect(git(remote, 'show', `andon/${session.id}:NOTES.md`)).toBe('fixed the bug');
});

it('a change too large to carry is a failed step a person decides; skipping it drops the change', async () => {
  const session = await approved('a huge change');
  const failed = await session.waitFor('awaitingUserFeedback', T);
  expect(failed.stepFailure).toMatchObject({ title: 'Fix app.js', reason: expect.stringMatching(/maxChangeBytes|too large/i) });
  expect(failed.workspace?.changes).toEqual([]);
  await session.decideStep('skip', { by: 'test:lead' });
  // Step 2 runs on the tree as recorded (without the refused change), and writes HUGE.txt again: refused again.
  const again = await session.waitFor('awaitingUserFeedback', T);
  expect(again.stepFailure).toMatchObject({ title: 'Add notes' });
  await session.decideStep('abort', { by: 'test:lead' });
  const view = await ended(session);
  expect(view.state).toBe('cancelled');
  expect(() => git(remote, 'rev-parse', '--verify', '-q', `refs/heads/andon/${session.id}`)).toThrow();
});

describe('pull requests', () => {
  const ghRemote = () => path.join(root, 'github', 'acme', 'app.git');

  it('opens exactly one pull request for a GitHub source, even when GitHub first rate-limits the call', async () => {
    github.fail({ route: 'createPull', times: 1, secondaryRateLimit: { retryAfter: 1 } });
    const session = await h.andon.session({ prompt: 'fix it on github', title: 'Fix the bug in app.js', source: { github: 'acme/app' } });
    await session.waitFor('awaitingPlanApproval', T);
    await session.approve({ by: 'test:lead' });
    const outcome = await session.result(T);
    const id = session.id;
    expect(outcome.pullRequest).toMatchObject({ url: expect.stringContaining('/acme/app/pull/'), title: 'Fix the bug in app.js' });
    expect(outcome.pullRequest?.description).toContain('2 files changed, +2 -1');
    const pulls = github.pulls('acme', 'app').filter((p) => p.head === `acme:andon/${id}`);
    expect(pulls).toHaveLength(1);
    expect(pulls[0]).toMatchObject({ base: 'main', title: 'Fix the bug in app.js', state: 'open', draft: false });
    // The rate-limited attempt was retried, not given up.
    expect(github.requests.filter((r) => r.route === 'createPull' && r.status === 403)).toHaveLength(1);
    expect(outcome.outputs.map((o) => o.type)).toEqual(['changeSet', 'pullRequest']);
    const view = await session.info();
    expect(view.workspace).toMatchObject({
      source: 'github:acme/app',
      branch: 'main',
      published: { branch: `andon/${id}`, pullRequest: { url: pulls[0] && expect.stringContaining(`/pull/${pulls[0].number}`) } },
    });
    const { events } = await session.timeline();
    expect(events.filter((e) => e.type === 'changesPublished')).toHaveLength(1);
    expect(git(ghRemote(), 'rev-list', '--count', `main..andon/${id}`)).toBe('1');
    // The token never reaches the session's history (its payloads read as text: the pull request's URL is there).
    const history = historyText(await h.client.workflow.getHandle(id).fetchHistory());
    expect(history).toContain(outcome.pullRequest!.url);
    expect(history).not.toContain(TOKEN);
  });

  it('fails with the reason, keeping the change set, when GitHub refuses the pull request for good', async () => {
    github.fail({ route: 'createPull', times: 1, status: 422, message: 'Validation Failed' });
    const session = await h.andon.session({ prompt: 'github says no', source: { github: 'acme/app' } });
    await session.waitFor('awaitingPlanApproval', T);
    await session.approve({ by: 'test:lead' });
    const view = await ended(session);
    expect(view.state).toBe('failed');
    expect(view.reason).toMatch(/cannot open a pull request for github:acme\/app/);
    expect(view.outputs.map((o) => o.type)).toEqual(['changeSet']);
    expect(github.pulls('acme', 'app').filter((p) => p.head === `acme:andon/${session.id}`)).toHaveLength(0);
  });
});
