/**
 * The offline code scenario as `npm start` runs it, on the dev server with real git: the demo
 * repository made as a bare repo (stable commit), the scripted agent of scripts/demo.json, a
 * session with that repository as its source. The plan is reproduce / fix / verify; the tests run
 * for real in the session's tree (failing, then passing), the fix is a change set, and the branch
 * andon/<session-id> with exactly that change is published to the demo repository.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ensureDemoRepository, type DemoRepository } from '../../src/agents/scripted/demo-repository';
import { parseScript } from '../../src/agents/scripted';
import type { TimelineEvent } from '../../src/client';
import { DEMO_SCRIPT, startHarness, type Harness } from '../support/harness';

const T = { timeoutMs: 60_000 };
let root: string;
let demo: DemoRepository;
let h: Harness;

const git = (...args: string[]) => execFileSync('git', ['-C', demo.path, ...args], { encoding: 'utf8' }).trim();

beforeAll(async () => {
  root = mkdtempSync(path.join(tmpdir(), 'andon-code-demo-'));
  demo = await ensureDemoRepository(path.join(root, 'demo'));
  // The demo script without its pacing delays.
  const script = parseScript(JSON.parse(readFileSync(DEMO_SCRIPT, 'utf8')));
  for (const plan of script.code!.plans) for (const step of plan.steps) step.delayMs = 0;
  h = await startHarness({
    agent: { ...script, planDelayMs: 0 },
    dataDir: path.join(root, 'worker'),
    workspace: { allowedGitSources: [demo.path] },
  });
});

afterAll(async () => {
  await h?.close();
  rmSync(root, { recursive: true, force: true });
});

it('reproduces, fixes and verifies the demo bug, and publishes the fix on andon/<id>', async () => {
  const session = await h.andon.session({ prompt: 'Fix the failing checkout test', source: { git: demo.path } });
  const plan = await session.waitFor('awaitingPlanApproval', T);
  expect(plan.plan?.steps.map((s) => s.title)).toEqual([
    'Reproduce: run the checkout tests',
    'Fix the bulk discount threshold in src/discount.js',
    'Verify: run the checkout tests again',
  ]);
  await session.approve({ by: 'test:newcomer' });
  const outcome = await session.result(T);
  expect(outcome.state).toBe('completed');

  const { events } = await session.timeline();
  expect(events.find((e) => e.type === 'workspacePrepared')).toMatchObject({ baseCommit: demo.commit, branch: 'main' });
  const steps = events.filter((e): e is Extract<TimelineEvent, { type: 'progressUpdated' }> => e.type === 'progressUpdated');
  const [reproduce, fix, verify] = steps.map((e) => e.artifacts);
  expect(reproduce).toEqual([
    {
      type: 'bashOutput',
      command: 'node test.js',
      exitCode: 1,
      output: expect.stringContaining('not ok 4 - an order of exactly 10 items gets the bulk discount'),
    },
  ]);
  expect(fix).toEqual([
    expect.objectContaining({
      type: 'changeSet',
      gitPatch: expect.objectContaining({
        baseCommitId: demo.commit,
        unidiffPatch: expect.stringContaining('-  if (itemCount > BULK_MIN_ITEMS) {\n+  if (itemCount >= BULK_MIN_ITEMS) {'),
      }),
    }),
  ]);
  expect(verify).toEqual([
    { type: 'bashOutput', command: 'node test.js', exitCode: 0, output: expect.stringContaining('6 of 6 tests passed') },
  ]);

  // Published: one commit on andon/<id> over the demo's main, with the fix and nothing else.
  const branch = `andon/${session.id}`;
  expect(events.find((e) => e.type === 'changesPublished')).toMatchObject({ branch, files: 1, additions: 1, deletions: 1 });
  expect(git('rev-parse', `${branch}^`)).toBe(demo.commit);
  expect(git('diff', '--name-only', `main..${branch}`)).toBe('src/discount.js');
  expect(git('show', `${branch}:src/discount.js`)).toContain('if (itemCount >= BULK_MIN_ITEMS) {');
  expect(outcome.outputs?.map((o) => o.type)).toContain('changeSet');

  // Making the demo repository again (the next `npm start`) keeps main and the published branch.
  expect(await ensureDemoRepository(path.join(root, 'demo'))).toEqual({ ...demo, changed: false });
  expect(git('rev-parse', branch)).toBeTruthy();
});
