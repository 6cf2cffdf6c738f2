/**
 * The phases only code sessions have (docs/code-sessions.md): preparing the working tree before
 * planning, the whole diff of a tool step, and publishing the change once the summary is written.
 * The rules they apply are in workspace.ts; the git work is in activities/workspace.ts.
 */
import { condition } from '@temporalio/workflow';
import { describeSource, publishMode, type Artifact, type PlanStep } from '../../src/session/schema';
import type { CodeContext } from '../../activities/workspace';
import { activities, publishOptions, workOptions } from './activity-options';
import { interruptible, now, type SessionContext } from './context';
import {
  applyPublished,
  applyWorkspacePrepared,
  changeSetArtifact,
  codeContext,
  codeSource,
  publishing,
  publishRequest,
} from './workspace';

/** The tree is prepared on a worker: the session records its branch and base commit, then plans. A bad source fails it at once. */
export async function preparePhase(ctx: SessionContext): Promise<void> {
  const s = ctx.session;
  const source = codeSource(s)!;
  const prepared = await interruptible(ctx, () =>
    activities.prepareWorkspace.executeWithOptions({ ...workOptions, summary: `prepare ${describeSource(source)}` }, [
      { sessionId: s.config.id, source },
    ]),
  );
  if (!prepared || s.record.state !== 'queued') return;
  applyWorkspacePrepared(s, prepared, now());
}

/** The `code` field of an agent activity's input: set in code sessions once the tree is prepared. */
export function codeInput(ctx: SessionContext): { code?: CodeContext } {
  const code = codeContext(ctx.session);
  return code ? { code } : {};
}

/**
 * Waits while a chat reply has the tree open (two calls on one tree at once would see each
 * other's half-made changes). Never waits in other sessions: call it as `if (ctx.replyInTree) await ...`
 * so sessions without a tree run exactly as before.
 */
export async function treeFree(ctx: SessionContext): Promise<void> {
  await condition(() => !ctx.replyInTree);
}

/**
 * A chat reply sees the tree only while nothing else works on it (the session waits for a person,
 * or is done); the main loop waits for the reply to finish before its next call on the tree.
 */
export function replyCode(ctx: SessionContext): { code?: CodeContext } {
  const code = codeContext(ctx.session);
  const state = ctx.session.record.state;
  const waiting =
    state === 'awaitingPlanApproval' ||
    state === 'awaitingUserFeedback' ||
    state === 'awaitingChangeApproval' ||
    state === 'paused' ||
    state === 'completed';
  if (!code || !waiting || ctx.current) return {};
  return { code };
}

/**
 * The changeSet artifact of a tool step that changed the tree (from `base`, the patch the step
 * started at); undefined if the session moved on meanwhile.
 */
export async function toolStepArtifacts(ctx: SessionContext, step: PlanStep, base: string): Promise<Artifact[] | undefined> {
  const s = ctx.session;
  if (ctx.replyInTree) await treeFree(ctx);
  const code = codeContext(s)!;
  const patch = s.record.workspace!.patch;
  const change = await interruptible(ctx, () =>
    activities.stepChange.executeWithOptions({ ...workOptions, summary: `change of step ${step.index + 1}` }, [
      { sessionId: s.config.id, code: { ...code, patch: base }, patch },
    ]),
  );
  if (!change || s.record.state !== 'inProgress') return undefined;
  return change.stepPatch ? [changeSetArtifact(s, change.stepPatch, step.title)] : [];
}

/** The change goes out once: the branch (and the pull request), then the session completes. */
export async function publishPhase(ctx: SessionContext): Promise<void> {
  const s = ctx.session;
  const mode = publishMode(codeSource(s), s.config.publish);
  const result = await interruptible(ctx, () =>
    activities.publishChanges.executeWithOptions({ ...publishOptions, summary: `publish (${mode}) andon/${s.config.id}` }, [
      publishRequest(s),
    ]),
  );
  if (!result || !publishing(s)) return;
  applyPublished(s, result, now());
}
