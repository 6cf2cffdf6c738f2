/**
 * The client's change-set helpers (src/client/change-set.ts) against patches real git made:
 * `parsed()` agrees with `git diff --numstat`, `save()` turns a checkout of the base commit into
 * the changed tree (and is a no-op the second time), and paths that would leave the directory
 * are refused before anything is written.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync, mkdirSync, existsSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ChangeSetError, changeSet, type SessionView } from '../../src/client';
import { outcomeOf } from '../../src/client/outcome';

const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' },
  });

let tmp: string;
let repo: string;
let base: string;
let patch: string;

/** Every file under dir (not .git) with its content, for comparing trees. */
function tree(dir: string, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of readdirSync(path.join(dir, prefix), { withFileTypes: true })) {
    if (entry.name === '.git') continue;
    const rel = path.posix.join(prefix, entry.name);
    if (entry.isDirectory()) Object.assign(out, tree(dir, rel));
    else out[rel] = readFileSync(path.join(dir, rel), 'utf8');
  }
  return out;
}

function checkoutOfBase(): string {
  const dir = mkdtempSync(path.join(tmp, 'base-'));
  git(tmp, 'clone', '--quiet', repo, dir);
  git(dir, 'checkout', '--quiet', base);
  return dir;
}

beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'andon-changeset-'));
  repo = path.join(tmp, 'repo');
  mkdirSync(repo);
  git(repo, 'init', '--quiet', '-b', 'main');
  mkdirSync(path.join(repo, 'src'));
  writeFileSync(path.join(repo, 'src/rate.ts'), 'export function rate(errors: number, total: number) {\n  return errors / total;\n}\n');
  writeFileSync(path.join(repo, 'README.md'), '# demo\n\nA demo.\n');
  writeFileSync(path.join(repo, 'old.txt'), 'obsolete\n');
  writeFileSync(path.join(repo, 'moved-from.ts'), Array.from({ length: 20 }, (_, i) => `line ${i}`).join('\n') + '\n');
  writeFileSync(path.join(repo, 'run.sh'), 'echo hi\n');
  git(repo, 'add', '-A');
  git(repo, 'commit', '--quiet', '-m', 'base');
  base = git(repo, 'rev-parse', 'HEAD').trim();
  // The change: a fix, a new test, a deletion, a rename with an edit, a mode change, no newline at end.
  writeFileSync(
    path.join(repo, 'src/rate.ts'),
    'export function rate(errors: number, total: number) {\n  return total === 0 ? 0 : errors / total;\n}\n',
  );
  writeFileSync(
    path.join(repo, 'src/rate.test.ts'),
    "import { rate } from './rate';\ntest('no traffic', () => expect(rate(0, 0)).toBe(0));",
  );
  rmSync(path.join(repo, 'old.txt'));
  git(repo, 'mv', 'moved-from.ts', 'moved-to.ts');
  writeFileSync(path.join(repo, 'moved-to.ts'), Array.from({ length: 20 }, (_, i) => `line ${i === 3 ? 'three' : i}`).join('\n') + '\n');
  execFileSync('chmod', ['+x', path.join(repo, 'run.sh')]);
  git(repo, 'add', '-A');
  patch = git(repo, 'diff', '--cached', '-M', base);
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('parsed()', () => {
  it('lists every changed file with the counts git gives, and a summary', () => {
    const parsed = changeSet({
      type: 'changeSet',
      source: 'git:/srv/demo',
      gitPatch: { unidiffPatch: patch, baseCommitId: base },
    }).parsed();
    const numstat = git(repo, 'diff', '--cached', '-M', '--numstat', base)
      .trim()
      .split('\n')
      .map((line) => line.split('\t'));
    expect(parsed.files).toHaveLength(numstat.length);
    for (const [added, deleted] of numstat) {
      expect(parsed.files.some((f) => f.additions === Number(added) && f.deletions === Number(deleted))).toBe(true);
    }
    expect(parsed.files).toEqual(
      expect.arrayContaining([
        { path: 'src/rate.ts', changeType: 'modified', additions: 1, deletions: 1 },
        { path: 'src/rate.test.ts', changeType: 'created', additions: 2, deletions: 0 },
        { path: 'old.txt', changeType: 'deleted', additions: 0, deletions: 1 },
        { path: 'moved-to.ts', previousPath: 'moved-from.ts', changeType: 'modified', additions: 1, deletions: 1 },
        { path: 'run.sh', changeType: 'modified', additions: 0, deletions: 0 },
      ]),
    );
    expect(parsed.summary).toEqual({ totalFiles: 5, created: 1, modified: 3, deleted: 1, additions: 4, deletions: 3 });
  });

  it('an empty patch is an empty change', () => {
    expect(changeSet('').parsed()).toEqual({
      files: [],
      summary: { totalFiles: 0, created: 0, modified: 0, deleted: 0, additions: 0, deletions: 0 },
    });
  });
});

describe('generatedFiles() and the outcome', () => {
  const view = (outputs: SessionView['outputs']) =>
    ({ id: 's-1', title: 'Fix rate', state: 'completed', summary: 'fixed', outputs }) as unknown as SessionView;

  it('gives a created file its whole content, and is reached from result() like in Jules', () => {
    const outcome = outcomeOf(
      view([
        { type: 'changeSet', gitPatch: { unidiffPatch: patch, baseCommitId: base } },
        { type: 'pullRequest', pullRequest: { url: 'https://github.com/acme/api/pull/7', title: 'Fix rate', description: 'd' } },
      ]),
    );
    expect(outcome.pullRequest).toEqual({ url: 'https://github.com/acme/api/pull/7', title: 'Fix rate', description: 'd' });
    expect(outcome.changeSet()?.baseCommitId).toBe(base);
    const files = outcome.generatedFiles();
    expect(files.get('src/rate.test.ts')?.content).toBe(readFileSync(path.join(repo, 'src/rate.test.ts'), 'utf8'));
    expect(files.filter('created').map((f) => f.path)).toEqual(['src/rate.test.ts']);
    expect(files.get('src/rate.ts')?.content).toBe('  return total === 0 ? 0 : errors / total;');
    // The methods stay out of JSON: an outcome serialises as data.
    expect(Object.keys(JSON.parse(JSON.stringify(outcome)))).not.toContain('changeSet');
  });

  it('an outcome without a change has none', () => {
    const outcome = outcomeOf(view([]));
    expect(outcome.changeSet()).toBeUndefined();
    expect(outcome.generatedFiles().all()).toEqual([]);
  });
});

describe('save(dir)', () => {
  it('turns a checkout of the base commit into the changed tree, and a second save changes nothing', async () => {
    const dir = checkoutOfBase();
    const change = changeSet(patch);
    const saved = await change.save(dir);
    expect(saved.written.sort()).toEqual(['moved-to.ts', 'run.sh', 'src/rate.test.ts', 'src/rate.ts']);
    expect(saved.deleted.sort()).toEqual(['moved-from.ts', 'old.txt']);
    expect(tree(dir)).toEqual(tree(repo));
    expect(statSync(path.join(dir, 'run.sh')).mode & 0o111).not.toBe(0);
    // git agrees: the saved tree is the change.
    git(dir, 'add', '-A');
    expect(git(dir, 'diff', '--cached', '-M', base)).toBe(patch);
    const again = await change.save(dir);
    expect(tree(dir)).toEqual(tree(repo));
    expect(again.deleted).toEqual([]);
  });

  it('refuses a tree that is not at the base commit, naming the file, and writes nothing', async () => {
    const dir = checkoutOfBase();
    writeFileSync(path.join(dir, 'src/rate.ts'), 'something else entirely\n');
    const before = tree(dir);
    const error = await changeSet(patch)
      .save(dir)
      .catch((e: unknown) => e);
    expect(ChangeSetError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ path: 'src/rate.ts', message: expect.stringMatching(/does not apply to src\/rate\.ts/) });
    expect(tree(dir)).toEqual(before);
  });

  const created = (file: string) =>
    `diff --git a/${file} b/${file}\nnew file mode 100644\n--- /dev/null\n+++ b/${file}\n@@ -0,0 +1 @@\n+pwned\n`;

  it.each([
    ['a parent directory', '../escaped.txt'],
    ['a nested parent directory', 'src/../../escaped.txt'],
    ['the .git directory', '.git/hooks/post-checkout'],
    ['an absolute path', '/tmp/andon-escaped.txt'],
  ])('refuses a path into %s before writing anything', async (_what, file) => {
    const dir = checkoutOfBase();
    const before = tree(dir);
    const both = created('fine.txt') + created(file);
    await expect(changeSet(both).save(dir)).rejects.toThrow(/refusing/);
    expect(tree(dir)).toEqual(before);
    expect(existsSync(path.join(tmp, 'escaped.txt'))).toBe(false);
    expect(existsSync('/tmp/andon-escaped.txt')).toBe(false);
  });

  it('refuses to write through a symbolic link that leads out of the directory', async () => {
    const dir = checkoutOfBase();
    const outside = mkdtempSync(path.join(tmp, 'outside-'));
    symlinkSync(outside, path.join(dir, 'link'));
    await expect(changeSet(created('link/x.txt')).save(dir)).rejects.toThrow(/symbolic link/);
    expect(readdirSync(outside)).toEqual([]);
  });
});
