/**
 * Real git repositories for the workspace tests and the bench: a bare "remote" on a local path,
 * filled from a scratch clone with a fixed author, so tests can push to it and read it back.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const AUTHOR = {
  GIT_AUTHOR_NAME: 'Test',
  GIT_AUTHOR_EMAIL: 'test@example.com',
  GIT_COMMITTER_NAME: 'Test',
  GIT_COMMITTER_EMAIL: 'test@example.com',
  GIT_CONFIG_NOSYSTEM: '1',
};

/** Runs git in `cwd` (no shell) and answers its trimmed output. */
export function git(cwd: string, ...args: string[]): string {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('GIT_')));
  return execFileSync('git', ['-c', 'init.defaultBranch=main', '-c', 'commit.gpgSign=false', ...args], {
    cwd,
    env: { ...env, ...AUTHOR },
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  }).trim();
}

export type Files = Record<string, string | Buffer>;

export function writeFiles(dir: string, files: Files): void {
  for (const [file, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), content);
  }
}

/**
 * A bare repository at `<dir>/<name>.git` whose `main` holds `files`; each extra branch adds its
 * files on top of main. Answers the bare path and each branch's commit.
 */
export function makeRemote(
  dir: string,
  name: string,
  files: Files,
  branches: Record<string, Files> = {},
): { url: string; commits: Record<string, string> } {
  const url = path.join(dir, `${name}.git`);
  const work = path.join(dir, `${name}.work`);
  fs.mkdirSync(work, { recursive: true });
  git(dir, 'init', '--quiet', '--bare', url);
  git(work, 'init', '--quiet');
  writeFiles(work, files);
  git(work, 'add', '--all');
  git(work, 'commit', '--quiet', '-m', 'initial');
  const commits: Record<string, string> = { main: git(work, 'rev-parse', 'HEAD') };
  for (const [branch, extra] of Object.entries(branches)) {
    git(work, 'checkout', '--quiet', '-b', branch, 'main');
    writeFiles(work, extra);
    git(work, 'add', '--all');
    git(work, 'commit', '--quiet', '-m', `on ${branch}`);
    commits[branch] = git(work, 'rev-parse', 'HEAD');
  }
  git(work, 'push', '--quiet', url, ...Object.keys(commits).map((branch) => `${branch}:${branch}`));
  fs.rmSync(work, { recursive: true, force: true });
  return { url, commits };
}
