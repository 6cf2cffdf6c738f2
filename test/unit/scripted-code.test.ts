/**
 * The scripted agent's code scenario (scripts/demo.json, `code`) on a real copy of the demo
 * repository: a session with a working tree plans reproduce / fix / verify, runs the repository's
 * own tests for real (their output in bashOutput artifacts), fixes the off-by-one by an exact
 * replacement, and a retried fix step is harmless. Sessions without a tree keep the incident plan.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AgentError, PlanResult, StepResult, SummaryResult, type CallOptions, type WorkspaceFacts } from '../../src/agents/agent';
import { ScriptedAgent, parseScript } from '../../src/agents/scripted';
import type { Plan } from '../../src/session/schema';

const ROOT = path.join(__dirname, '..', '..');
const DEMO_SCRIPT = path.join(ROOT, 'scripts/demo.json');
const DEMO_REPO = path.join(ROOT, 'demo/repos/checkout-service');

const options = (attempt = 1): CallOptions => ({ signal: new AbortController().signal, attempt, heartbeat: () => undefined });
const facts = { sessionId: 's-code', prompt: 'Fix the failing checkout test', title: 'Fix the failing checkout test', context: {} };

let tree: string;
let workspace: WorkspaceFacts;
// Without the demo's delays: the same script, paced at once.
const script = parseScript(JSON.parse(readFileSync(DEMO_SCRIPT, 'utf8')));
for (const plan of [...script.plans, ...(script.code?.plans ?? [])]) for (const step of plan.steps) step.delayMs = 0;
const agent = new ScriptedAgent({ ...script, planDelayMs: 0, replyDelayMs: 0 });

beforeEach(() => {
  tree = mkdtempSync(path.join(tmpdir(), 'andon-scripted-'));
  cpSync(DEMO_REPO, tree, { recursive: true });
  workspace = { path: tree, source: 'git:/srv/checkout-service.git@main', branch: 'main', baseCommit: 'b'.repeat(40) };
});
afterEach(() => rmSync(tree, { recursive: true, force: true }));

function toPlan(result: PlanResult): Plan {
  if (result.kind !== 'plan') throw new Error(`expected a plan, got ${result.kind}`);
  return {
    id: 'p-1',
    title: result.title,
    steps: result.steps.map((s, index) => ({ id: `p-1-s${index}`, index, title: s.title, description: s.description })),
  };
}

async function codePlan(): Promise<Plan> {
  return toPlan(PlanResult.parse(await agent.plan({ ...facts, round: 1, feedback: [], workspace }, options())));
}

const step = (plan: Plan, index: number, attempt = 1) =>
  agent
    .executeStep({ ...facts, plan, step: plan.steps[index]!, previous: [], workspace }, options(attempt))
    .then((r) => StepResult.parse(r));

describe('the scripted code scenario', () => {
  it('plans reproduce, fix, verify in a code session, and the incident without a tree', async () => {
    const plan = await codePlan();
    expect(plan.title).toBe('Fix the failing checkout test');
    expect(plan.steps.map((s) => s.title)).toEqual([
      'Reproduce: run the checkout tests',
      'Fix the bulk discount threshold in src/discount.js',
      'Verify: run the checkout tests again',
    ]);
    const incident = toPlan(PlanResult.parse(await agent.plan({ ...facts, round: 1, feedback: [] }, options())));
    expect(incident.steps[0]!.title).toMatch(/deploys/);
  });

  it('reproduces the failure with the real test output, fixes the file, and verifies', async () => {
    const plan = await codePlan();
    const reproduced = await step(plan, 0);
    expect(reproduced.title).toBe('2 of 6 checkout tests fail');
    expect(reproduced.artifacts).toEqual([
      {
        type: 'bashOutput',
        command: 'node test.js',
        exitCode: 1,
        output: expect.stringContaining('not ok 4 - an order of exactly 10 items gets the bulk discount'),
      },
    ]);

    const fixed = await step(plan, 1);
    expect(fixed.artifacts).toEqual([]);
    expect(readFileSync(path.join(tree, 'src/discount.js'), 'utf8')).toContain('if (itemCount >= BULK_MIN_ITEMS) {');
    // A retry of the fix (the worker died after the edit) finds it done and goes on.
    await step(plan, 1, 2);
    expect(readFileSync(path.join(tree, 'src/discount.js'), 'utf8').match(/>= BULK_MIN_ITEMS/g)).toHaveLength(1);

    const verified = await step(plan, 2);
    expect(verified.artifacts).toEqual([
      { type: 'bashOutput', command: 'node test.js', exitCode: 0, output: expect.stringContaining('6 of 6 tests passed') },
    ]);
    const summary = SummaryResult.parse(await agent.summarize({ ...facts, plan, steps: [], workspace }, options()));
    expect(summary.summary).toContain('src/discount.js');
    // The change set and the pull request come from the workspace, not from the script.
    expect(summary.outputs).toEqual([]);
    const reply = await agent.reply({ ...facts, state: 'inProgress', plan, message: 'why?', transcript: [], workspace }, options());
    expect(reply.message).toContain('10 items or more');
  });

  it('fails the step (retry, skip or abort) when the tests do not do what the step expects', async () => {
    const plan = await codePlan();
    await step(plan, 1);
    const error = await step(plan, 0).catch((e: unknown) => e);
    expect(AgentError.isInstance(error) && error.code).toBe('StepFailed');
    expect((error as Error).message).toContain('`node test.js` was expected to fail but exited with 0');
    expect((error as Error).message).toContain('6 of 6 tests passed');
  });

  it('refuses edits outside the tree and steps that need a tree in a session without one', async () => {
    const escaping = new ScriptedAgent({
      name: 'escape',
      plans: [{ steps: [{ title: 'Edit', edits: [{ path: 'link/passwd', find: 'root', replace: 'x' }], result: { description: 'x' } }] }],
      defaultReply: 'ok',
      summary: 'done',
    });
    symlinkSync('/etc', path.join(tree, 'link'));
    const plan = toPlan(PlanResult.parse(await escaping.plan({ ...facts, round: 1, feedback: [], workspace }, options())));
    const request = { ...facts, plan, step: plan.steps[0]!, previous: [] };
    await expect(escaping.executeStep({ ...request, workspace }, options())).rejects.toThrow(
      'step "Edit": cannot edit link/passwd: path "link/passwd" is refused: a symbolic link leads outside the working tree',
    );
    await expect(escaping.executeStep(request, options())).rejects.toThrow(
      'step "Edit" works in a working tree, but this session has no source',
    );
  });

  it('checks the new step fields when the script loads', () => {
    const base = { name: 'x', defaultReply: 'ok', summary: 'done' };
    expect(() => parseScript({ ...base, plans: [{ steps: [{ title: 't', run: [], result: { description: 'd' } }] }] })).toThrow(
      /plans\[0\]\.steps\[0\]\.run/,
    );
    expect(() =>
      parseScript({ ...base, plans: [{ steps: [{ title: 't', edits: [{ path: 'a', find: 'b' }], result: { description: 'd' } }] }] }),
    ).toThrow(/plans\[0\]\.steps\[0\]\.edits\[0\]\.replace/);
    expect(() => parseScript({ ...base, plans: [{ steps: [{ title: 't', expect: 'maybe', result: { description: 'd' } }] }] })).toThrow(
      /expect/,
    );
  });
});
