/**
 * The offline code scenario's repository: demo/repos/checkout-service (a small pricing library
 * with a real off-by-one bug that its own test catches) as a bare git repository that `npm start`
 * makes in its data directory, so a code session can use it as its `git:` source and publish its
 * branch `andon/<session-id>` to it, with no network. The commit is made with a fixed author,
 * date and message, and with no user or system git configuration (no signing, no hooks, no
 * excludes), so its id is the same on every machine and every start: making it again changes
 * nothing, and sessions recorded against it stay valid.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The demo repository's files in a clone of andon (from the sources; `npm start` passes its project root's). */
export const DEMO_REPOSITORY_FILES = path.resolve(__dirname, '../../../demo/repos/checkout-service');

/** What the commit is made with: fixed, so its id is stable. */
const COMMIT = {
  GIT_AUTHOR_NAME: 'andon demo',
  GIT_AUTHOR_EMAIL: 'demo@andon.invalid',
  GIT_AUTHOR_DATE: '1767258000 +0000',
  GIT_COMMITTER_NAME: 'andon demo',
  GIT_COMMITTER_EMAIL: 'demo@andon.invalid',
  GIT_COMMITTER_DATE: '1767258000 +0000',
};
const MESSAGE = 'checkout-service 1.4.2: cart pricing with the bulk discount';

export interface DemoRepository {
  /** The bare repository: a session's source is `{ git: path }`. */
  path: string;
  /** The commit `main` points at. */
  commit: string;
  /** False when the repository already held that commit on main. */
  changed: boolean;
}

/**
 * Makes (or brings up to date) the bare repository `<dir>/checkout-service.git` whose `main` is
 * one commit of `files` (default: the shipped demo). Idempotent: the same files give the same
 * commit, and a `main` already there is left alone; other branches (published sessions) are kept.
 */
export async function ensureDemoRepository(dir: string, files = DEMO_REPOSITORY_FILES): Promise<DemoRepository> {
  const bare = path.join(path.resolve(dir), 'checkout-service.git');
  if (!existsSync(path.join(files, 'package.json'))) throw new Error(`the demo repository's files are missing: ${files}`);
  if (!existsSync(path.join(bare, 'HEAD'))) {
    await mkdir(bare, { recursive: true });
    await git(undefined, 'init', '--quiet', '--bare', bare);
  }
  await git(bare, 'symbolic-ref', 'HEAD', 'refs/heads/main');
  const scratch = await mkdtemp(path.join(tmpdir(), 'andon-demo-index-'));
  try {
    // A throwaway index over the demo's files: nothing is checked out, nothing in the package changes.
    const index = { GIT_INDEX_FILE: path.join(scratch, 'index'), GIT_WORK_TREE: files };
    await git(bare, 'add', '--all', '.', { ...index, cwd: files });
    const tree = await git(bare, 'write-tree', { ...index, cwd: files });
    const commit = await git(bare, 'commit-tree', tree, '-m', MESSAGE);
    const current = await git(bare, 'rev-parse', '--verify', '--quiet', 'refs/heads/main').catch(() => '');
    if (current === commit) return { path: bare, commit, changed: false };
    await git(bare, 'update-ref', 'refs/heads/main', commit);
    return { path: bare, commit, changed: true };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

type GitArg = string | (Record<string, string> & { cwd?: string });

/** git against the bare repository, with the fixed identity and none of the user's or the system's configuration. */
async function git(bare: string | undefined, ...args: GitArg[]): Promise<string> {
  const extra = (typeof args.at(-1) === 'object' ? args.pop() : {}) as Record<string, string> & { cwd?: string };
  const { cwd, ...env } = extra;
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('GIT_')));
  const { stdout } = await run('git', [...(bare ? ['--git-dir', bare] : []), ...(args as string[])], {
    cwd: cwd ?? bare ?? tmpdir(),
    env: { ...inherited, ...COMMIT, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', ...env },
    encoding: 'utf8',
  });
  return stdout.trim();
}
