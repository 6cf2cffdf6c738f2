/**
 * The rules of a code session (a session with a `source`, docs/code-sessions.md): its working tree
 * is prepared before planning, each step's change is recorded as a patch (the durable form of the
 * tree), the final change set goes into the outputs, and is published (optionally after approval).
 * Plain functions over the session record, like the other rule modules: no Temporal API.
 */
import type { CodeChange, CodeContext, PublishRequest, PublishResult } from '../../activities/workspace';
import type { StepResult } from '../../src/agents/agent';
import { describeSource, publishMode, type Artifact, type Output, type Plan, type SessionSource } from '../../src/session/schema';
import { personOf } from '../../src/session/approval';
import { changeSetHash, sourceOf } from './change-set';
import { end, recordEvent, setState, type Session, type WorkspaceRecord } from './record';
import { complete } from './progress';

/** The session's source when it is a code session (sources of the old `{ repo }` shape were never used). */
export function codeSource(s: Session): SessionSource | undefined {
  if (!s.rules.codeSessions) return undefined;
  return sourceOf(s.config.source);
}

/** The session must prepare its tree before it plans. */
export function needsWorkspace(s: Session): boolean {
  return codeSource(s) !== undefined && s.record.workspace === undefined;
}

/** The tree is ready on the worker: the session records where it starts, and plans. */
export function applyWorkspacePrepared(s: Session, prepared: { branch: string; baseCommit: string }, now: Date): void {
  const source = codeSource(s)!;
  s.record.workspace = { branch: prepared.branch, baseCommit: prepared.baseCommit, patch: '', files: [] };
  recordEvent(s, { type: 'workspacePrepared', originator: 'system', source: describeSource(source), ...prepared }, now);
  setState(s, 'planning', now);
}

/** What an activity needs to open the session's tree on its worker; undefined outside code sessions. */
export function codeContext(s: Session, patch?: string): CodeContext | undefined {
  const source = codeSource(s);
  const w = s.record.workspace;
  if (!source || !w) return undefined;
  return { source, branch: w.branch, baseCommit: w.baseCommit, patch: patch ?? w.patch };
}

/** The tree changed: the cumulative patch and the file list follow it. */
export function applyChange(s: Session, change: Pick<CodeChange, 'patch' | 'files'>): void {
  const w = s.record.workspace;
  if (!w) return;
  w.patch = change.patch;
  w.files = change.files;
}

/** A step's change, as the `changeSet` artifact on its progressUpdated event (Jules' shape). */
export function changeSetArtifact(s: Session, stepPatch: string, message: string): Artifact {
  const w = s.record.workspace!;
  return {
    type: 'changeSet',
    source: describeSource(codeSource(s)!),
    gitPatch: { unidiffPatch: stepPatch, baseCommitId: w.baseCommit, suggestedCommitMessage: message },
  };
}

/** A step's result with its change recorded and attached as an artifact. */
export function withStepChange<R extends Pick<StepResult, 'artifacts'>>(s: Session, title: string, result: R & { change?: CodeChange }): R {
  const change = result.change;
  if (!change || !s.record.workspace) return result;
  applyChange(s, change);
  if (!change.stepPatch) return result;
  return { ...result, artifacts: [...result.artifacts, changeSetArtifact(s, change.stepPatch, title)] };
}

/** A tool step begins: the patch it starts from is kept, so its whole diff can be shown when it ends. */
export function markStepBase(s: Session, stepId: string): void {
  const w = s.record.workspace;
  if (w && w.stepBase?.stepId !== stepId) w.stepBase = { stepId, patch: w.patch };
}

/** The patch the current tool step started from, when the step changed the tree. */
export function stepBaseIfChanged(s: Session, stepId: string): string | undefined {
  const w = s.record.workspace;
  if (!w || w.stepBase?.stepId !== stepId || w.stepBase.patch === w.patch) return undefined;
  return w.stepBase.patch;
}

/** The suggested commit message of the whole change: the session's title, then the steps done. */
export function commitMessage(s: Session): string {
  const steps = s.record.stepOutcomes.map((o) => `- ${o.title}`);
  return [s.config.title, '', ...(steps.length ? [...steps, ''] : []), `andon session ${s.config.id}`].join('\n');
}

/** Stats of the change: files, lines added and deleted. */
export function diffStats(w: Pick<WorkspaceRecord, 'files'>): { files: number; additions: number; deletions: number } {
  return {
    files: w.files.length,
    additions: w.files.reduce((n, f) => n + f.additions, 0),
    deletions: w.files.reduce((n, f) => n + f.deletions, 0),
  };
}

/**
 * The summary is written. A code session's outputs gain the cumulative change set; with a change to
 * publish, the session records when it finished (the commit's date) and publishes, after approval
 * if the policy asks for it; otherwise it completes at once.
 */
export function applySummary(s: Session, summary: string, outputs: Output[], now: Date): void {
  const r = s.record;
  const w = r.workspace;
  if (!codeSource(s) || !w) return complete(s, summary, outputs, now);
  const all: Output[] = w.patch
    ? [
        ...outputs,
        { type: 'changeSet', gitPatch: { unidiffPatch: w.patch, baseCommitId: w.baseCommit, suggestedCommitMessage: commitMessage(s) } },
      ]
    : outputs;
  const mode = publishMode(codeSource(s), s.config.publish);
  if (!w.patch || mode === 'none') {
    const why = !w.patch ? 'the session changed no files: nothing to publish' : 'publish mode is none: the change set is in the outputs';
    recordEvent(s, { type: 'progressUpdated', originator: 'system', title: 'Nothing published', description: why, artifacts: [] }, now);
    return complete(s, summary, all, now);
  }
  r.summary = summary;
  r.outputs = all;
  w.finishedAt = now.toISOString();
  if (s.config.publish?.approveChanges) {
    r.approvals = [];
    r.escalated = false;
    setState(s, 'awaitingChangeApproval', now);
  }
}

/** Whether the session is done with its steps and summary and has a change to publish now. */
export function publishing(s: Session): boolean {
  const w = s.record.workspace;
  return s.record.state === 'inProgress' && w?.finishedAt !== undefined && w.published === undefined;
}

/** What the publish activity is asked to do (the same on every retry: the date is the recorded one). */
export function publishRequest(s: Session): PublishRequest {
  const w = s.record.workspace!;
  const source = codeSource(s)!;
  const mode = publishMode(source, s.config.publish);
  const stats = diffStats(w);
  const body = [
    s.record.summary ?? '',
    '',
    `${stats.files} file${stats.files === 1 ? '' : 's'} changed, +${stats.additions} -${stats.deletions}.`,
    '',
    `Made by andon session \`${s.config.id}\`${s.config.requestedBy ? ` for ${s.config.requestedBy}` : ''}: see it with \`andon view ${s.config.id}\`.`,
  ].join('\n');
  return {
    sessionId: s.config.id,
    source,
    baseCommit: w.baseCommit,
    patch: w.patch,
    message: commitMessage(s),
    date: w.finishedAt!,
    ...(mode === 'pullRequest'
      ? { pullRequest: { title: s.config.title, body, base: w.branch, draft: s.config.publish?.draft ?? false } }
      : {}),
  };
}

/** The change was pushed (and the pull request opened or found): recorded once, then the session completes. */
export function applyPublished(s: Session, result: PublishResult, now: Date): void {
  const r = s.record;
  const w = r.workspace!;
  w.published = { branch: result.branch, commit: result.commit, ...(result.pullRequest ? { pullRequest: result.pullRequest } : {}) };
  recordEvent(
    s,
    {
      type: 'changesPublished',
      originator: 'system',
      branch: result.branch,
      commit: result.commit,
      ...diffStats(w),
      pullRequest: result.pullRequest,
    },
    now,
  );
  const outputs: Output[] = result.pullRequest ? [...r.outputs, { type: 'pullRequest', pullRequest: result.pullRequest }] : r.outputs;
  complete(s, r.summary ?? '', outputs, now);
}

// ---------------------------------------------------------------------------------------------
// The change-approval gate: the plan's approval machinery (policy, required count, deadline)

/** A stale change set: the approver saw another diff than the one awaiting approval. */
export function staleChangeSet(s: Session, hash: string | undefined): string | undefined {
  const w = s.record.workspace;
  if (hash === undefined || !w) return undefined;
  const current = changeSetHash(w.patch);
  return hash === current ? undefined : `the change set changed since it was shown (hash ${hash}, now ${current}): review it again`;
}

/** One more approval of the change set; the last of the required ones sends it to be published. */
export function approveChangesBy(s: Session, by: string, comment: string | undefined, now: Date): void {
  const r = s.record;
  const person = personOf(s.policy, by);
  r.approvals.push({ person, by, time: now.toISOString() });
  if (r.approvals.length < s.policy.required) {
    const planId = (r.plan as Plan).id;
    recordEvent(
      s,
      {
        type: 'approvalRecorded',
        originator: 'user',
        planId,
        by,
        person,
        approvals: r.approvals.length,
        required: s.policy.required,
        comment,
      },
      now,
    );
    return;
  }
  approveChanges(s, by, comment, now);
}

/** The change set is approved (by people, or by a policy's deadline): it is published next. */
export function approveChanges(s: Session, by: string, comment: string | undefined, now: Date): void {
  const hash = changeSetHash(s.record.workspace?.patch ?? '');
  recordEvent(
    s,
    { type: 'changesApproved', originator: by.startsWith('policy:') ? 'system' : 'user', changeSetHash: hash, by, comment },
    now,
  );
  setState(s, 'inProgress', now);
}

/**
 * The change set is rejected: the session completes without publishing it. The change set stays in
 * the outputs (nothing is lost: it can still be applied by hand), and the reason says who decided.
 */
export function rejectChanges(s: Session, by: string, reason: string, now: Date): void {
  const r = s.record;
  const hash = changeSetHash(r.workspace?.patch ?? '');
  recordEvent(
    s,
    { type: 'changesRejected', originator: by.startsWith('policy:') ? 'system' : 'user', changeSetHash: hash, by, reason },
    now,
  );
  r.reason = `change set rejected by ${by}: ${reason}; not published`;
  complete(s, r.summary ?? '', r.outputs, now);
}

/** The approval deadline passed with the change set undecided: the policy's action decides. */
export function changeDeadlinePassed(s: Session, action: 'approve' | 'reject' | 'cancel', now: Date): void {
  const by = 'policy:deadline';
  if (action === 'approve') return approveChanges(s, by, 'no decision before the deadline; approved by the low-risk policy', now);
  if (action === 'reject') return rejectChanges(s, by, 'no decision before the deadline', now);
  end(s, 'cancelled', 'no decision on the change set before the deadline; not published', by, now);
}
