/**
 * The working tree side of code sessions (docs/code-sessions.md), for the session activities:
 * prepare the tree, open it for an agent call (rebuilt from base + the recorded patch when this
 * worker does not have it as recorded), capture what a step changed, publish the change.
 *
 * The workflow never sees the tree: it sends `code` (source, base, the cumulative patch) with an
 * activity's input, and records the `change` the activity returns. Credentials never leave the
 * worker: git uses the worker's own, and the GitHub token is read from its environment here.
 * Git work heartbeats like agent calls do, so a worker that dies mid-clone is noticed in seconds.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { WorkspaceFacts } from '../src/agents/agent';
import { AGENT_REJECTED, PUBLISH_FAILED, SOURCE_UNAVAILABLE, STEP_FAILED } from '../src/protocol/failures';
import { describeSource, type ChangedFile, type SessionSource } from '../src/session/schema';
import { GitHubPullRequests, PullRequestError } from '../src/workspace/pull-requests';
import { WorkspaceError, githubRepo, type WorkspaceConfig, type Workspaces } from '../src/workspace';

/** What an activity of a code session is told about its tree: enough to open it on any worker. */
export interface CodeContext {
  source: SessionSource;
  branch: string;
  baseCommit: string;
  /** The cumulative change so far ('' for none). */
  patch: string;
}

/** What a step (or a tool call) changed: its own diff, the new cumulative one, and the files. */
export interface CodeChange {
  patch: string;
  stepPatch: string;
  files: ChangedFile[];
}

export interface PublishRequest {
  sessionId: string;
  source: SessionSource;
  baseCommit: string;
  patch: string;
  message: string;
  /** The commit's date: the session's completion time, fixed before the first attempt. */
  date: string;
  /** Set in pullRequest mode. */
  pullRequest?: { title: string; body: string; base: string; draft: boolean };
}

export interface PublishResult {
  branch: string;
  commit: string;
  pullRequest?: { url: string; title: string; description: string };
}

/** The worker's code-session equipment: its workspaces, and how it reaches GitHub. */
export interface CodeWorkspaces {
  workspaces: Workspaces;
  config: WorkspaceConfig;
  env: NodeJS.ProcessEnv;
}

const HEARTBEAT_EVERY_MS = 1_000;

/** Runs git work with heartbeats (cancellation reaches the activity only in a heartbeat's answer). */
export async function heartbeating<T>(run: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const context = Context.current();
  const ticker = context.info.isLocal ? undefined : setInterval(() => context.heartbeat(), HEARTBEAT_EVERY_MS);
  try {
    return await run(context.cancellationSignal);
  } finally {
    if (ticker) clearInterval(ticker);
  }
}

/** Resolves the source's branch and base commit (fetching it into the worker's mirror); a bad source fails the session. */
export async function prepareWorkspace(
  code: CodeWorkspaces,
  request: { sessionId: string; source: SessionSource },
): Promise<{ branch: string; baseCommit: string }> {
  try {
    return await heartbeating((signal) => code.workspaces.prepare(request.source, { signal }));
  } catch (error) {
    throw workspaceFailure(error, `cannot prepare ${describeSource(request.source)}`, SOURCE_UNAVAILABLE);
  }
}

/** Opens the session's tree as recorded; returns the facts the agent is given and the tree id to capture against. */
export async function openTree(
  code: CodeWorkspaces,
  sessionId: string,
  context: CodeContext,
): Promise<{ facts: WorkspaceFacts; tree: string }> {
  try {
    const opened = await heartbeating((signal) =>
      code.workspaces.open(sessionId, context.source, context.baseCommit, context.patch || undefined, { signal }),
    );
    return {
      facts: { path: opened.path, source: describeSource(context.source), branch: context.branch, baseCommit: context.baseCommit },
      tree: opened.tree,
    };
  } catch (error) {
    throw workspaceFailure(error, `cannot open the working tree of ${describeSource(context.source)}`, SOURCE_UNAVAILABLE);
  }
}

/**
 * What changed since `before`. A change too large to carry, or one outside the tree, is a step
 * failure a person decides (retry, skip, abort): the recorded patch is untouched, so a retry
 * starts again from it.
 */
export async function captureChange(
  code: CodeWorkspaces,
  sessionId: string,
  context: CodeContext,
  before: string,
): Promise<CodeChange | undefined> {
  try {
    const captured = await heartbeating(() => code.workspaces.capture(sessionId, context.baseCommit, before));
    return captured.changed ? { patch: captured.patch, stepPatch: captured.stepPatch, files: captured.files } : undefined;
  } catch (error) {
    if (WorkspaceError.isInstance(error) && (error.code === 'ChangeTooLarge' || error.code === 'PathOutsideTree')) {
      throw ApplicationFailure.create({ message: error.message, type: AGENT_REJECTED, nonRetryable: true, details: [STEP_FAILED] });
    }
    throw workspaceFailure(error, `cannot record the change in ${describeSource(context.source)}`, SOURCE_UNAVAILABLE);
  }
}

/** The whole diff of a tool step: from the patch it started at to the current one (both rebuilt here if need be). */
export async function stepChange(
  code: CodeWorkspaces,
  request: { sessionId: string; code: CodeContext; patch: string },
): Promise<{ stepPatch: string }> {
  const start = await openTree(code, request.sessionId, request.code);
  await openTree(code, request.sessionId, { ...request.code, patch: request.patch });
  const change = await captureChange(code, request.sessionId, { ...request.code, patch: request.patch }, start.tree);
  return { stepPatch: change?.stepPatch ?? '' };
}

/**
 * Pushes the change as one commit on `andon/<session-id>` (the same commit on every retry) and, in
 * pullRequest mode, finds or opens the pull request. Permanent failures fail the session with the
 * reason; rate limits are retried when GitHub says.
 */
export async function publishChanges(code: CodeWorkspaces, request: PublishRequest): Promise<PublishResult> {
  const where = describeSource(request.source);
  let pushed: { branch: string; commit: string };
  try {
    pushed = await heartbeating((signal) =>
      code.workspaces.publish(
        request.sessionId,
        request.source,
        { baseCommit: request.baseCommit, patch: request.patch, message: request.message, date: request.date },
        { signal },
      ),
    );
  } catch (error) {
    throw workspaceFailure(error, `cannot push the change to ${where}`, PUBLISH_FAILED);
  }
  const pr = request.pullRequest;
  if (!pr) return pushed;
  const repo = githubRepo(request.source);
  if (!repo) throw ApplicationFailure.nonRetryable(`cannot open a pull request for ${where}: not a GitHub repository`, PUBLISH_FAILED);
  const tokenEnv = code.config.github.tokenEnv;
  const token = code.env[tokenEnv];
  if (!token) {
    throw ApplicationFailure.nonRetryable(
      `cannot open a pull request for ${where}: the worker has no GitHub token (set ${tokenEnv} in its environment); the branch ${pushed.branch} was pushed`,
      PUBLISH_FAILED,
    );
  }
  try {
    const client = new GitHubPullRequests({ token, apiUrl: code.config.github.apiUrl, userAgent: 'andon' });
    const opened = await heartbeating((signal) =>
      client.ensure({ ...repo, head: pushed.branch, base: pr.base, title: pr.title, body: pr.body, draft: pr.draft }, { signal }),
    );
    return { ...pushed, pullRequest: { url: opened.url, title: opened.title, description: opened.description } };
  } catch (error) {
    if (!PullRequestError.isInstance(error)) throw error;
    const message = `cannot open a pull request for ${where} (branch ${pushed.branch}): ${error.message}`;
    if (!error.retryable) throw ApplicationFailure.create({ message, type: PUBLISH_FAILED, nonRetryable: true, details: [error.code] });
    // A rate limit says when to come back: Temporal waits that long instead of its own backoff.
    throw ApplicationFailure.create({ message, type: error.code, nextRetryDelay: error.retryAfterMs });
  }
}

/** A workspace error as a Temporal failure: permanent ones with `type`, passing ones retried. */
function workspaceFailure(error: unknown, what: string, type: string): unknown {
  if (!WorkspaceError.isInstance(error)) return error;
  const message = `${what}: ${error.message}`;
  if (!error.retryable) return ApplicationFailure.create({ message, type, nonRetryable: true, details: [error.code] });
  return ApplicationFailure.create({ message, type: error.code });
}
