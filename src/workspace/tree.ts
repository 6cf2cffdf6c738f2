import fs from 'node:fs/promises';
import path from 'node:path';
import type { ChangedFile } from '../session/schema';
import { WorkspaceError } from './errors';
import { Git, GitCommandError, type GitRun } from './git';
import { localError } from './mirror';

/**
 * Fixed diff options, whatever the worker's git configuration says, so the same change gives the
 * same patch on every worker (the reuse check compares patches byte for byte). No renames: a
 * rename is a deletion and a creation, which every patch reader applies.
 */
const DIFF = [
  '--binary',
  '--no-color',
  '--no-ext-diff',
  '--no-textconv',
  '--no-renames',
  '--no-relative',
  '-U3',
  '--diff-algorithm=myers',
  '--indent-heuristic',
  '--src-prefix=a/',
  '--dst-prefix=b/',
];

/** All a session tree's repository needs; anything else found in its `.git/config` is dropped. */
const TREE_CONFIG = '[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = false\n\tlogallrefupdates = false\n';

/**
 * One session's working tree, `<dataDir>/trees/<sessionId>`: a `git clone --shared` of the mirror
 * (its own index, refs and config; objects borrowed from the mirror), checked out detached at the
 * base commit. Every command names the tree's own `.git` explicitly (GIT_DIR), never a `.git`
 * found by walking up.
 */
export class Tree {
  readonly gitDir: string;

  constructor(
    readonly dir: string,
    private readonly git: Git,
  ) {
    this.gitDir = path.join(this.dir, '.git');
  }

  private run(args: string[], o: GitRun = {}) {
    return this.git.run(args, { gitDir: this.gitDir, workTree: this.dir, cwd: this.dir, ...o });
  }

  /** A usable tree: `.git` is a real directory (not a file or link an agent could have planted) with a HEAD. */
  async head(signal?: AbortSignal): Promise<string | undefined> {
    try {
      const stat = await fs.lstat(this.gitDir);
      if (!stat.isDirectory()) return undefined;
      await this.secure();
      const { stdout } = await this.run(['rev-parse', '--verify', '--end-of-options', 'HEAD^{commit}'], { signal });
      return stdout.trim();
    } catch (error) {
      if (error instanceof GitCommandError && (error.kind === 'aborted' || error.kind === 'timeout'))
        throw localError(error, 'reading the tree');
      return undefined;
    }
  }

  /**
   * Puts back the repository configuration this library wrote. Commands the agent runs in the tree
   * (a repository's own tests) can write `.git/config`, and a filter, textconv or fsmonitor set there
   * would run in the worker's next `git add`, outside any sandbox; so the tree's config is never
   * trusted, only rewritten. (`commondir` would point git at another repository's config.)
   */
  private async secure(): Promise<void> {
    await fs.writeFile(path.join(this.gitDir, 'config'), TREE_CONFIG);
    await fs.rm(path.join(this.gitDir, 'commondir'), { force: true });
  }

  /** A new tree borrowing the mirror's objects (removing whatever was at the path). */
  async create(mirrorDir: string, signal?: AbortSignal): Promise<void> {
    await fs.rm(this.dir, { recursive: true, force: true });
    await fs.mkdir(path.dirname(this.dir), { recursive: true });
    await this.git
      .run(['clone', '--quiet', '--shared', '--no-checkout', '--template=', '--', mirrorDir, this.dir], {
        cwd: path.dirname(this.dir),
        signal,
      })
      .catch((error: unknown) => {
        throw localError(error, 'creating the working tree');
      });
    await this.secure();
  }

  /**
   * The tree at `base` plus `patch`, nothing else (untracked and ignored files removed; `fresh`: a
   * new clone has none). Answers the git tree id of that state.
   */
  async restore(base: string, patch: string | undefined, o: { signal?: AbortSignal; fresh?: boolean } = {}): Promise<string> {
    const { signal } = o;
    try {
      await this.run(['checkout', '--quiet', '--force', '--detach', base, '--'], { signal });
      if (!o.fresh) await this.run(['clean', '-ffdxq'], { signal });
    } catch (error) {
      throw localError(error, 'resetting the working tree');
    }
    if (patch) {
      try {
        await this.run(['apply', '--index', '--binary', '--whitespace=nowarn', '-'], { input: patch, signal });
      } catch (error) {
        throw localError(error, `the recorded change does not apply to base commit ${base}`, false);
      }
    }
    // Nothing untracked is left, so the index is the whole state: no need to stage (stat) every file.
    try {
      return (await this.run(['write-tree'], { signal })).stdout.trim();
    } catch (error) {
      throw localError(error, 'recording the working tree');
    }
  }

  /** Stages everything (ignored files excepted) and answers the git tree id of the tree's state. */
  async snapshot(signal?: AbortSignal): Promise<string> {
    try {
      await this.run(['add', '--all', '--', '.'], { signal });
      const { stdout } = await this.run(['write-tree'], { signal });
      return stdout.trim();
    } catch (error) {
      throw localError(error, 'recording the working tree');
    }
  }

  /** The binary-safe unified diff from one tree-ish to another; over `maxBytes`: ChangeTooLarge. */
  async diff(from: string, to: string, maxBytes: number, signal?: AbortSignal): Promise<string> {
    let result;
    try {
      result = await this.run(['diff', ...DIFF, from, to, '--'], { signal, maxOutputBytes: maxBytes + 1 });
    } catch (error) {
      if (error instanceof GitCommandError && error.kind === 'tooLarge') throw tooLarge(`more than ${maxBytes}`, maxBytes);
      throw localError(error, 'computing the change');
    }
    if (result.raw.length > maxBytes) throw tooLarge(String(result.raw.length), maxBytes);
    if (!Buffer.from(result.stdout, 'utf8').equals(result.raw)) {
      throw new WorkspaceError('GitFailed', 'the change touches a text file that is not UTF-8, which a recorded patch cannot carry yet');
    }
    return result.stdout;
  }

  /** File by file: created / modified / deleted with line counts (0 for binary files). */
  async files(from: string, to: string, signal?: AbortSignal): Promise<ChangedFile[]> {
    try {
      const [numstat, status] = await Promise.all([
        this.run(['diff', '--numstat', '-z', '--no-renames', '--no-relative', '--no-ext-diff', '--no-textconv', from, to, '--'], {
          signal,
        }),
        this.run(['diff', '--name-status', '-z', '--no-renames', '--no-relative', from, to, '--'], { signal }),
      ]);
      const counts = new Map<string, [number, number]>();
      for (const record of numstat.stdout.split('\0')) {
        const match = /^(\d+|-)\t(\d+|-)\t(.+)$/s.exec(record);
        if (match) counts.set(match[3]!, [match[1] === '-' ? 0 : Number(match[1]), match[2] === '-' ? 0 : Number(match[2])]);
      }
      const fields = status.stdout.split('\0');
      const files: ChangedFile[] = [];
      for (let i = 0; i + 1 < fields.length; i += 2) {
        const letter = fields[i]!;
        const file = fields[i + 1]!;
        const [additions, deletions] = counts.get(file) ?? [0, 0];
        const changeType = letter === 'A' ? 'created' : letter === 'D' ? 'deleted' : 'modified';
        files.push({ path: file, changeType, additions, deletions });
      }
      return files;
    } catch (error) {
      throw localError(error, 'listing the changed files');
    }
  }
}

function tooLarge(size: string, maxBytes: number): WorkspaceError {
  return new WorkspaceError(
    'ChangeTooLarge',
    `the change is ${size} bytes as a patch, over workspace.limits.maxChangeBytes (${maxBytes}): make smaller changes or raise the limit`,
  );
}
