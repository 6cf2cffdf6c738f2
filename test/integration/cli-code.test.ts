/**
 * The CLI's code-session surface as a person runs it (bin/andon.js against the suite's dev server):
 * `start --source/--branch/--publish/--approve-changes` reach the workflow input, bad ones are
 * usage errors naming the option before anything starts, `show` renders the workspace, and
 * `diff` prints a session's change set (whole, or `--stat`).
 */
import { randomUUID } from 'node:crypto';
import { InvalidStateError, type SessionView } from '../../src/client';
import { ScriptedAgent, parseScript } from '../../src/agents/scripted';
import { formatView } from '../../src/cli/format';
import { json, killAll, runCli } from '../support/cli-process';
import { quickScript, startHarness, type Harness } from '../support/harness';

const FIX = [
  'diff --git a/src/rate.ts b/src/rate.ts',
  'index 1111111..2222222 100644',
  '--- a/src/rate.ts',
  '+++ b/src/rate.ts',
  '@@ -1,3 +1,3 @@',
  ' export function rate(errors: number, total: number) {',
  '-  return errors / total;',
  '+  return total === 0 ? 0 : errors / total;',
  ' }',
  '',
].join('\n');
const TEST = [
  'diff --git a/src/rate.test.ts b/src/rate.test.ts',
  'new file mode 100644',
  'index 0000000..3333333',
  '--- /dev/null',
  '+++ b/src/rate.test.ts',
  '@@ -0,0 +1,2 @@',
  "+import { rate } from './rate';",
  "+test('no traffic', () => expect(rate(0, 0)).toBe(0));",
  '',
].join('\n');

let h: Harness;
beforeAll(async () => {
  const steps = [
    { title: 'Fix', result: { description: 'fixed', artifacts: [{ type: 'changeSet' as const, gitPatch: { unidiffPatch: FIX } }] } },
    { title: 'Test', result: { description: 'tested', artifacts: [{ type: 'changeSet' as const, gitPatch: { unidiffPatch: TEST } }] } },
  ];
  h = await startHarness({
    agents: {
      // Ends with the whole change as its output, as a code session does.
      code: new ScriptedAgent(
        parseScript(
          quickScript({
            name: 'code',
            plans: [{ title: 'Fix {title}', steps }],
            outputs: [
              { type: 'changeSet', gitPatch: { unidiffPatch: FIX + TEST, baseCommitId: 'abc123', suggestedCommitMessage: 'Fix rate' } },
            ],
          }),
        ),
      ),
      // Only the steps' change sets.
      steps: new ScriptedAgent(parseScript(quickScript({ name: 'steps', plans: [{ title: 'Fix {title}', steps }] }))),
      plain: new ScriptedAgent(parseScript(quickScript({ name: 'plain' }))),
    },
    defaultAgent: 'plain',
  });
});
afterAll(async () => {
  killAll();
  await h?.close();
});

const cli = (args: string[], options: { human?: boolean } = {}) =>
  runCli([...args, '--address', h.address, '--task-queue', h.taskQueue, ...(options.human ? [] : ['--json'])], process.env).done;

/**
 * Cancels a session a test started. A worker that runs code sessions may have failed it already
 * (its source is not one this test's worker may use): that is fine too.
 */
async function endTest(id: string): Promise<void> {
  await h.andon
    .session(id)
    .cancel('test done')
    .catch((error: unknown) => {
      if (!InvalidStateError.isInstance(error)) throw error;
    });
}

/** The config the workflow was started with, read from its first history event. */
async function startedConfig(id: string): Promise<Record<string, unknown>> {
  const history = await h.client.workflow.getHandle(id).fetchHistory();
  const data = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0]?.data;
  return (JSON.parse(Buffer.from(data ?? new Uint8Array()).toString('utf8')) as { config: Record<string, unknown> }).config;
}

describe('andon start --source', () => {
  it('refuses a bad source or code option with exit code 2 naming it, and starts nothing', async () => {
    const id = `cli-bad-${randomUUID().slice(0, 8)}`;
    const cases: Array<[args: string[], field: string, message: RegExp]> = [
      [['--source', 'github:acme'], 'source', /owner\/repo/],
      [['--source', 'github:acme/api@bad branch'], 'source', /valid git branch name/],
      [['--source', 'git:https://bot:s3cret@git.example.com/acme/api.git'], 'source', /must not carry credentials/],
      [['--source', 'git:-oProxyCommand=x'], 'source', /must not start with "-"/],
      [['--source', './no/such/dir'], 'source', /no such directory/],
      [['--source', 'github:acme/api', '--publish', 'merge'], 'publish', /none, branch, pullRequest/],
      [['--source', 'github:acme/api', '--branch', '-x'], 'branch', /valid git branch name/],
      [['--publish', 'branch'], 'publish', /needs --source/],
      [['--approve-changes'], 'approve-changes', /needs --source/],
    ];
    const runs = await Promise.all(cases.map(([args]) => cli(['start', '--prompt', 'fix it', '--id', id, ...args])));
    runs.forEach((run, i) => {
      const [, field, message] = cases[i]!;
      expect({ code: run.code, error: json<{ error: unknown }>(run).error }).toEqual({
        code: 2,
        error: { type: 'UsageError', field, message: expect.stringMatching(message) },
      });
      expect(run.stdout + run.stderr).not.toContain('s3cret');
    });
    await expect(h.client.workflow.getHandle(id).describe()).rejects.toThrow(/not found/i);
  });

  it('passes source, branch and publish policy to the session; a local path becomes an absolute git source', async () => {
    const github = `cli-gh-${randomUUID().slice(0, 8)}`;
    const local = `cli-local-${randomUUID().slice(0, 8)}`;
    const scp = `cli-scp-${randomUUID().slice(0, 8)}`;
    const [a, b, c] = await Promise.all([
      cli([
        'start',
        '--prompt',
        'fix it',
        '--id',
        github,
        '--source',
        'github:acme/api@release/1.2',
        '--publish',
        'branch',
        '--approve-changes',
      ]),
      cli(['start', '--prompt', 'fix it', '--id', local, '--source', '.', '--branch', 'main', '--publish', 'none']),
      cli(['start', '--prompt', 'fix it', '--id', scp, '--source', 'git:git@git.example.com:acme/api.git', '--draft']),
    ]);
    expect([a.code, b.code, c.code]).toEqual([0, 0, 0]);
    expect(await startedConfig(github)).toMatchObject({
      source: { github: 'acme/api', branch: 'release/1.2' },
      publish: { mode: 'branch', approveChanges: true },
    });
    // The Temporal UI shows the repository and what becomes of the change.
    const details = await (await h.client.workflow.getHandle(github).describe()).staticDetails();
    expect(details).toContain('**Source:** github:acme/api@release/1.2');
    expect(details).toContain('**Publish:** branch');
    expect(await startedConfig(local)).toMatchObject({ source: { git: process.cwd(), branch: 'main' }, publish: { mode: 'none' } });
    // The "@" of git@host is the location's, not a branch.
    expect(await startedConfig(scp)).toMatchObject({ source: { git: 'git@git.example.com:acme/api.git' }, publish: { draft: true } });
    expect((await startedConfig(scp)).source).not.toHaveProperty('branch');
    await Promise.all([github, local, scp].map(endTest));
  });
});

describe('andon diff', () => {
  it("prints a completed session's whole change set, and --stat lists its files", async () => {
    const id = `cli-diff-${randomUUID().slice(0, 8)}`;
    expect((await cli(['start', '--prompt', 'fix rate', '--id', id, '--agent', 'code', '--no-approval'])).code).toBe(0);
    await h.andon.session(id).result({ timeoutMs: 30_000 });
    const [whole, stat, asJson] = await Promise.all([
      cli(['diff', id], { human: true }),
      cli(['diff', id, '--stat'], { human: true }),
      cli(['diff', id, '--stat']),
    ]);
    expect(whole.code).toBe(0);
    expect(whole.stdout).toBe(`${(FIX + TEST).trimEnd()}\n`);
    expect(stat.stdout).toBe('M src/rate.ts  +1 -1\nA src/rate.test.ts  +2 -0\n2 files changed, +3 -1\n');
    expect(json(asJson)).toEqual({
      sessionId: id,
      complete: true,
      files: [
        { path: 'src/rate.ts', changeType: 'modified', additions: 1, deletions: 1 },
        { path: 'src/rate.test.ts', changeType: 'created', additions: 2, deletions: 0 },
      ],
    });
  });

  it("before a final change set, prints the steps' change sets in order; a session without changes says so", async () => {
    const steps = `cli-steps-${randomUUID().slice(0, 8)}`;
    const plain = `cli-plain-${randomUUID().slice(0, 8)}`;
    await Promise.all([
      cli(['start', '--prompt', 'fix rate', '--id', steps, '--agent', 'steps', '--no-approval']),
      cli(['start', '--prompt', 'nothing', '--id', plain, '--no-approval']),
    ]);
    await Promise.all([h.andon.session(steps).result({ timeoutMs: 30_000 }), h.andon.session(plain).result({ timeoutMs: 30_000 })]);
    const [run, none] = await Promise.all([cli(['diff', steps]), cli(['diff', plain], { human: true })]);
    expect(json(run)).toMatchObject({ complete: false, patch: FIX + TEST, files: [{ path: 'src/rate.ts' }, { path: 'src/rate.test.ts' }] });
    expect(none.stdout).toBe(`session ${plain} has no changes (it has no source)\n`);
  });
});

describe('show renders a code session', () => {
  it('with its source, base, changes and where it was published', () => {
    const view = {
      id: 's-1',
      title: 'Fix rate',
      state: 'completed',
      createTime: '2026-01-01T00:00:00Z',
      updateTime: '2026-01-01T00:00:00Z',
      prompt: 'fix rate',
      context: {},
      outputs: [],
      pendingMessages: 0,
      pendingReviews: [],
      workspace: {
        source: 'github:acme/api@main',
        branch: 'main',
        baseCommit: '0123456789abcdef0123456789abcdef01234567',
        changes: [{ path: 'src/rate.ts', changeType: 'modified', additions: 1, deletions: 1 }],
        published: {
          branch: 'andon/s-1',
          commit: 'fedcba9876543210fedcba9876543210fedcba98',
          pullRequest: { url: 'https://github.com/acme/api/pull/7', title: 'Fix rate' },
        },
      },
    } as unknown as SessionView;
    const text = formatView(view);
    expect(text).toContain('source   github:acme/api@main');
    expect(text).toContain('base     main at 0123456789ab');
    expect(text).toContain('changes  1 file changed, +1 -1\n         M src/rate.ts  +1 -1');
    expect(text).toContain('pushed   andon/s-1 at fedcba987654');
    expect(text).toContain('pull req https://github.com/acme/api/pull/7 Fix rate');
    expect(text).not.toContain('awaits approval');
    const awaiting = formatView({
      ...view,
      state: 'awaitingChangeApproval',
      workspace: { ...view.workspace!, published: undefined, changeSetHash: 'c0ffee' },
    });
    expect(awaiting).toContain('diff     awaits approval: andon approve s-1 --change-set c0ffee (andon diff s-1)');
  });
});
