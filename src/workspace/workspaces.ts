import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { SessionId, SessionSource, type ChangedFile } from '../session/schema';
import { WorkspaceConfig, type WorkspaceConfigInput } from './config';
import { WorkspaceError } from './errors';
import { Git, GitCommandError } from './git';
import { withLock } from './lock';
import { COMMIT_ID, Mirror, localError } from './mirror';
import { locate, type Location } from './sources';
import { Tree } from './tree';

/** `andon/<sessionId>`, with what git refuses in a branch name (`:`, `..`, a trailing `.`/`.lock`) replaced. */
export function sessionBranch(sessionId: string): string {
  const safe = sessionId
    .replace(/:/g, '-')
    .replace(/\.{2,}/g, '-')
    .replace(/\.lock$/i, '-lock')
    .replace(/\.$/, '-');
  return `andon/${safe}`;
}

/**
 * Code sessions' working trees on one worker. `prepare` checks scope and resolves the base commit;
 * `open` gives the tree at base + recorded patch (reused or rebuilt); `capture` records what a step
 * changed; `publish` pushes one deterministic commit to `andon/<session>`; `remove` drops the tree.
 */
export class Workspaces {
  readonly config: WorkspaceConfig;
  readonly dataDir: string;
  private readonly env: NodeJS.ProcessEnv;

  /**
   * @param options.env where the GitHub token (config.github.tokenEnv) and git's own environment come from (default: process.env)
   * @param options.root the worker's data directory: the default dataDir is `<root>/workspaces` (root default: `data`)
   */
  constructor(config: WorkspaceConfig | WorkspaceConfigInput, options: { env?: NodeJS.ProcessEnv; root?: string } = {}) {
    this.config = WorkspaceConfig.parse(config);
    this.env = options.env ?? process.env;
    this.dataDir = path.resolve(this.config.dataDir ?? path.join(options.root ?? 'data', 'workspaces'));
  }

  /** Scope check + fetch into the per-repo mirror cache + resolve branch (unset: default branch). */
  async prepare(source: SessionSource, o: { signal?: AbortSignal } = {}): Promise<{ branch: string; baseCommit: string }> {
    const { location, mirror } = this.parts(source);
    const resolved = await mirror.resolve(source.branch, o.signal);
    let baseCommit = resolved.commit;
    if (!(await mirror.has(baseCommit, o.signal))) {
      baseCommit = await mirror.fetch(resolved.branch, { signal: o.signal, isDefault: !source.branch, want: resolved.commit });
    }
    const max = this.config.limits.maxTreeBytes;
    if (max !== undefined) {
      const bytes = await mirror.treeBytes(baseCommit, o.signal);
      if (bytes > max) {
        throw new WorkspaceError(
          'SourceUnavailable',
          `source ${location.label}: a checkout of ${resolved.branch} is ${bytes} bytes, over workspace.limits.maxTreeBytes (${max})`,
        );
      }
    }
    return { branch: resolved.branch, baseCommit };
  }

  /**
   * The session's working tree on this worker at `baseCommit` + `patch` (the cumulative change so
   * far, as the workflow recorded it). Reused when it already matches, else rebuilt: another worker
   * ran the session before, or this one died mid-step. Answers the path and the git tree id of that
   * state (`before`, for capture).
   */
  async open(
    sessionId: string,
    source: SessionSource,
    baseCommit: string,
    patch: string | undefined,
    o: { signal?: AbortSignal } = {},
  ): Promise<{ path: string; tree: string; branch?: string }> {
    checkCommit(baseCommit, 'baseCommit');
    const { mirror, git } = this.parts(source);
    const tree = this.tree(sessionId, git);
    await mirror.ensureCommit(baseCommit, source.branch, o.signal);
    return this.sessionLocked(
      sessionId,
      async () => {
        const want = patch ?? '';
        const head = await tree.head(o.signal);
        if (head === baseCommit) {
          try {
            const state = await tree.snapshot(o.signal);
            const current = await tree.diff(baseCommit, state, Math.max(this.config.limits.maxChangeBytes, want.length) * 2, o.signal);
            if (current === want) return { path: tree.dir, tree: state, ...(source.branch ? { branch: source.branch } : {}) };
          } catch (error) {
            if (o.signal?.aborted) throw error;
            // Whatever a dead step left (too large, not UTF-8, a damaged index): rebuilt below.
          }
        }
        if (head === undefined) await tree.create(mirror.dir, o.signal);
        let state: string;
        try {
          state = await tree.restore(baseCommit, patch, { signal: o.signal, fresh: head === undefined });
        } catch (error) {
          if (head === undefined || (WorkspaceError.isInstance(error) && !error.retryable)) throw error;
          await tree.create(mirror.dir, o.signal); // a damaged tree: start over once
          state = await tree.restore(baseCommit, patch, { signal: o.signal, fresh: true });
        }
        return { path: tree.dir, tree: state, ...(source.branch ? { branch: source.branch } : {}) };
      },
      o.signal,
    );
  }

  /** What changed in the tree since `before`: the step's own patch, the cumulative patch from base, file stats. */
  async capture(
    sessionId: string,
    baseCommit: string,
    before: string,
    o: { signal?: AbortSignal } = {},
  ): Promise<{ tree: string; changed: boolean; stepPatch: string; patch: string; files: ChangedFile[] }> {
    checkCommit(baseCommit, 'baseCommit');
    checkCommit(before, 'before');
    const tree = this.tree(sessionId, this.git([]));
    return this.sessionLocked(
      sessionId,
      async () => {
        if ((await tree.head(o.signal)) === undefined) {
          throw new WorkspaceError('GitFailed', `session ${sessionId} has no working tree on this worker (open it first)`, {
            retryable: true,
          });
        }
        const after = await tree.snapshot(o.signal);
        const max = this.config.limits.maxChangeBytes;
        const patch = await tree.diff(baseCommit, after, max, o.signal);
        const changed = after !== before;
        // The step's own diff is bounded generously: only the cumulative patch is recorded for good.
        const stepPatch = changed ? await tree.diff(before, after, max * 4, o.signal) : '';
        const files = patch ? await tree.files(baseCommit, after, o.signal) : [];
        return { tree: after, changed, stepPatch, patch, files };
      },
      o.signal,
    );
  }

  /**
   * Commits base + patch as ONE commit with a deterministic id (author, committer and date from the
   * configuration and the arguments, so a retry makes the same commit) on `andon/<sessionId>`, and
   * pushes it. Idempotent: the remote branch already at that commit is success; at another commit,
   * PushRejected (never a force push).
   */
  async publish(
    sessionId: string,
    source: SessionSource,
    change: { baseCommit: string; patch: string; message: string; date: string },
    o: { signal?: AbortSignal } = {},
  ): Promise<{ branch: string; commit: string }> {
    checkSessionId(sessionId);
    checkCommit(change.baseCommit, 'change.baseCommit');
    const when = Date.parse(change.date);
    if (!Number.isFinite(when))
      throw new WorkspaceError('GitFailed', `change.date: expected an ISO 8601 date, got ${JSON.stringify(change.date)}`);
    if (!change.message.trim()) throw new WorkspaceError('GitFailed', 'change.message: expected a commit message');
    const { location, git, mirror } = this.parts(source);
    await mirror.ensureCommit(change.baseCommit, source.branch, o.signal);
    const commit = await this.commit(mirror, git, { ...change, when }, o.signal);
    const branch = sessionBranch(sessionId);
    const ref = `refs/heads/${branch}`;
    const remoteAt = async () => {
      const { stdout } = await this.remoteGit(git, location, ['ls-remote', '--', location.url, ref], mirror.dir, o.signal);
      return /^([0-9a-f]+)\t/m.exec(stdout)?.[1];
    };
    const rejected = (at: string) =>
      new WorkspaceError(
        'PushRejected',
        `branch ${branch} of source ${location.label} is already at commit ${at}, not this session's ${commit}; it was not overwritten`,
      );
    const before = await remoteAt();
    if (before === commit) return { branch, commit };
    if (before !== undefined) throw rejected(before);
    try {
      await this.remoteGit(git, location, ['push', '--quiet', '--no-verify', '--', location.url, `${commit}:${ref}`], mirror.dir, o.signal);
    } catch (error) {
      // Lost a race with another attempt: fine if it pushed the same commit.
      const now = await remoteAt().catch(() => undefined);
      if (now === commit) return { branch, commit };
      if (now !== undefined) throw rejected(now);
      throw error;
    }
    return { branch, commit };
  }

  /** Removes the session's tree (the mirror stays). */
  async remove(sessionId: string): Promise<void> {
    checkSessionId(sessionId);
    await this.sessionLocked(sessionId, () => fs.rm(path.join(this.dataDir, 'trees', sessionId), { recursive: true, force: true }));
  }

  // ---- internals ---------------------------------------------------------------------------------

  private parts(input: SessionSource): { location: Location; git: Git; mirror: Mirror } {
    const parsed = SessionSource.safeParse(input);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const field = ['source', ...(issue?.path ?? []).map(String)].join('.');
      throw new WorkspaceError('SourceNotAllowed', `${field}: ${issue?.message ?? 'invalid source'}`);
    }
    const source: SessionSource = parsed.data;
    const location = locate(source, this.config, this.env);
    const git = this.git(location.secrets);
    const mirror = new Mirror(path.join(this.dataDir, 'mirrors'), location, git, this.config.limits.gitTimeoutMs);
    return { location, git, mirror };
  }

  private git(secrets: string[]): Git {
    return new Git({ env: this.env, secrets, timeoutMs: this.config.limits.gitTimeoutMs });
  }

  private tree(sessionId: string, git: Git): Tree {
    checkSessionId(sessionId);
    return new Tree(path.join(this.dataDir, 'trees', sessionId), git);
  }

  private async sessionLocked<T>(sessionId: string, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const dir = path.join(this.dataDir, 'trees');
    await fs.mkdir(dir, { recursive: true });
    const timeout = this.config.limits.gitTimeoutMs;
    return withLock(path.join(dir, `${sessionId}.lock`), fn, { waitMs: timeout, staleMs: timeout * 2, signal });
  }

  /** base + patch as one commit, in the mirror with a throwaway index: the same inputs give the same id. */
  private async commit(
    mirror: Mirror,
    git: Git,
    change: { baseCommit: string; patch: string; message: string; when: number },
    signal?: AbortSignal,
  ): Promise<string> {
    const index = path.join(os.tmpdir(), `andon-index-${process.pid}-${randomBytes(6).toString('hex')}`);
    const env = { GIT_INDEX_FILE: index };
    try {
      await git.run(['read-tree', '--end-of-options', change.baseCommit], { gitDir: mirror.dir, env, signal });
      if (change.patch) {
        await git
          .run(['apply', '--cached', '--binary', '--whitespace=nowarn', '-'], { gitDir: mirror.dir, env, input: change.patch, signal })
          .catch((error: unknown) => {
            throw localError(error, `the change does not apply to base commit ${change.baseCommit}`, false);
          });
      }
      const tree = (await git.run(['write-tree'], { gitDir: mirror.dir, env, signal })).stdout.trim();
      const { name, email } = this.config.author;
      const date = `${Math.floor(change.when / 1000)} +0000`;
      const { stdout } = await git.run(['commit-tree', '--no-gpg-sign', '-p', change.baseCommit, '-F', '-', '--end-of-options', tree], {
        gitDir: mirror.dir,
        input: change.message.endsWith('\n') ? change.message : `${change.message}\n`,
        env: {
          GIT_AUTHOR_NAME: name,
          GIT_AUTHOR_EMAIL: email,
          GIT_AUTHOR_DATE: date,
          GIT_COMMITTER_NAME: name,
          GIT_COMMITTER_EMAIL: email,
          GIT_COMMITTER_DATE: date,
        },
        signal,
      });
      return stdout.trim();
    } catch (error) {
      throw localError(error, 'making the commit');
    } finally {
      await fs.rm(index, { force: true });
    }
  }

  private async remoteGit(git: Git, location: Location, args: string[], gitDir: string, signal?: AbortSignal) {
    try {
      return await git.run(args, { gitDir, config: location.config, signal });
    } catch (error) {
      if (!(error instanceof GitCommandError)) throw error;
      throw new WorkspaceError('GitFailed', `source ${location.label}: ${error.message}`, {
        retryable: error.kind !== 'notFound',
      });
    }
  }
}

function checkSessionId(sessionId: string): void {
  const parsed = SessionId.safeParse(sessionId);
  if (!parsed.success) throw new WorkspaceError('GitFailed', `sessionId: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
}

function checkCommit(commit: string, field: string): void {
  if (!COMMIT_ID.test(commit))
    throw new WorkspaceError('GitFailed', `${field}: expected a full commit id (40 hex digits), got ${JSON.stringify(commit)}`);
}
