/**
 * The rules of code sessions on the record alone: the tree is prepared before planning, each
 * step's change is recorded (the cumulative patch, the files, a changeSet artifact), the final
 * change set goes into the outputs, publishing is asked for with a fixed date and recorded once,
 * and the optional change-approval gate follows the plan's approval policy.
 */
import type { StepResult } from '../../src/agents/agent';
import { ApprovalPolicy } from '../../src/session/approval';
import type { ChangedFile, SessionSource } from '../../src/session/schema';
import type { SessionWorkflowInput } from '../../src/protocol/messages';
import { decideApprove, decidePause, decideReject, decideResume } from '../../workflows/session/commands';
import { changeSetHash } from '../../workflows/session/change-set';
import { applyCreated, applyPlan, applyStart, applyStepResult } from '../../workflows/session/progress';
import { CURRENT_RULES, carryOver, openSession, view, type Session, type SessionRules } from '../../workflows/session/record';
import {
  applyPublished,
  applySummary,
  applyWorkspacePrepared,
  changeDeadlinePassed,
  codeContext,
  markStepBase,
  needsWorkspace,
  publishRequest,
  publishing,
  stepBaseIfChanged,
  withStepChange,
} from '../../workflows/session/workspace';
import { renderDetails } from '../../workflows/session/details';
import { at } from '../support/at';

const BASE = 'a'.repeat(40);
const PATCH_1 = 'diff --git a/app.js b/app.js\n--- a/app.js\n+++ b/app.js\n@@ -1 +1 @@\n-bug\n+fix\n';
const PATCH_2 = `${PATCH_1}diff --git a/NEW.md b/NEW.md\nnew file mode 100644\n--- /dev/null\n+++ b/NEW.md\n@@ -0,0 +1 @@\n+notes\n`;
const FILES_1: ChangedFile[] = [{ path: 'app.js', changeType: 'modified', additions: 1, deletions: 1 }];
const FILES_2: ChangedFile[] = [...FILES_1, { path: 'NEW.md', changeType: 'created', additions: 1, deletions: 0 }];

const config: SessionWorkflowInput['config'] = {
  id: 'code-1',
  title: 'Fix the bug',
  prompt: 'the app prints bug',
  context: {},
  requirePlanApproval: false,
  followUpWindowMs: 0,
};

let clock = Date.parse('2026-03-01T00:00:00.000Z');
const tick = () => new Date((clock += 1_000));

const proposal = {
  kind: 'plan' as const,
  title: 'Fix',
  steps: [
    { title: 'Fix app.js', description: 'fix it' },
    { title: 'Write notes', description: 'notes' },
  ],
};

function codeSession(
  overrides: Partial<SessionWorkflowInput['config']> = {},
  source: SessionSource = { git: '/srv/app.git' },
  rules: SessionRules = CURRENT_RULES,
): Session {
  const s = openSession({ config: { ...config, source, ...overrides } }, tick(), {}, rules);
  applyCreated(s, tick());
  return s;
}

/** Prepared, planned (no approval needed) and both steps done with PATCH_2 as the cumulative change. */
function steppedSession(overrides: Partial<SessionWorkflowInput['config']> = {}, source?: SessionSource, rules?: SessionRules): Session {
  const s = codeSession(overrides, source, rules);
  applyWorkspacePrepared(s, { branch: 'main', baseCommit: BASE }, tick());
  applyPlan(s, proposal, tick());
  const steps = s.record.plan!.steps;
  const one: StepResult & { change?: unknown } = { description: 'fixed', artifacts: [] };
  applyStepResult(
    s,
    at(steps, 0),
    withStepChange(s, 'Fix app.js', { ...one, change: { patch: PATCH_1, stepPatch: PATCH_1, files: FILES_1 } }),
    tick(),
  );
  applyStepResult(
    s,
    at(steps, 1),
    withStepChange(s, 'Write notes', { ...one, change: { patch: PATCH_2, stepPatch: 'NEW.md diff', files: FILES_2 } }),
    tick(),
  );
  return s;
}

describe('preparing the tree', () => {
  it('keeps a session with a source queued until its tree is prepared, then plans from the recorded base', () => {
    const s = codeSession({}, { github: 'acme/app', branch: 'main' });
    expect(needsWorkspace(s)).toBe(true);
    expect(codeContext(s)).toBeUndefined();
    applyWorkspacePrepared(s, { branch: 'main', baseCommit: BASE }, tick());
    expect(s.record.state).toBe('planning');
    expect(needsWorkspace(s)).toBe(false);
    expect(at(s.record.timeline, -1)).toMatchObject({
      type: 'workspacePrepared',
      source: 'github:acme/app@main',
      branch: 'main',
      baseCommit: BASE,
    });
    expect(view(s).workspace).toEqual({ source: 'github:acme/app@main', branch: 'main', baseCommit: BASE, changes: [] });
    expect(codeContext(s)).toEqual({ source: { github: 'acme/app', branch: 'main' }, branch: 'main', baseCommit: BASE, patch: '' });
  });

  it('ignores the source of a session started before code sessions (and sessions without one)', () => {
    const old = openSession(
      { config: { ...config, source: { git: '/srv/app.git' } } },
      tick(),
      {},
      { decisionsByPolicy: true, codeSessions: false },
    );
    expect(needsWorkspace(old)).toBe(false);
    const plain = openSession({ config }, tick());
    expect(needsWorkspace(plain)).toBe(false);
    applyStart(plain, tick());
    expect(plain.record.state).toBe('planning');
    expect(view(plain).workspace).toBeUndefined();
  });
});

describe('changes', () => {
  it("records each step's change as the cumulative patch and a changeSet artifact on the step's event", () => {
    const s = steppedSession();
    const w = s.record.workspace!;
    expect(w.patch).toBe(PATCH_2);
    expect(w.files).toEqual(FILES_2);
    const progress = s.record.timeline.filter((e) => e.type === 'progressUpdated');
    expect(progress.map((e) => e.type === 'progressUpdated' && e.artifacts)).toEqual([
      [
        {
          type: 'changeSet',
          source: 'git:/srv/app.git',
          gitPatch: { unidiffPatch: PATCH_1, baseCommitId: BASE, suggestedCommitMessage: 'Fix app.js' },
        },
      ],
      [
        {
          type: 'changeSet',
          source: 'git:/srv/app.git',
          gitPatch: { unidiffPatch: 'NEW.md diff', baseCommitId: BASE, suggestedCommitMessage: 'Write notes' },
        },
      ],
    ]);
    expect(view(s).workspace).toMatchObject({ changes: FILES_2, changeSetHash: changeSetHash(PATCH_2) });
    expect(codeContext(s)?.patch).toBe(PATCH_2);
  });

  it('adds no artifact for a step that changed nothing', () => {
    const s = codeSession();
    applyWorkspacePrepared(s, { branch: 'main', baseCommit: BASE }, tick());
    const result = withStepChange(s, 'Look', { description: 'looked', artifacts: [] });
    expect(result.artifacts).toEqual([]);
    expect(s.record.workspace!.patch).toBe('');
  });

  it('keeps where a tool step started, so its whole diff can be shown when it ends', () => {
    const s = codeSession();
    applyWorkspacePrepared(s, { branch: 'main', baseCommit: BASE }, tick());
    markStepBase(s, 'plan-1-step-1');
    expect(stepBaseIfChanged(s, 'plan-1-step-1')).toBeUndefined();
    s.record.workspace!.patch = PATCH_1;
    markStepBase(s, 'plan-1-step-1');
    expect(stepBaseIfChanged(s, 'plan-1-step-1')).toBe('');
    markStepBase(s, 'plan-1-step-2');
    expect(stepBaseIfChanged(s, 'plan-1-step-2')).toBeUndefined();
  });

  it('carries the tree (base, patch, files) across continue-as-new', () => {
    const s = steppedSession();
    const next = openSession({ config: s.config, ...carryOver(s) }, tick());
    expect(next.record.workspace).toEqual(s.record.workspace);
    expect(view(next).workspace).toEqual(view(s).workspace);
  });
});

describe('completing and publishing', () => {
  it('completes at once, saying nothing was published, when no file changed', () => {
    const s = codeSession();
    applyWorkspacePrepared(s, { branch: 'main', baseCommit: BASE }, tick());
    applyPlan(s, proposal, tick());
    applySummary(s, 'nothing to do', [], tick());
    expect(s.record.state).toBe('completed');
    expect(s.record.outputs).toEqual([]);
    expect(s.record.timeline.some((e) => e.type === 'progressUpdated' && /changed no files/.test(e.description))).toBe(true);
  });

  it('completes with the change set in the outputs and publishes nothing in mode none', () => {
    const s = steppedSession({ publish: { mode: 'none', approveChanges: false, draft: false } });
    applySummary(s, 'fixed', [], tick());
    expect(s.record.state).toBe('completed');
    expect(s.record.outputs).toEqual([
      {
        type: 'changeSet',
        gitPatch: { unidiffPatch: PATCH_2, baseCommitId: BASE, suggestedCommitMessage: expect.stringContaining('Fix the bug') },
      },
    ]);
  });

  it('publishes a branch with the date recorded before publishing, then completes with changesPublished', () => {
    const s = steppedSession();
    applySummary(s, 'fixed', [], tick());
    expect(s.record.state).toBe('inProgress');
    expect(publishing(s)).toBe(true);
    const request = publishRequest(s);
    expect(request).toEqual({
      sessionId: 'code-1',
      source: { git: '/srv/app.git' },
      baseCommit: BASE,
      patch: PATCH_2,
      message: 'Fix the bug\n\n- Fix app.js\n- Write notes\n\nandon session code-1',
      date: s.record.workspace!.finishedAt,
    });
    // A retry asks for exactly the same commit.
    tick();
    expect(publishRequest(s)).toEqual(request);
    expect(view(s).outputs).toHaveLength(1);
    applyPublished(s, { branch: 'andon/code-1', commit: 'c'.repeat(40) }, tick());
    expect(s.record.state).toBe('completed');
    expect(publishing(s)).toBe(false);
    expect(at(s.record.timeline, -2)).toMatchObject({
      type: 'changesPublished',
      branch: 'andon/code-1',
      files: 2,
      additions: 2,
      deletions: 1,
    });
    expect(view(s).workspace?.published).toEqual({ branch: 'andon/code-1', commit: 'c'.repeat(40) });
    expect(renderDetails(s.record, undefined, 'git:/srv/app.git')).toContain('**Changes:** 2 files, +2 -1');
  });

  it('asks for a pull request for a GitHub source, and puts it in the outputs', () => {
    const s = steppedSession({ requestedBy: 'alice' }, { github: 'acme/app' });
    applySummary(s, 'fixed the bug', [], tick());
    const request = publishRequest(s);
    expect(request.pullRequest).toEqual({
      title: 'Fix the bug',
      body: expect.stringContaining('fixed the bug'),
      base: 'main',
      draft: false,
    });
    expect(request.pullRequest?.body).toContain('2 files changed, +2 -1');
    const pullRequest = { url: 'https://github.com/acme/app/pull/1', title: 'Fix the bug', description: request.pullRequest!.body };
    applyPublished(s, { branch: 'andon/code-1', commit: 'c'.repeat(40), pullRequest }, tick());
    expect(s.record.outputs.map((o) => o.type)).toEqual(['changeSet', 'pullRequest']);
    expect(at(s.record.outputs, 1)).toEqual({ type: 'pullRequest', pullRequest });
    expect(renderDetails(s.record, undefined, 'github:acme/app')).toContain('[Fix the bug](https://github.com/acme/app/pull/1)');
  });
});

describe('the change-approval gate', () => {
  const gated = (policy: unknown = {}) =>
    steppedSession({ publish: { approveChanges: true, draft: false }, approval: ApprovalPolicy.parse(policy) });

  it('waits for approval of the change set, refuses a stale hash, and publishes after the required approvals', () => {
    const s = gated({ approvers: ['alice', 'bob'], required: 2 });
    applySummary(s, 'fixed', [], tick());
    expect(s.record.state).toBe('awaitingChangeApproval');
    expect(publishing(s)).toBe(false);
    expect(view(s).approval).toMatchObject({ required: 2, approvals: [] });
    const hash = view(s).workspace!.changeSetHash!;

    const stale = decideApprove(s, { by: 'alice', changeSetHash: 'ffffffffffffffff' }, tick());
    expect(stale).toMatchObject({ type: 'StalePlan', message: expect.stringContaining('the change set changed') });
    expect(at(s.record.timeline, -1)).toMatchObject({ type: 'approvalRefused', by: 'alice' });
    expect(decideApprove(s, { by: 'mallory', changeSetHash: hash }, tick())).toMatchObject({ type: 'NotAllowed' });

    expect(decideApprove(s, { by: 'alice', changeSetHash: hash }, tick())).toBeUndefined();
    expect(at(s.record.timeline, -1)).toMatchObject({ type: 'approvalRecorded', approvals: 1, required: 2 });
    expect(decideApprove(s, { by: 'alice' }, tick())).toMatchObject({ type: 'DuplicateApproval' });
    expect(decideApprove(s, { by: 'bob', changeSetHash: hash, comment: 'ship it' }, tick())).toBeUndefined();
    expect(at(s.record.timeline, -1)).toMatchObject({ type: 'changesApproved', by: 'bob', changeSetHash: hash, comment: 'ship it' });
    expect(s.record.state).toBe('inProgress');
    expect(publishing(s)).toBe(true);
  });

  it("refuses an approval bound to the plan (the plan button's hash, no diff) while the change set awaits approval", () => {
    const s = gated();
    applySummary(s, 'fixed', [], tick());
    const plan = s.record.plan!;
    const late = decideApprove(s, { by: 'alice', planId: plan.id, planHash: plan.hash }, tick());
    expect(late).toMatchObject({ type: 'StalePlan', message: expect.stringMatching(/of plan plan-1, not the change set/) });
    expect(at(s.record.timeline, -1)).toMatchObject({ type: 'approvalRefused', by: 'alice', code: 'StalePlan' });
    expect(s.record.state).toBe('awaitingChangeApproval');
    // Naming the diff (with or without the plan) is an approval of the change set.
    const hash = view(s).workspace!.changeSetHash!;
    expect(decideApprove(s, { by: 'alice', planId: plan.id, changeSetHash: hash }, tick())).toBeUndefined();
    expect(s.record.state).toBe('inProgress');

    // A session started before the rule replays as it ran: the plan-bound approval approved the change.
    const old = steppedSession({ publish: { approveChanges: true, draft: false } }, undefined, {
      ...CURRENT_RULES,
      planApprovalsStayPlans: false,
    });
    applySummary(old, 'fixed', [], tick());
    expect(decideApprove(old, { by: 'alice', planId: plan.id, planHash: old.record.plan!.hash }, tick())).toBeUndefined();
    expect(old.record.state).toBe('inProgress');
  });

  it('completes without publishing when the change set is rejected, keeping it in the outputs', () => {
    const s = gated();
    applySummary(s, 'fixed', [], tick());
    expect(decideReject(s, { by: 'carol', reason: 'wrong fix', replan: true }, tick())).toMatchObject({ type: 'InvalidArgument' });
    expect(s.record.state).toBe('awaitingChangeApproval');
    expect(decideReject(s, { by: 'carol', reason: 'wrong fix' }, tick())).toBeUndefined();
    expect(s.record.state).toBe('completed');
    expect(s.record.reason).toBe('change set rejected by carol: wrong fix; not published');
    expect(s.record.outputs.map((o) => o.type)).toEqual(['changeSet']);
    expect(s.record.timeline.some((e) => e.type === 'changesRejected' && e.by === 'carol')).toBe(true);
    expect(s.record.workspace?.published).toBeUndefined();
  });

  it('refuses a rejection bound to the plan or to another diff while the change set awaits approval, in sessions of every age', () => {
    for (const rules of [CURRENT_RULES, { ...CURRENT_RULES, planApprovalsStayPlans: false }]) {
      const s = steppedSession({ publish: { approveChanges: true, draft: false } }, undefined, rules);
      applySummary(s, 'fixed', [], tick());
      const plan = s.record.plan!;
      // The plan's Reject modal submitted late: the person saw the plan, not the change.
      const late = decideReject(s, { by: 'carol', planId: plan.id, planHash: plan.hash, reason: 'bad plan' }, tick());
      expect(late).toMatchObject({ type: 'StalePlan', message: expect.stringMatching(/of plan plan-1, not the change set/) });
      expect(at(s.record.timeline, -1)).toMatchObject({ type: 'approvalRefused', decision: 'reject', by: 'carol', code: 'StalePlan' });
      const other = decideReject(s, { by: 'carol', changeSetHash: 'deadbeefdeadbeef', reason: 'wrong fix' }, tick());
      expect(other).toMatchObject({ type: 'StalePlan' });
      expect(s.record.state).toBe('awaitingChangeApproval');
      // Naming the diff that awaits approval rejects it.
      const hash = view(s).workspace!.changeSetHash!;
      expect(decideReject(s, { by: 'carol', planId: plan.id, changeSetHash: hash, reason: 'wrong fix' }, tick())).toBeUndefined();
      expect(s.record.state).toBe('completed');
    }
  });

  it('keeps the wait across a pause, and lets the deadline decide', () => {
    const s = gated();
    applySummary(s, 'fixed', [], tick());
    const since = s.record.awaitingSince;
    expect(decidePause(s, { by: 'alice' }, tick())).toBeUndefined();
    expect(s.record.state).toBe('paused');
    expect(decideResume(s, { by: 'alice' }, tick())).toBeUndefined();
    expect(s.record.state).toBe('awaitingChangeApproval');
    expect(s.record.awaitingSince).toBe(since);
    changeDeadlinePassed(s, 'reject', tick());
    expect(s.record.state).toBe('completed');
    expect(s.record.reason).toContain('policy:deadline');
  });
});
