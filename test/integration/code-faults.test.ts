/**
 * A code session survives kill -9 of its worker: once in the middle of a step (the next worker,
 * on the same disk, throws away the half-made edit and rebuilds the tree from base + the recorded
 * patch), and once in the middle of publishing (the push is idempotent, the pull request is found
 * or made once). In the end: exactly one commit of base + change, exactly one pull request.
 */
import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { GitHubServer } from '../support/github-server';
import { startWorkerProcess } from '../support/processes';
import { startHarness, testAddress, type Harness } from '../support/harness';

const TOKEN = 'ghp_kill_test_token';
const STEP_MS = 6_000;

let root: string;
let github: GitHubServer;
let h: Harness;
const workers: ChildProcess[] = [];

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' },
  }).trim();
}

async function kill9(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

async function until(what: string, check: () => boolean, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

beforeAll(async () => {
  root = mkdtempSync(path.join(os.tmpdir(), 'andon-code-faults-'));
  const work = path.join(root, 'work');
  execFileSync('git', ['init', '-q', '-b', 'main', work]);
  writeFileSync(path.join(work, 'app.js'), 'console.log("bug");\n');
  git(work, 'add', '-A');
  git(work, 'commit', '-q', '-m', 'initial');
  execFileSync('git', ['clone', '-q', '--bare', work, path.join(root, 'github', 'acme', 'app.git')]);
  mkdirSync(path.join(root, 'markers'));
  github = await GitHubServer.start({ token: TOKEN, repos: ['acme/app'] });
});

afterAll(async () => {
  for (const child of workers) await kill9(child);
  await h?.close();
  await github?.close();
  rmSync(root, { recursive: true, force: true });
});

it('kill -9 mid-step and mid-publish: one commit of base + change, exactly one pull request', async () => {
  const taskQueue = `code-faults-${randomUUID()}`;
  const options = path.join(root, 'worker.json');
  // Every worker of this test runs on the same disk, as a restarted worker would.
  writeFileSync(
    options,
    JSON.stringify({
      agents: {
        code: {
          module: path.resolve(__dirname, '../support/code-agent.ts'),
          export: 'createCodeAgent',
          options: { markerDir: path.join(root, 'markers'), stepMs: STEP_MS },
        },
      },
      dataDir: path.join(root, 'worker'),
      workspace: { github: { cloneUrl: path.join(root, 'github', '{owner}', '{repo}.git'), apiUrl: github.apiUrl } },
      env: { ...process.env, GITHUB_TOKEN: TOKEN },
    }),
  );
  const worker = async () => {
    const child = await startWorkerProcess(testAddress(), taskQueue, path.resolve(__dirname, '../../scripts/demo.json'), options);
    workers.push(child);
    return child;
  };
  h = await startHarness({ taskQueue, worker: false });
  const first = await worker();

  const session = await h.andon.session({ prompt: 'kill me', title: 'Fix the bug', source: { github: 'acme/app' } });
  await session.waitFor('awaitingPlanApproval', { timeoutMs: 60_000 });
  await session.approve({ by: 'test:lead' });
  const marker = (attempt: number) => path.join(root, 'markers', `${session.id}.${attempt}`);

  // Mid-step: app.js is already edited in the tree, NOTES.md not yet.
  await until('the step to start', () => existsSync(marker(1)));
  await kill9(first);
  // Mid-publish: GitHub holds the pull request call long enough to kill the worker while it waits.
  github.fail({ route: 'createPull', times: 1, delayMs: 60_000 });
  const second = await worker();
  await until('the step to run again', () => existsSync(marker(2)), 90_000);
  await until('the pull request call', () => github.requests.some((r) => r.route === 'createPull'), 90_000);
  await kill9(second);
  await worker();

  const outcome = await session.result({ timeoutMs: 120_000 });
  const id = session.id;
  const remote = path.join(root, 'github', 'acme', 'app.git');
  expect(github.pulls('acme', 'app').filter((p) => p.head === `acme:andon/${id}`)).toHaveLength(1);
  expect(outcome.pullRequest).toMatchObject({ title: 'Fix the bug', url: expect.stringContaining('/acme/app/pull/') });
  expect(git(remote, 'rev-list', '--count', `main..andon/${id}`)).toBe('1');
  expect(git(remote, 'show', `andon/${id}:app.js`)).toBe('console.log("fix");');
  expect(git(remote, 'show', `andon/${id}:NOTES.md`)).toBe('fixed the bug');
  const { events } = await session.timeline();
  // The step reported once (its lost attempt left no trace but the retry), and the change was published once.
  expect(events.filter((e) => e.type === 'progressUpdated')).toHaveLength(1);
  expect(events.filter((e) => e.type === 'changesPublished')).toHaveLength(1);
}, 300_000);
