import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { WorkspaceError } from './errors';
import { Git, GitCommandError } from './git';
import { withLock } from './lock';
import type { Location } from './sources';

export const COMMIT_ID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

/**
 * The per-repository bare mirror cache: `<dataDir>/mirrors/<sha256 of the location>`. Fetches run
 * under the mirror's lock; only the branches sessions use are fetched. Session trees borrow its
 * objects (`clone --shared`), so it is never garbage-collected (gc.auto=0, gc.pruneExpire=never).
 */
export class Mirror {
  readonly dir: string;
  private readonly lockFile: string;

  constructor(
    root: string,
    private readonly location: Location,
    private readonly git: Git,
    private readonly timeoutMs: number,
  ) {
    this.dir = path.join(root, createHash('sha256').update(location.url).digest('hex'));
    this.lockFile = `${this.dir}.lock`;
  }

  /** Runs `fn` holding this mirror's lock (fetches, and anything else that must not overlap them). */
  locked<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    return withLock(this.lockFile, fn, { waitMs: this.timeoutMs, staleMs: this.timeoutMs * 2, signal });
  }

  /** The bare repository, created on first use (initialised aside, then renamed into place). */
  async ensure(signal?: AbortSignal): Promise<void> {
    if (await exists(path.join(this.dir, 'HEAD'))) return;
    await fs.mkdir(path.dirname(this.dir), { recursive: true });
    await this.locked(async () => {
      if (await exists(path.join(this.dir, 'HEAD'))) return;
      const aside = `${this.dir}.new-${randomBytes(4).toString('hex')}`;
      try {
        await this.git.run(['-c', 'init.defaultBranch=main', 'init', '--quiet', '--bare', '--template=', '--', aside], {
          cwd: path.dirname(aside),
          signal,
        });
        await fs.appendFile(path.join(aside, 'config'), '[gc]\n\tauto = 0\n\tpruneExpire = never\n');
        await fs.rm(this.dir, { recursive: true, force: true });
        await fs.rename(aside, this.dir);
      } catch (error) {
        await fs.rm(aside, { recursive: true, force: true });
        throw localError(error, 'creating the repository mirror');
      }
    }, signal);
  }

  /** The branch (unset: the remote's default) and its commit, as the remote has them now. */
  async resolve(branch: string | undefined, signal?: AbortSignal): Promise<{ branch: string; commit: string }> {
    const patterns = branch ? [`refs/heads/${branch}`] : ['HEAD'];
    await this.ensure(signal);
    const { stdout } = await this.remote(['ls-remote', '--symref', '--', this.location.url, ...patterns], signal);
    const lines = stdout.split('\n').filter(Boolean);
    if (!branch) {
      const symref = lines.map((line) => /^ref: refs\/heads\/(\S+)\tHEAD$/.exec(line)).find(Boolean);
      if (!symref) {
        throw new WorkspaceError(
          'BranchNotFound',
          `source ${this.location.label} has no default branch (an empty repository?); name a branch`,
        );
      }
      branch = symref[1]!;
      const head = lines.map((line) => /^([0-9a-f]+)\tHEAD$/.exec(line)).find(Boolean);
      if (head) return { branch, commit: head[1]! };
      return this.resolve(branch, signal);
    }
    const ref = lines.map((line) => /^([0-9a-f]+)\t(\S+)$/.exec(line)).find((match) => match?.[2] === `refs/heads/${branch}`);
    if (!ref) throw new WorkspaceError('BranchNotFound', `branch "${branch}" does not exist in source ${this.location.label}`);
    return { branch, commit: ref[1]! };
  }

  /** Fetches one branch into the mirror (under the lock) and answers its commit there (`want`, if present already). */
  async fetch(branch: string, o: { signal?: AbortSignal; isDefault?: boolean; want?: string } = {}): Promise<string> {
    await this.ensure(o.signal);
    return this.locked(async () => {
      // Another session fetched it while this one waited for the lock.
      if (o.want && (await this.has(o.want, o.signal))) return o.want;
      const ref = `refs/heads/${branch}`;
      await this.remote(['fetch', ...FETCH_FLAGS, '--', this.location.url, `+${ref}:${ref}`], o.signal);
      if (o.isDefault) await this.git.run(['symbolic-ref', 'HEAD', ref], { gitDir: this.dir, signal: o.signal }).catch(() => undefined);
      const { stdout } = await this.git.run(['rev-parse', '--verify', '--end-of-options', `${ref}^{commit}`], {
        gitDir: this.dir,
        signal: o.signal,
      });
      return stdout.trim();
    }, o.signal);
  }

  async has(commit: string, signal?: AbortSignal): Promise<boolean> {
    if (!(await exists(path.join(this.dir, 'HEAD')))) return false;
    try {
      await this.git.run(['cat-file', '-e', `${commit}^{commit}`], { gitDir: this.dir, signal });
      return true;
    } catch (error) {
      if (error instanceof GitCommandError && (error.kind === 'aborted' || error.kind === 'timeout'))
        throw localError(error, 'reading the mirror');
      return false;
    }
  }

  /**
   * Makes sure the mirror holds `commit` (another worker prepared the session, or the cache was
   * cleared): the session's branch first, then the commit itself, then every branch.
   */
  async ensureCommit(commit: string, branch: string | undefined, signal?: AbortSignal): Promise<void> {
    if (await this.has(commit, signal)) return;
    try {
      const resolved = await this.resolve(branch, signal);
      await this.fetch(resolved.branch, { signal, isDefault: !branch, want: commit });
    } catch (error) {
      // The branch is gone since the session started: the commit may still be on another.
      if (!WorkspaceError.isInstance(error) || error.code !== 'BranchNotFound') throw error;
    }
    if (await this.has(commit, signal)) return;
    await this.locked(async () => {
      try {
        await this.remote(['fetch', ...FETCH_FLAGS, '--', this.location.url, commit], signal);
      } catch (error) {
        // Servers may refuse a commit id that is no branch tip ("not our ref"): every branch next.
        if (!WorkspaceError.isInstance(error) || error.code !== 'SourceUnavailable') throw error;
      }
      if (await this.has(commit, signal)) return;
      await this.remote(['fetch', ...FETCH_FLAGS, '--', this.location.url, '+refs/heads/*:refs/heads/*'], signal);
    }, signal);
    if (!(await this.has(commit, signal))) {
      throw new WorkspaceError('SourceUnavailable', `base commit ${commit} is no longer in source ${this.location.label}`);
    }
  }

  /** Bytes of the files a checkout of `commit` would write (blob sizes). */
  async treeBytes(commit: string, signal?: AbortSignal): Promise<number> {
    const { stdout } = await this.git
      .run(['ls-tree', '-r', '-l', '-z', '--end-of-options', commit], { gitDir: this.dir, signal })
      .catch((error: unknown) => {
        throw localError(error, 'measuring the checkout');
      });
    let total = 0;
    for (const entry of stdout.split('\0')) {
      const size = /^\d+ blob [0-9a-f]+\s+(\d+)\t/.exec(entry);
      if (size) total += Number(size[1]);
    }
    return total;
  }

  /** A command that talks to the remote: its failure is the source's (SourceUnavailable, retryable on network errors). */
  private async remote(args: string[], signal: AbortSignal | undefined) {
    try {
      // Always inside the mirror, so no enclosing repository's configuration applies.
      return await this.git.run(args, { gitDir: this.dir, config: this.location.config, signal });
    } catch (error) {
      if (!(error instanceof GitCommandError)) throw error;
      if (error.kind === 'aborted')
        throw new WorkspaceError('GitFailed', `${error.message} (source ${this.location.label})`, { retryable: true });
      const reach = error.kind === 'notFound' ? 'is not a repository this worker can read' : 'could not be reached';
      throw new WorkspaceError('SourceUnavailable', `source ${this.location.label} ${reach}: ${error.message}`, {
        retryable: error.kind !== 'notFound',
      });
    }
  }
}

const FETCH_FLAGS = ['--quiet', '--no-tags', '--no-write-fetch-head', '--no-auto-gc', '--no-recurse-submodules', '--update-head-ok'];

/** A local git failure: GitFailed, retryable unless the input was at fault. */
export function localError(error: unknown, doing: string, retryable = true): unknown {
  if (WorkspaceError.isInstance(error)) return error;
  if (error instanceof GitCommandError) {
    return new WorkspaceError('GitFailed', `${doing}: ${error.message}`, {
      retryable: error.kind === 'aborted' || error.kind === 'timeout' || retryable,
    });
  }
  return error;
}

export async function exists(file: string): Promise<boolean> {
  try {
    await fs.access(file);
    return true;
  } catch {
    return false;
  }
}
