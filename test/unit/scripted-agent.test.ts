import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  AgentError,
  PlanResult,
  ReplyResult,
  StepResult,
  SummaryResult,
  type CallOptions,
  type PlanRequest,
  type ReplyRequest,
  type StepRequest,
  type SummarizeRequest,
} from '../../src/agents/agent';
import { ScriptedAgent, loadScript, parseScript, type AgentScriptInput } from '../../src/agents/scripted';
import type { Plan } from '../../src/session/schema';

const DEMO = join(__dirname, '..', '..', 'scripts', 'demo.json');

const facts = {
  sessionId: 's-1',
  prompt: 'checkout-api 5xx above 5%',
  title: 'Checkout errors',
  context: { service: 'checkout-api', namespace: 'payments' },
};

function options(overrides: Partial<CallOptions> = {}): CallOptions {
  return { signal: new AbortController().signal, attempt: 1, heartbeat: () => {}, ...overrides };
}

function planRequest(round: number): PlanRequest {
  return { ...facts, round, feedback: [] };
}

/** What the workflow would build from a plan result. */
function toPlan(result: PlanResult, id = 'p-1'): Plan {
  if (result.kind !== 'plan') throw new Error(`expected a plan, got ${result.kind}`);
  return {
    id,
    title: result.title,
    steps: result.steps.map((s, index) => ({ id: `${id}-s${index}`, index, title: s.title, description: s.description })),
  };
}

function stepRequest(plan: Plan, index: number): StepRequest {
  return { ...facts, plan, step: plan.steps[index]!, previous: [] };
}

function replyRequest(message: string, plan?: Plan): ReplyRequest {
  return { ...facts, state: 'inProgress', plan, message, transcript: [] };
}

function summarizeRequest(plan: Plan): SummarizeRequest {
  return { ...facts, plan, steps: [] };
}

/** Resolves to the error a promise rejects with, failing the test if it resolves. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject');
}

const base: AgentScriptInput = {
  name: 'unit',
  plans: [
    {
      title: 'Plan A for {title}',
      steps: [
        { title: 'Look at {context.service}', result: { description: 'looked at {context.service} in {context.namespace}' } },
        {
          title: 'Fix it',
          description: 'step of {stepCount}; missing="{context.nope}"; literal {message} {unknown}',
          result: {
            title: 'Fixed {title}',
            description: 'fixed',
            artifacts: [{ type: 'bashOutput', command: 'echo hi', output: 'hi\n', exitCode: 0 }],
          },
        },
      ],
    },
    { title: 'Plan B', steps: [{ title: 'Only step of B', result: { description: 'B done for {prompt}' } }] },
  ],
  replies: [
    { match: 'status', reply: 'working on {title} ({stepCount} steps)' },
    { match: '^roll ?back', reply: 'rollback answer' },
    { match: 'roll', reply: 'second roll rule' },
  ],
  defaultReply: 'you said "{message}" about {context.service}',
  summary: 'Done: {title}, {stepCount} steps, service {context.service}',
  outputs: [{ type: 'pullRequest', pullRequest: { url: 'https://example.test/pr/1', title: 'Fix', description: '' } }],
};

describe('ScriptedAgent planning', () => {
  it('uses plans[round-1] and repeats the last plan', async () => {
    const agent = new ScriptedAgent(base);
    expect(agent.name).toBe('scripted:unit');

    const first = await agent.plan(planRequest(1), options());
    expect(first).toEqual({
      kind: 'plan',
      title: 'Plan A for Checkout errors',
      steps: [
        { title: 'Look at checkout-api', description: '' },
        { title: 'Fix it', description: 'step of 2; missing=""; literal {message} {unknown}' },
      ],
    });
    const second = await agent.plan(planRequest(2), options());
    expect(second).toEqual({ kind: 'plan', title: 'Plan B', steps: [{ title: 'Only step of B', description: '' }] });
    expect(await agent.plan(planRequest(7), options())).toEqual(second);
  });

  it('asks the question in round 1 and plans from round 2', async () => {
    const agent = new ScriptedAgent({ ...base, question: 'Which region is {context.service} failing in?' });
    expect(await agent.plan(planRequest(1), options())).toEqual({
      kind: 'question',
      question: 'Which region is checkout-api failing in?',
    });
    expect(toPlan(await agent.plan(planRequest(2), options())).title).toBe('Plan A for Checkout errors');
    expect(toPlan(await agent.plan(planRequest(3), options())).title).toBe('Plan B');
    expect(toPlan(await agent.plan(planRequest(4), options())).title).toBe('Plan B');
  });

  it('gives the same answer to the same request', async () => {
    const agent = new ScriptedAgent(base);
    const plan = toPlan(await agent.plan(planRequest(1), options()));
    const a = await agent.executeStep(stepRequest(plan, 1), options());
    const b = await agent.executeStep(stepRequest(plan, 1), options());
    expect(a).toEqual(b);
    expect(await agent.plan(planRequest(1), options())).toEqual(await new ScriptedAgent(base).plan(planRequest(1), options()));
  });
});

describe('ScriptedAgent steps', () => {
  it('returns the scripted, templated result of the matching step', async () => {
    const agent = new ScriptedAgent(base);
    const plan = toPlan(await agent.plan(planRequest(1), options()));

    expect(await agent.executeStep(stepRequest(plan, 0), options())).toEqual({
      description: 'looked at checkout-api in payments',
      artifacts: [],
    });
    const fix = await agent.executeStep(stepRequest(plan, 1), options());
    expect(fix).toEqual({
      title: 'Fixed Checkout errors',
      description: 'fixed',
      artifacts: [{ type: 'bashOutput', command: 'echo hi', output: 'hi\n', exitCode: 0 }],
    });

    // A caller mutating a result must not change the script.
    fix.artifacts.length = 0;
    expect((await agent.executeStep(stepRequest(plan, 1), options())).artifacts).toHaveLength(1);
  });

  it('finds steps of a later plan', async () => {
    const agent = new ScriptedAgent(base);
    const planB = toPlan(await agent.plan(planRequest(2), options()), 'p-2');
    expect(await agent.executeStep(stepRequest(planB, 0), options())).toEqual({
      description: 'B done for checkout-api 5xx above 5%',
      artifacts: [],
    });
  });

  it('fails permanently for a step the script does not have', async () => {
    const agent = new ScriptedAgent(base);
    const plan: Plan = { id: 'x', steps: [{ id: 'x0', index: 0, title: 'Reboot the world', description: '' }] };
    const error = await rejection(agent.executeStep(stepRequest(plan, 0), options()));
    expect(AgentError.isInstance(error)).toBe(true);
    expect((error as AgentError).retryable).toBe(false);
    expect((error as AgentError).code).toBe('ScriptMismatch');
    expect((error as AgentError).message).toContain('Reboot the world');
  });
});

describe('ScriptedAgent scripted failures', () => {
  const failing: AgentScriptInput = {
    ...base,
    planFailures: [{ attempt: 1, kind: 'transient', message: 'planner overloaded' }],
    plans: [
      {
        steps: [
          {
            title: 'Flaky step',
            result: { description: 'flaky ok' },
            failures: [{ attempt: 1, kind: 'transient', message: 'connection reset' }],
          },
          {
            title: 'Doomed step',
            result: { description: 'doomed ok' },
            failures: [{ attempt: 2, kind: 'permanent', message: 'permission denied' }],
          },
        ],
      },
    ],
  };

  it('fails the plan call on the scripted attempt only', async () => {
    const agent = new ScriptedAgent(failing);
    const error = await rejection(agent.plan(planRequest(1), options({ attempt: 1 })));
    expect(AgentError.isInstance(error)).toBe(true);
    expect((error as AgentError).retryable).toBe(true);
    expect((error as AgentError).message).toBe('planner overloaded');
    expect((await agent.plan(planRequest(1), options({ attempt: 2 }))).kind).toBe('plan');
  });

  it('throws a retryable AgentError for a transient failure, then succeeds', async () => {
    const agent = new ScriptedAgent(failing);
    const plan = toPlan(await agent.plan(planRequest(1), options({ attempt: 2 })));
    const error = await rejection(agent.executeStep(stepRequest(plan, 0), options({ attempt: 1 })));
    expect(AgentError.isInstance(error)).toBe(true);
    expect((error as AgentError).retryable).toBe(true);
    expect((error as AgentError).message).toBe('connection reset');
    expect((await agent.executeStep(stepRequest(plan, 0), options({ attempt: 2 }))).description).toBe('flaky ok');
  });

  it('throws a non-retryable AgentError for a permanent failure on its attempt', async () => {
    const agent = new ScriptedAgent(failing);
    const plan = toPlan(await agent.plan(planRequest(1), options({ attempt: 2 })));
    expect((await agent.executeStep(stepRequest(plan, 1), options({ attempt: 1 }))).description).toBe('doomed ok');
    const error = await rejection(agent.executeStep(stepRequest(plan, 1), options({ attempt: 2 })));
    expect(AgentError.isInstance(error)).toBe(true);
    expect((error as AgentError).retryable).toBe(false);
    expect((error as AgentError).message).toBe('permission denied');
    expect((await agent.executeStep(stepRequest(plan, 1), options({ attempt: 3 }))).description).toBe('doomed ok');
  });
});

describe('ScriptedAgent replies and summary', () => {
  it('answers with the first matching reply, case-insensitively', async () => {
    const agent = new ScriptedAgent(base);
    const plan = toPlan(await agent.plan(planRequest(1), options()));
    expect(await agent.reply(replyRequest('What is the STATUS?', plan), options())).toEqual({
      message: 'working on Checkout errors (2 steps)',
    });
    expect((await agent.reply(replyRequest('Rollback now', plan), options())).message).toBe('rollback answer');
    // "^roll ?back" does not match mid-sentence, so the next rule that matches wins.
    expect((await agent.reply(replyRequest('should we roll back?', plan), options())).message).toBe('second roll rule');
    expect((await agent.reply(replyRequest('status', undefined), options())).message).toBe('working on Checkout errors (0 steps)');
  });

  it('falls back to the default reply, templating {message}', async () => {
    const agent = new ScriptedAgent(base);
    expect((await agent.reply(replyRequest('thanks!'), options())).message).toBe('you said "thanks!" about checkout-api');
  });

  it('summarizes with the templated summary and the scripted outputs', async () => {
    const agent = new ScriptedAgent(base);
    const plan = toPlan(await agent.plan(planRequest(1), options()));
    const summary = await agent.summarize(summarizeRequest(plan), options());
    expect(summary).toEqual({
      summary: 'Done: Checkout errors, 2 steps, service checkout-api',
      outputs: [{ type: 'pullRequest', pullRequest: { url: 'https://example.test/pr/1', title: 'Fix', description: '' } }],
    });
  });
});

describe('ScriptedAgent delays', () => {
  const slow: AgentScriptInput = {
    ...base,
    planDelayMs: '10s',
    plans: [{ steps: [{ title: 'Slow step', delayMs: 3_000, result: { description: 'slow ok' } }] }],
    replyDelayMs: 10_000,
  };

  afterEach(() => jest.useRealTimers());

  it('rejects promptly with the signal reason when aborted during a delay', async () => {
    const agent = new ScriptedAgent(slow);
    const controller = new AbortController();
    const reason = new Error('session cancelled');
    const started = Date.now();
    const pending = agent.plan(planRequest(1), options({ signal: controller.signal }));
    setTimeout(() => controller.abort(reason), 20);
    expect(await rejection(pending)).toBe(reason);
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('rejects with an AbortError when aborted without a reason', async () => {
    const agent = new ScriptedAgent(slow);
    const controller = new AbortController();
    const pending = agent.reply(replyRequest('hi'), options({ signal: controller.signal }));
    controller.abort();
    const error = await rejection(pending);
    expect((error as Error).name).toBe('AbortError');
  });

  it('does not answer a call whose signal is already aborted, even without a delay', async () => {
    const agent = new ScriptedAgent(base);
    const controller = new AbortController();
    const reason = new Error('gone');
    controller.abort(reason);
    expect(
      await rejection(
        agent.summarize(summarizeRequest(toPlan(await agent.plan(planRequest(1), options()))), options({ signal: controller.signal })),
      ),
    ).toBe(reason);
  });

  it('waits the scripted delay and heartbeats at least every second', async () => {
    jest.useFakeTimers();
    const agent = new ScriptedAgent(slow);
    const plan: Plan = { id: 'p', steps: [{ id: 'p0', index: 0, title: 'Slow step', description: '' }] };
    const beats: number[] = [];
    const start = Date.now();
    let settled = false;
    const pending = agent
      .executeStep(stepRequest(plan, 0), options({ heartbeat: () => beats.push(Date.now() - start) }))
      .finally(() => (settled = true));

    await jest.advanceTimersByTimeAsync(2_999);
    expect(settled).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    expect((await pending).description).toBe('slow ok');

    expect(beats[0]).toBe(0);
    const gaps = [...beats.slice(1), 3_000].map((t, i) => t - beats[i]!);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(1_000);
    // No heartbeats after the call settled: its timers are cleared.
    const count = beats.length;
    await jest.advanceTimersByTimeAsync(5_000);
    expect(beats).toHaveLength(count);
  });
});

/** A script a test breaks on purpose (deletes a required field, adds an unknown one): JSON, not a typed script. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the point is to build what the types forbid
type BrokenScript = any;

describe('script validation', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'andon-script-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function writeScript(content: unknown): string {
    const file = join(dir, 'script.json');
    writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
    return file;
  }

  function loadError(content: unknown): string {
    const file = writeScript(content);
    try {
      loadScript(file);
    } catch (error) {
      return (error as Error).message;
    }
    throw new Error('expected loadScript to throw');
  }

  it('names the file, the field and what was expected', () => {
    const script = structuredClone(base) as BrokenScript;
    delete script.plans[0].steps[1].result.description;
    const message = loadError(script);
    expect(message).toContain(join(dir, 'script.json'));
    expect(message).toContain('plans[0].steps[1].result.description: expected string, received undefined');
  });

  it('rejects misspelt fields', () => {
    const script = structuredClone(base) as BrokenScript;
    script.plans[0].steps[0].delay = 100;
    expect(loadError(script)).toMatch(/plans\[0\]\.steps\[0\]: Unrecognized key: "delay"/);
  });

  it('rejects empty plans, bad failure kinds, duplicate attempts and invalid regular expressions', () => {
    expect(loadError({ ...base, plans: [] })).toMatch(/plans: Too small: expected array to have >=1 items/);
    expect(loadError({ ...base, planFailures: [{ attempt: 1, kind: 'flaky', message: 'x' }] })).toMatch(
      /planFailures\[0\]\.kind: .*expected one of "transient"\|"permanent"/,
    );
    expect(loadError({ ...base, planFailures: [{ attempt: 0, kind: 'transient', message: 'x' }] })).toMatch(
      /planFailures\[0\]\.attempt: .*>=1/,
    );
    expect(
      loadError({
        ...base,
        planFailures: [
          { attempt: 1, kind: 'transient', message: 'x' },
          { attempt: 1, kind: 'permanent', message: 'y' },
        ],
      }),
    ).toMatch(/planFailures: expected at most one failure per attempt/);
    expect(loadError({ ...base, replies: [{ match: '(unclosed', reply: 'x' }] })).toMatch(
      /replies\[0\]\.match: expected a valid regular expression/,
    );
    expect(loadError({ ...base, replyDelayMs: 'soon' })).toMatch(/replyDelayMs: .*duration/);
  });

  it('reports missing top-level fields, non-objects, bad JSON and missing files', () => {
    const { summary: _summary, ...noSummary } = base;
    expect(loadError(noSummary)).toMatch(/summary: expected string, received undefined/);
    expect(loadError([])).toMatch(/\(root\): expected object, received array/);
    const badJson = loadError('{ "name": ');
    expect(badJson).toContain(join(dir, 'script.json'));
    expect(badJson).toContain('not valid JSON');
    expect(() => loadScript(join(dir, 'missing.json'))).toThrow(/cannot read agent script .*missing\.json/);
  });

  it('validates scripts passed to the constructor too', () => {
    expect(() => new ScriptedAgent({ ...base, name: '' })).toThrow(/invalid agent script inline script: name: /);
    expect(parseScript(base).plans[0]!.steps[0]!.delayMs).toBe(0);
    expect(parseScript({ ...base, replyDelayMs: '250ms' }).replyDelayMs).toBe(250);
  });
});

describe('scripts/demo.json', () => {
  afterEach(() => jest.useRealTimers());

  it('loads and plays a whole session with valid results', async () => {
    jest.useFakeTimers();
    const agent = ScriptedAgent.fromFile(DEMO);
    expect(agent.name).toBe('scripted:checkout-api-errors');
    /** Demo delays are real-time; fake timers keep the test fast. */
    async function play<T>(promise: Promise<T>): Promise<T> {
      await jest.advanceTimersByTimeAsync(5_000);
      return promise;
    }

    const planResult = PlanResult.parse(await play(agent.plan(planRequest(1), options())));
    const plan = toPlan(planResult);
    expect(plan.steps.map((s) => s.title)).toEqual([
      expect.stringMatching(/deploys/i),
      expect.stringMatching(/logs/i),
      expect.stringMatching(/roll back/i),
      expect.stringMatching(/error rate/i),
      expect.stringMatching(/PR/),
    ]);

    const artifactTypes: string[] = [];
    for (const step of plan.steps) {
      const result = StepResult.parse(await play(agent.executeStep(stepRequest(plan, step.index), options())));
      expect(result.description.length).toBeGreaterThan(20);
      artifactTypes.push(...result.artifacts.map((a) => a.type));
    }
    expect(artifactTypes).toContain('bashOutput');

    const summary = SummaryResult.parse(await play(agent.summarize(summarizeRequest(plan), options())));
    expect(summary.summary).toMatch(/checkout-api/);
    expect(summary.outputs.some((o) => o.type === 'pullRequest' || o.type === 'changeSet')).toBe(true);

    const answers = new Set<string>();
    for (const question of ['Why are you rolling back?', 'status?', 'What is the risk here?', 'How do I undo the rollback?']) {
      answers.add(ReplyResult.parse(await play(agent.reply(replyRequest(question, plan), options()))).message);
    }
    const fallback = (await play(agent.reply(replyRequest('ok thanks', plan), options()))).message;
    expect(answers.size).toBe(4);
    expect(answers.has(fallback)).toBe(false);
    expect(fallback).toContain('ok thanks');
  });
});
