/**
 * The runbook agent end to end on the demo scenario, through the real dev server: alert labels,
 * findings, plan, approval, execution with command output as artifacts, completion; and a
 * failing verify step that the session turns into a decision (retry, skip or abort, by `decideStep`).
 */
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TimelineEvent } from '../../src/client';
import { RunbookAgent } from '../../src/agents/runbook';
import { startHarness, type Harness } from '../support/harness';

const ROOT = join(__dirname, '..', '..');
let work: string;
let h: Harness;

beforeAll(async () => {
  // The demo scripts keep state beside themselves: run a private copy, not the project's.
  work = mkdtempSync(join(tmpdir(), 'andon-runbook-it-'));
  cpSync(join(ROOT, 'demo'), join(work, 'demo'), { recursive: true, filter: (src) => !src.includes(join('demo', 'state')) });
  h = await startHarness({ agent: new RunbookAgent({ runbooks: join(ROOT, 'runbooks'), workdir: work }) });
});
afterAll(async () => {
  await h?.close();
  rmSync(work, { recursive: true, force: true });
});

const reset = () => rmSync(join(work, 'demo', 'state'), { recursive: true, force: true });
type Progress = Extract<TimelineEvent, { type: 'progressUpdated' }>;

describe('the runbook agent on the demo scenario', () => {
  it('investigates the alert, plans with findings, runs the approved steps and completes with their output', async () => {
    reset();
    const session = await h.andon.session({
      prompt: 'checkout-api error rate above 5%',
      title: 'checkout-api 5xx',
      context: { service: 'checkout-api', severity: 'page' },
    });
    const view = await session.waitFor('awaitingPlanApproval', { timeoutMs: 30_000 });
    expect(view.plan?.title).toBe('Roll back checkout-api after an error spike (runbook checkout-api-errors)');
    expect(view.plan?.steps[0]?.description).toContain('- errors: 60 of the last 225 lines of demo/logs/checkout-api.log match');
    expect(view.plan?.steps[0]?.description).toContain('PaymentGatewayTimeout');

    await session.approve({ planId: view.plan!.id, by: 'test:oncall' });
    const outcome = await session.result({ timeoutMs: 30_000 });
    expect(outcome.state).toBe('completed');
    expect(outcome.summary).toContain('2 of 2 steps done');

    const { events } = await session.timeline();
    const progress = events.filter((e): e is Progress => e.type === 'progressUpdated');
    expect(progress.map((e) => e.artifacts[0])).toEqual([
      {
        type: 'bashOutput',
        command: 'node demo/bin/rollback.js checkout-api',
        output: 'rolled back checkout-api from v2.14.0 to v2.13.2\n',
        exitCode: 0,
      },
      expect.objectContaining({
        type: 'bashOutput',
        command: 'node demo/bin/error-rate.js checkout-api 5',
        exitCode: 0,
        output: expect.stringContaining('error rate 0.0%'),
      }),
    ]);
  });

  it('turns a failing verify into a question, and a retry after the fix completes the session', async () => {
    reset();
    // The demo switch that makes the rollback "not take": verify keeps reporting the spike.
    mkdirSync(join(work, 'demo', 'state'), { recursive: true });
    writeFileSync(join(work, 'demo', 'state', 'checkout-api.still-failing'), '');
    const session = await h.andon.run({ prompt: 'checkout-api error rate above 5%', context: { service: 'checkout-api' } });

    await session.waitFor('awaitingUserFeedback', { timeoutMs: 30_000 });
    const { events } = await session.timeline();
    const question = events.filter((e) => e.type === 'agentMessaged').at(-1) as Extract<TimelineEvent, { type: 'agentMessaged' }>;
    expect(question.message).toContain(
      'step 2 "Check that the checkout-api error rate is back under 5%" failed: `node demo/bin/error-rate.js checkout-api 5` exited with 1',
    );
    expect(question.message).toContain('error rate 60.0%');
    expect(question.message).toMatch(/retry, skip or abort/);

    rmSync(join(work, 'demo', 'state', 'checkout-api.still-failing'));
    await session.decideStep('retry', { by: 'test:oncall' });
    const outcome = await session.result({ timeoutMs: 30_000 });
    expect(outcome.state).toBe('completed');
    const after = await session.timeline();
    const verified = after.events.filter((e): e is Progress => e.type === 'progressUpdated').at(-1)!;
    expect(verified.artifacts[0]).toMatchObject({ command: 'node demo/bin/error-rate.js checkout-api 5', exitCode: 0 });
  });

  it('asks which runbook to use when none matches the alert', async () => {
    const session = await h.andon.session({ prompt: 'db-7 disk full', context: { service: 'db-7' } });
    await session.waitFor('awaitingUserFeedback', { timeoutMs: 30_000 });
    const { events } = await session.timeline();
    const question = events.find((e) => e.type === 'agentMessaged') as Extract<TimelineEvent, { type: 'agentMessaged' }>;
    expect(question.message).toMatch(/No runbook matches this alert \(labels: service=db-7\)[\s\S]*checkout-api-errors/);
    await session.cancel('test done');
  });
});
