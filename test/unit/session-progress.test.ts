/**
 * The rules the session's own process applies to its record (a plan, a step's result, the
 * approval deadline's escalation and reminders, the notification queue), on the record alone:
 * the workflow calls these and never assigns a record field itself.
 */
import type { SessionState } from '../../src/session/schema';
import { ApprovalPolicy, planHash } from '../../src/session/approval';
import type { SessionWorkflowInput } from '../../src/protocol/messages';
import { decideApprove, decidePause, decideReject } from '../../workflows/session/commands';
import {
  applyCreated,
  applyEscalation,
  applyPlan,
  applyReminder,
  applySlackMessage,
  applyStart,
  applyStepResult,
  queueOutgoing,
  takeOutgoing,
} from '../../workflows/session/progress';
import { openSession, view, type Session } from '../../workflows/session/record';
import { at } from '../support/at';

const config: SessionWorkflowInput['config'] = {
  id: 'progress-1',
  title: 'Progress session',
  prompt: 'disk full on db-1',
  context: {},
  requirePlanApproval: true,
  followUpWindowMs: 0,
};

let clock = Date.parse('2026-02-01T00:00:00.000Z');
const tick = () => new Date((clock += 1_000));

const proposal = {
  kind: 'plan' as const,
  title: 'Free space',
  steps: [
    { title: 'Look', description: 'find big files' },
    { title: 'Clean', description: 'rotate logs', tools: [{ tool: 'rotate' }] },
  ],
};

function planning(overrides: Partial<SessionWorkflowInput['config']> = {}, states?: SessionState[]): Session {
  const s = openSession(
    { config: { ...config, ...overrides } },
    tick(),
    states ? { stateChanged: (x) => states.push(x.record.state) } : {},
  );
  applyCreated(s, tick());
  applyStart(s, tick());
  return s;
}

describe('start', () => {
  it('records sessionCreated with the config, then starts planning', () => {
    const s = planning({ requestedBy: 'alice' });
    expect(s.record.timeline[0]).toMatchObject({
      type: 'sessionCreated',
      prompt: config.prompt,
      title: config.title,
      requirePlanApproval: true,
      requestedBy: 'alice',
      seq: 1,
    });
    expect(s.record.state).toBe('planning');
  });

  it('fails at once under an invalid approval policy, naming the field', () => {
    const raw = { after: 1_000, action: 'approve' } as unknown as NonNullable<
      NonNullable<SessionWorkflowInput['config']['approval']>['deadline']
    >;
    const s = planning({ approval: { ...ApprovalPolicy.parse({}), deadline: raw } });
    expect(s.record.state).toBe('failed');
    expect(s.record.reason).toBe('invalid approval policy: deadline.action: action "approve" needs lowRisk: true');
  });
});

describe('applyPlan', () => {
  it('numbers the plan by round, hashes it and waits for approval', () => {
    const states: SessionState[] = [];
    const s = planning({}, states);
    applyPlan(s, proposal, tick());
    const plan = s.record.plan!;
    expect(plan.id).toBe('plan-1');
    expect(plan.steps.map((step) => [step.id, step.index, step.title])).toEqual([
      ['plan-1-step-1', 0, 'Look'],
      ['plan-1-step-2', 1, 'Clean'],
    ]);
    expect(plan.steps[1]?.tools).toEqual([{ tool: 'rotate' }]);
    expect('tools' in at(plan.steps, 0)).toBe(false);
    expect(plan.hash).toBe(planHash({ title: 'Free space', steps: plan.steps }));
    expect(s.record.timeline.at(-1)).toMatchObject({ type: 'planGenerated', plan });
    expect(s.record.state).toBe('awaitingPlanApproval');
    expect(states).toEqual(['planning', 'awaitingPlanApproval']);
  });

  it('a new plan starts with no approvals, no escalation and no step outcomes', () => {
    const s = planning({ approval: ApprovalPolicy.parse({ required: 2 }) });
    applyPlan(s, proposal, tick());
    expect(decideApprove(s, { by: 'alice' }, tick())).toBeUndefined();
    applyEscalation(s, ['group:leads'], tick());
    expect(s.record.approvals).toHaveLength(1);
    // Rejected with a re-plan: the next plan forgets all of it.
    expect(decideReject(s, { reason: 'smaller steps', replan: true, by: 'bob' }, tick())).toBeUndefined();
    applyPlan(s, proposal, tick());
    expect(s.record.plan?.id).toBe('plan-2');
    expect(s.record).toMatchObject({ approvals: [], escalated: false, stepOutcomes: [] });
  });

  it('without required approval, approves as the system and starts at step 0', () => {
    const s = planning({ requirePlanApproval: false });
    applyPlan(s, proposal, tick());
    expect(s.record.timeline.slice(-2).map((e) => e.type)).toEqual(['planGenerated', 'planApproved']);
    expect(s.record.timeline.at(-1)).toMatchObject({ originator: 'system', by: 'system (approval not required)', planId: 'plan-1' });
    expect(s.record).toMatchObject({ state: 'inProgress', currentStep: 0 });
  });

  it('a question waits for the answer; recalled memories are recorded first', () => {
    const s = planning();
    applyPlan(
      s,
      { kind: 'question', question: 'Which host?', recalled: [{ id: 'm1', scope: 'service', content: 'db-1 is primary' }] },
      tick(),
    );
    expect(s.record.timeline.slice(-2)).toEqual([
      expect.objectContaining({ type: 'memoryRecalled', memories: [{ id: 'm1', scope: 'service', content: 'db-1 is primary' }] }),
      expect.objectContaining({ type: 'agentMessaged', message: 'Which host?' }),
    ]);
    expect(s.record.state).toBe('awaitingUserFeedback');
    expect(s.record.plan).toBeUndefined();
  });

  it('a pause asked for while planning takes effect when the plan arrives', () => {
    const s = planning();
    expect(decidePause(s, { by: 'bob' }, tick())).toBeUndefined();
    applyPlan(s, proposal, tick());
    expect(s.record).toMatchObject({ state: 'paused', resumeTo: 'awaitingPlanApproval' });
  });
});

describe('applyStepResult', () => {
  function running(): Session {
    const s = planning({ requirePlanApproval: false });
    applyPlan(s, proposal, tick());
    return s;
  }

  it('records the outcome, moves to the next step, and pauses at the boundary when asked to', () => {
    const s = running();
    const step = at(s.record.plan!.steps, 0);
    decidePause(s, { by: 'bob', reason: 'lunch' }, tick());
    applyStepResult(s, step, { title: 'Looked', description: 'found /var/log', artifacts: [] }, tick());
    expect(s.record.timeline.at(-2)).toMatchObject({
      type: 'progressUpdated',
      title: 'Looked',
      description: 'found /var/log',
      stepId: step.id,
    });
    expect(s.record.stepOutcomes).toEqual([{ stepId: step.id, title: 'Looked', description: 'found /var/log' }]);
    expect(s.record).toMatchObject({ currentStep: 1, state: 'paused', resumeTo: 'inProgress' });
    expect(s.record.timeline.at(-1)).toMatchObject({ type: 'sessionPaused', by: 'bob', reason: 'lunch' });
  });

  it("uses the step's own title when the agent gives none", () => {
    const s = running();
    const step = at(s.record.plan!.steps, 0);
    applyStepResult(s, step, { description: 'done', artifacts: [] }, tick());
    expect(s.record.stepOutcomes[0]?.title).toBe('Look');
    expect(s.record.state).toBe('inProgress');
  });
});

describe('approval deadline', () => {
  it('escalation and reminders are recorded against the current plan and shown in the view', () => {
    const s = planning();
    applyPlan(s, proposal, tick());
    applyEscalation(s, ['group:leads'], tick());
    expect(s.record.timeline.at(-1)).toMatchObject({
      type: 'approvalEscalated',
      planId: 'plan-1',
      escalateTo: ['group:leads'],
      originator: 'system',
    });
    expect(view(s).approval).toMatchObject({ escalated: true });
    applyReminder(s, 600_000, tick());
    applyReminder(s, 1_200_000, tick());
    expect(s.record.reminders).toBe(2);
    expect(s.record.timeline.at(-1)).toMatchObject({ type: 'approvalReminded', planId: 'plan-1', waitingMs: 1_200_000 });
  });
});

describe('notifications', () => {
  it('queues in order, a newer state update replacing a queued one', () => {
    const s = planning();
    queueOutgoing(s, { kind: 'stateChanged' });
    queueOutgoing(s, { kind: 'approvalReminder' });
    queueOutgoing(s, { kind: 'stateChanged' });
    expect(s.record.outbox.map((o) => o.kind)).toEqual(['approvalReminder', 'stateChanged']);
    expect(takeOutgoing(s)).toEqual({ kind: 'approvalReminder' });
    expect(takeOutgoing(s)).toEqual({ kind: 'stateChanged' });
    expect(takeOutgoing(s)).toBeUndefined();
  });

  it('keeps the first Slack message the session was posted as', () => {
    const s = planning();
    expect(applySlackMessage(s, undefined)).toBe(false);
    expect(applySlackMessage(s, { channel: 'C1', ts: '1.0' })).toBe(true);
    expect(applySlackMessage(s, { channel: 'C2', ts: '2.0' })).toBe(false);
    expect(s.record.slack).toEqual({ channel: 'C1', ts: '1.0' });
  });
});
