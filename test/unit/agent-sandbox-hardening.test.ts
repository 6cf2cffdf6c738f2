/**
 * The agents' sandbox against a hostile model or log (issue #11): command allow-lists check every
 * argument, model and runbook regexes run in linear time, a cancelled or timed-out command takes
 * what it started with it, and plan steps get an idempotency key.
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CallOptions, PlanResult, StepRequest } from '../../src/agents/agent';
import { LlmBackendConfig } from '../../src/agents/llm/config';
import { createTools } from '../../src/agents/llm/tools';
import {
  CommandEntry,
  RunbookAgent,
  checkCommand,
  compilePattern,
  idempotencyEnv,
  parseRunbook,
  runCommand,
  scanLog,
} from '../../src/agents/runbook';
import type { Plan } from '../../src/session/schema';

const ROOT = join(__dirname, '..', '..');

let work: string;
beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), 'andon-sandbox-'));
  cpSync(join(ROOT, 'demo'), join(work, 'demo'), { recursive: true, filter: (src) => !src.includes(`${join('demo', 'state')}`) });
});
afterEach(() => rmSync(work, { recursive: true, force: true }));

const context = () => ({ signal: new AbortController().signal, heartbeat: () => undefined });

describe('command allow-lists check every argument', () => {
  const kubectl = CommandEntry.parse({
    prefix: 'kubectl get',
    args: ['pods', 'events', 'deployments'],
    flags: { '-n': 'value', '--namespace': 'value', '-o': ['json', 'yaml', 'wide'] },
  });
  const allow = ['git log', 'node demo/bin/status.js', kubectl];

  it('refuses output-writing flags and flags nobody listed, whatever the prefix', () => {
    expect(checkCommand(['git', 'log', '--output=/tmp/x'], allow, { readOnly: true })).toEqual({
      ok: false,
      reason: 'flag "--output" is not allowed after "git log"',
    });
    expect(checkCommand(['git', 'log', '-p'], allow).ok).toBe(false);
    expect(checkCommand(['git', 'log', 'main'], allow).ok).toBe(true);
    expect(checkCommand(['node', 'demo/bin/status.js', '--inspect'], allow).ok).toBe(false);
    expect(checkCommand(['node', 'demo/bin/status.js', 'checkout-api'], allow).ok).toBe(true);
  });

  it('refuses secrets in read-only commands, and resources or values the rule does not list', () => {
    expect(checkCommand(['kubectl', 'get', 'secrets', '-o', 'yaml'], allow, { readOnly: true })).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/names secrets/),
    });
    expect(checkCommand(['kubectl', 'get', 'secret/db-password'], allow, { readOnly: true }).ok).toBe(false);
    expect(checkCommand(['kubectl', 'get', 'configmaps'], allow, { readOnly: true })).toMatchObject({ ok: false });
    expect(checkCommand(['kubectl', 'get', 'pods', '-o', 'go-template={{.}}'], allow, { readOnly: true }).ok).toBe(false);
    expect(checkCommand(['kubectl', 'get', 'pods', '-o', 'json', '-n', 'shop'], allow, { readOnly: true }).ok).toBe(true);
    expect(checkCommand(['kubectl', 'get', 'pods', '--namespace=shop'], allow, { readOnly: true }).ok).toBe(true);
    expect(checkCommand(['kubectl', 'get', 'pods', '-n'], allow, { readOnly: true })).toEqual({
      ok: false,
      reason: 'flag "-n" needs a value',
    });
  });

  it('will not configure an output flag with a free value', () => {
    const parsed = CommandEntry.safeParse({ prefix: 'git log', flags: { '--output': 'value' } });
    expect(parsed.success).toBe(false);
    expect(JSON.stringify(parsed.error?.issues)).toMatch(/--output can write a file/);
  });

  it('refuses `git log --output=FILE` from the model before anything runs', async () => {
    const config = LlmBackendConfig.parse({
      kind: 'llm',
      provider: 'openai',
      model: 'test',
      diagnostics: { workdir: work, allowedRoots: ['demo'], readOnlyCommands: ['git log'] },
    });
    const tool = createTools(config).get('runReadOnlyCommand')!;
    const target = join(work, 'written-by-git');
    await expect(tool.run({ argv: ['git', 'log', `--output=${target}`] }, context())).rejects.toThrow(
      /not allowed by diagnostics\.readOnlyCommands: flag "--output"/,
    );
    expect(existsSync(target)).toBe(false);
    expect(tool.description).toContain('git log [WORD...]');
  });
});

describe('regular expressions run in linear time (RE2)', () => {
  it('searches 1 MiB of hostile log with a catastrophic pattern quickly', async () => {
    const file = join(work, 'demo', 'logs', 'hostile.log');
    const line = `${'a'.repeat(4_000)}b`;
    writeFileSync(file, `${Array.from({ length: 262 }, () => line).join('\n')}\n`);
    const config = LlmBackendConfig.parse({
      kind: 'llm',
      provider: 'openai',
      model: 'test',
      diagnostics: { workdir: work, allowedRoots: ['demo'] },
    });
    const started = Date.now();
    const found = await createTools(config).get('searchLog')!.run({ path: 'demo/logs/hostile.log', pattern: '(a+)+$' }, context());
    expect(found.output).toMatch(/^0 of 262 lines match/);
    expect(Date.now() - started).toBeLessThan(5_000);
    const scan = await scanLog(file, { pattern: compilePattern('(a|aa)+b'), maxBytes: 1 << 20, maxLines: 1 });
    expect(scan.count).toBe(262);
  });

  it('answers a pattern RE2 cannot run with a clear error, to the model and in runbooks', async () => {
    const config = LlmBackendConfig.parse({ kind: 'llm', provider: 'openai', model: 'test', diagnostics: { workdir: work } });
    const result = await createTools(config).get('searchLog')!.run({ path: 'demo/logs/checkout-api.log', pattern: '(a)\\1' }, context());
    expect(result).toEqual({ ok: false, output: expect.stringMatching(/^invalid pattern for RE2 .*no backreferences/) });
    expect(() => compilePattern('(?=x)y')).toThrow(/invalid pattern for RE2/);
    expect(() =>
      parseRunbook(
        {
          name: 'look',
          investigate: [{ name: 'errors', log: { path: 'demo/logs/x.log', pattern: '(?<!a)b' } }],
          plan: [{ title: 'x', command: ['node', 'demo/bin/status.js', 'x'] }],
          verify: { title: 'y', command: ['node', 'demo/bin/status.js', 'x'] },
        },
        'look.yaml',
      ),
    ).toThrow(/invalid pattern for RE2/);
  });
});

/** Whether a process is gone (a zombie nobody reaped yet counts as gone). */
function gone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  try {
    return /^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

async function waitFor<T>(read: () => T | undefined, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = read();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('commands run in their own process group', () => {
  const pidFile = () => join(work, 'grandchild.pid');
  const readPid = () =>
    existsSync(pidFile()) && readFileSync(pidFile(), 'utf8').trim() ? Number(readFileSync(pidFile(), 'utf8')) : undefined;
  const base = (signal: AbortSignal) => ({ cwd: work, timeoutMs: 30_000, maxOutputBytes: 4096, signal, heartbeat: () => undefined });

  it('kills the grandchildren of a cancelled command', async () => {
    const controller = new AbortController();
    const running = runCommand(['sh', '-c', `sleep 60 & echo $! > ${pidFile()}; wait`], base(controller.signal));
    const pid = await waitFor(readPid);
    expect(gone(pid)).toBe(false);
    controller.abort(new Error('cancelled'));
    await expect(running).rejects.toThrow('cancelled');
    await waitFor(() => (gone(pid) ? true : undefined), 5_000);
  });

  it('kills the whole group at the timeout, with SIGKILL for what ignores SIGTERM', async () => {
    const started = Date.now();
    const result = await runCommand(['sh', '-c', `trap '' TERM; sleep 60 & echo $! > ${pidFile()}; wait`], {
      ...base(new AbortController().signal),
      timeoutMs: 500,
      killGraceMs: 300,
    });
    expect(result.timedOut).toBe(true);
    expect(Date.now() - started).toBeLessThan(10_000);
    const pid = await waitFor(readPid);
    await waitFor(() => (gone(pid) ? true : undefined), 5_000);
  });
});

describe('idempotency keys', () => {
  const options = (attempt: number): CallOptions => ({ signal: new AbortController().signal, attempt, heartbeat: () => undefined });
  const facts = { sessionId: 's-1', prompt: 'checkout-api 5xx', title: 'Checkout errors', context: { service: 'checkout-api' } };

  function toPlan(result: PlanResult): Plan {
    if (result.kind !== 'plan') throw new Error('expected a plan');
    return {
      id: 'plan-1',
      title: result.title,
      steps: result.steps.map((s, index) => ({ id: `plan-1-step-${index + 1}`, index, title: s.title, description: s.description })),
    };
  }

  it('gives each plan step command its key and attempt, and the demo rollback does not run twice', async () => {
    writeFileSync(
      join(work, 'demo', 'bin', 'env.js'),
      "console.log(process.env.ANDON_IDEMPOTENCY_KEY + ' ' + process.env.ANDON_ATTEMPT)\n",
    );
    const agent = new RunbookAgent({
      runbooks: join(ROOT, 'runbooks'),
      workdir: work,
    });
    const plan = toPlan(await agent.plan({ ...facts, round: 1, feedback: [] }, options(1)));
    const request: StepRequest = { ...facts, plan, step: plan.steps[0]!, previous: [] };
    const first = await agent.executeStep(request, options(1));
    expect(first.description).toMatch(/rolled back checkout-api from v2.14.0 to v2.13.2$/);
    expect(readFileSync(join(work, 'demo', 'state', 'checkout-api.state'), 'utf8')).toMatch(/ key=s-1:plan-1-step-1\n$/);
    // The worker died after the rollback ran: Temporal retries the activity.
    const retry = await agent.executeStep(request, options(2));
    expect(retry.description).toMatch(/already rolled back by this step \(key s-1:plan-1-step-1\); attempt 2 changes nothing$/);
    expect(readFileSync(join(work, 'demo', 'state', 'checkout-api.state'), 'utf8').match(/^rolled back/gm)).toHaveLength(1);

    const env = await runCommand(['node', 'demo/bin/env.js'], {
      cwd: work,
      timeoutMs: 10_000,
      maxOutputBytes: 1024,
      signal: new AbortController().signal,
      heartbeat: () => undefined,
      env: idempotencyEnv({ sessionId: 's-1', stepId: 'plan-1-step-2', callId: 'call-7', attempt: 3 }),
    });
    expect(env.output).toBe('s-1:plan-1-step-2:call-7 3\n');
  });
});
