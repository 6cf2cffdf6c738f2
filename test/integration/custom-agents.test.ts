/**
 * Agents of one's own: a real worker holding three agents by name — one defined in this file, the
 * built-in scripted agent made from its configuration, and a module loaded from a fixture file —
 * and sessions choosing among them by name (the SDK, the HTTP API, the CLI over either transport, a
 * webhook route), the default when they name none, and a clear failure when they name one the
 * worker does not have. The session's view (and `andon show`) names the agent it chose.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Agent, PlanRequest, ReplyRequest, StepRequest } from '../../src/agents/agent';
import { SessionFailedError, type SessionView } from '../../src/client';
import { json, killAll, runCli } from '../support/cli-process';
import { SqliteMemoryStore } from '../../src/memory';
import { quickScript, startHarness, type Harness } from '../support/harness';
import { rejectionOf } from '../support/rejection';
import { TOKENS, startService, type TestService } from '../support/service-harness';
import { at, first } from '../support/at';

const T = { timeoutMs: 20_000 };

/** An agent of one's own, defined right here: two steps, and it says who it is. */
class MineAgent implements Agent {
  readonly name = 'mine (test file)';
  readonly plans: PlanRequest[] = [];
  readonly steps: StepRequest[] = [];
  readonly replies: ReplyRequest[] = [];

  async plan(request: PlanRequest) {
    this.plans.push(request);
    return {
      kind: 'plan' as const,
      title: `Mine: ${request.title}`,
      steps: [{ title: 'Think' }, { title: 'Act', description: 'carefully' }],
    };
  }
  async executeStep(request: StepRequest) {
    this.steps.push(request);
    return { description: `${request.agent} did ${request.step.title}` };
  }
  async reply(request: ReplyRequest) {
    this.replies.push(request);
    return { message: `mine heard: ${request.message}` };
  }
  async summarize(request: { agent?: string; steps: { description: string }[] }) {
    return { summary: `${request.agent}: ${request.steps.map((s) => s.description).join('; ')}` };
  }
}

const mine = new MineAgent();
const dir = mkdtempSync(path.join(os.tmpdir(), 'andon-custom-agents-'));
const script = path.join(dir, 'quick.json');
writeFileSync(script, JSON.stringify(quickScript()));
const memory = SqliteMemoryStore.open(path.join(dir, 'memory.db'));

let h: Harness;
let api: TestService;
beforeAll(async () => {
  h = await startHarness({
    agents: {
      scripted: { kind: 'scripted', script },
      mine,
      echo: { module: path.resolve(__dirname, '../fixtures/agents/echo-agent.js'), options: { greeting: 'ahoy' } },
    },
    defaultAgent: 'scripted',
    memory,
  });
  api = await startService(h.andon, {
    webhooks: {
      generic: { allowUnauthenticated: true },
      routes: [
        { name: 'mine-team', match: { labels: { team: 'mine' } }, prompt: 'Handle {summary}', agent: 'mine', requirePlanApproval: false },
      ],
      defaultRoute: { requirePlanApproval: false },
    },
  });
});
afterAll(async () => {
  killAll();
  await api?.close();
  await h?.close();
  await memory.close();
});

it('a session that names the agent defined in the test file gets it, for plan, steps, chat and summary', async () => {
  const session = await h.andon.session({ prompt: 'rotate the keys', agent: 'mine' });
  await session.waitFor('awaitingPlanApproval', T);
  expect((await session.info()).plan?.title).toBe('Mine: rotate the keys');
  expect((await session.ask('are you there?', T)).reply).toBe('mine heard: are you there?');
  await session.approve();
  const outcome = await session.result(T);
  expect(outcome.summary).toBe('mine: mine did Think; mine did Act');
  // The agent receives the name it is registered under.
  expect(mine.plans.find((p) => p.sessionId === session.id)?.agent).toBe('mine');
  expect(mine.replies.find((r) => r.sessionId === session.id)?.agent).toBe('mine');
  // The view names it, and so do the Temporal UI's current details.
  expect((await session.info()).agent).toBe('mine');
  const metadata = await h.client.workflow.getHandle(session.id).query<{ currentDetails?: string }>('__temporal_workflow_metadata');
  expect(metadata.currentDetails).toContain('**Agent:** mine');
});

it('POST /v1/sessions takes `agent`: the session gets that agent and its view names it; a malformed name is refused naming the field', async () => {
  const created = await api.call<SessionView>('POST', '/v1/sessions', { body: { prompt: 'tidy the queue', agent: 'mine' } });
  expect(created.status).toBe(201);
  expect(created.body.agent).toBe('mine');
  const waited = await api.call<SessionView>('GET', `/v1/sessions/${created.body.id}/wait?state=awaitingPlanApproval&timeout=20s`);
  expect(waited.body).toMatchObject({ agent: 'mine', plan: { title: 'Mine: tidy the queue' } });

  const bad = await api.call('POST', '/v1/sessions', { body: { prompt: 'tidy the queue', agent: ' mine' } });
  expect(bad.status).toBe(400);
  expect(bad.body.error).toMatchObject({ field: 'agent', message: expect.stringContaining('whitespace') });

  // Naming none: the view has no agent (the worker's default works on it).
  const plain = await api.call<SessionView>('POST', '/v1/sessions', { body: { prompt: 'tidy it again', requirePlanApproval: false } });
  expect(plain.body.agent).toBeUndefined();
  await h.andon.session(created.body.id).cancel('done');
});

describe('andon start --agent', () => {
  const overTemporal = (args: string[]) => runCli([...args, '--address', h.address, '--task-queue', h.taskQueue], process.env).done;
  const overService = (args: string[]) => {
    // TEMPORAL_ADDRESS points nowhere: a command that went to Temporal instead would fail.
    const env: NodeJS.ProcessEnv = { ...process.env, TEMPORAL_ADDRESS: '127.0.0.1:1' };
    delete env.ANDON_SERVICE_URL;
    delete env.ANDON_TOKEN;
    return runCli([...args, '--service', api.url, '--token', TOKENS.alice], env).done;
  };

  it.each([
    ['over Temporal', overTemporal],
    ['over the service', overService],
  ])('%s starts the session with the named agent, and `andon show` names it', async (_how, cli) => {
    const started = json<SessionView>(await cli(['start', '--prompt', 'drain the node', '--agent', 'mine', '--wait', '--json']));
    expect(started).toMatchObject({ state: 'awaitingPlanApproval', agent: 'mine', plan: { title: 'Mine: drain the node' } });
    expect(mine.plans.find((p) => p.sessionId === started.id)?.agent).toBe('mine');

    const shown = await cli(['show', started.id]);
    expect(shown.stderr).toBe('');
    expect(shown.stdout).toMatch(/^agent\s+mine$/m);
    await h.andon.session(started.id).cancel('done');
  });

  it('refuses a malformed agent name before starting anything', async () => {
    const run = await overTemporal(['start', '--prompt', 'drain the node', '--agent', ' ', '--json']);
    expect(run.code).toBe(2);
    expect(JSON.parse(run.stdout)).toEqual({
      error: { type: 'ValidationError', field: 'agent', message: 'invalid agent: must not start or end with whitespace' },
    });
  });
});

it('a session that names no agent gets the default one, the built-in scripted agent made from configuration', async () => {
  const session = await h.andon.run({ prompt: 'restart the cache' });
  expect((await session.result(T)).summary).toBe('done: restart the cache');
  expect(mine.plans.some((p) => p.sessionId === session.id)).toBe(false);
  const named = await h.andon.run({ prompt: 'restart it again', agent: 'scripted' });
  expect((await named.result(T)).summary).toBe('done: restart it again');
});

it('a session can choose the agent loaded from a module file by path', async () => {
  const session = await h.andon.run({ prompt: 'say hello', agent: 'echo' });
  const outcome = await session.result(T);
  expect(outcome.summary).toBe('ahoy from echo');
  const { events } = await session.timeline();
  expect(events.find((e) => e.type === 'progressUpdated')).toMatchObject({ title: 'Echo', description: 'ahoy from echo: say hello' });
});

it('a session that names an agent the worker does not have fails at once, naming it and the registered ones', async () => {
  const session = await h.andon.run({ prompt: 'who will do this?', agent: 'nobody' });
  const error = await rejectionOf(session.result(T));
  expect(SessionFailedError.isInstance(error)).toBe(true);
  expect((error as SessionFailedError).reason).toBe('no agent is named "nobody" on this worker (registered: scripted, mine, echo)');
  const { events } = await session.timeline();
  expect(events.map((e) => e.type)).toEqual(['sessionCreated', 'sessionFailed']);
});

it('a webhook route that names an agent starts its sessions with that agent; other alerts get the default', async () => {
  const post = (payload: object) =>
    fetch(`${api.url}/v1/webhooks/generic`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(payload),
    }).then(async (response) => ({
      status: response.status,
      body: (await response.json()) as { sessions: { id: string; route: string }[] },
    }));
  const suffix = Date.now();
  const routed = await post({ fingerprint: `mine-${suffix}`, status: 'firing', summary: 'queue stuck', labels: { team: 'mine' } });
  expect(routed.status).toBe(202);
  expect(routed.body.sessions[0]).toMatchObject({ route: 'mine-team' });
  const session = h.andon.session(first(routed.body.sessions).id);
  expect((await session.result(T)).summary).toBe('mine: mine did Think; mine did Act');
  expect(mine.plans.find((p) => p.sessionId === routed.body.sessions[0]?.id)?.prompt).toBe('Handle queue stuck');

  const other = await post({ fingerprint: `other-${suffix}`, status: 'firing', summary: 'disk full', labels: { team: 'db' } });
  expect(other.body.sessions[0]).toMatchObject({ route: 'default' });
  expect((await h.andon.session(at(other.body.sessions, 0).id).result(T)).summary).toMatch(/^done: /);
});

it("an agent memory is kept under the session's agent: recalled by its next session, not by another agent's", async () => {
  const first = await h.andon.session({ prompt: 'billing export slow', agent: 'mine' });
  await first.waitFor('awaitingPlanApproval', T);
  await first.writeMemory('billing exports are slow on Mondays', { scope: 'agent', by: 'test:alice' });
  await first.cancel('done');

  const second = await h.andon.session({ prompt: 'billing export slow again', agent: 'mine' });
  await second.waitFor('awaitingPlanApproval', T);
  expect(mine.plans.find((p) => p.sessionId === second.id)?.memories?.map((m) => m.content)).toEqual([
    'billing exports are slow on Mondays',
  ]);
  const scripted = await h.andon.session({ prompt: 'billing export slow, scripted' });
  await scripted.waitFor('awaitingPlanApproval', T);
  expect((await scripted.timeline()).events.some((e) => e.type === 'memoryRecalled')).toBe(false);
  await Promise.all([second.cancel('done'), scripted.cancel('done')]);
});
