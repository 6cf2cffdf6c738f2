/**
 * The agent registry and the `agents` configuration: agents given as objects, built-in kinds and
 * modules by path; every way one can be wrong stops the start with a message that names the agent
 * (or the configuration field) and what is missing.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AgentRegistry, AgentRegistryError, UnknownAgentError, createAgent, type Agent } from '../../src/agents';
import { RunbookAgent } from '../../src/agents/runbook';
import { ScriptedAgent } from '../../src/agents/scripted';
import { agentsOf, loadConfig } from '../../src/config';
import { SessionConfig } from '../../src/session/schema';
import { WebhooksSettings } from '../../src/service/webhooks/config';
import { routeAlert } from '../../src/service/webhooks/routing';

const ROOT = path.resolve(__dirname, '../..');
const FIXTURES = path.join(ROOT, 'test/fixtures/agents');
const DEMO_SCRIPT = path.join(ROOT, 'scripts/demo.json');
const options = { signal: new AbortController().signal, attempt: 1, heartbeat: () => undefined };
const facts = { sessionId: 's-1', prompt: 'disk full', title: 'Disk full', context: {} };

const mine: Agent = {
  plan: async () => ({ kind: 'plan', steps: [{ title: 'Mine' }] }),
  executeStep: async () => ({ description: 'done' }),
  reply: async () => ({ message: 'hi' }),
  summarize: async () => ({ summary: 'mine' }),
};

async function failure(promise: Promise<unknown>): Promise<Error> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof Error)) throw new Error('expected a rejection');
  return error;
}

describe('AgentRegistry', () => {
  it('holds objects and built-in kinds by name, and resolves the default for a session that names none', async () => {
    const registry = await AgentRegistry.create(
      { mine, scripted: { kind: 'scripted', script: DEMO_SCRIPT } },
      { defaultAgent: 'scripted' },
    );
    expect(registry.names).toEqual(['scripted', 'mine']);
    expect(registry.resolve('mine')).toEqual({ name: 'mine', agent: mine });
    const fallback = registry.resolve(undefined);
    expect(fallback.name).toBe('scripted');
    expect(fallback.agent).toBeInstanceOf(ScriptedAgent);
  });

  it('takes the only agent as the default, and asks for one among several', async () => {
    expect((await AgentRegistry.create({ mine })).defaultAgent).toBe('mine');
    await expect(AgentRegistry.create({ mine, other: mine })).rejects.toThrow(
      'defaultAgent: name the agent of sessions that choose none (registered: mine, other)',
    );
    await expect(AgentRegistry.create({ mine }, { defaultAgent: 'nope' })).rejects.toThrow(
      'defaultAgent: no agent is named "nope" (registered: mine)',
    );
    await expect(AgentRegistry.create({})).rejects.toThrow(/at least one agent/);
    await expect(AgentRegistry.create({ ' padded': mine })).rejects.toThrow(/agent name " padded": must not start or end with whitespace/);
  });

  it('refuses an unknown name, naming it and the registered ones', async () => {
    const registry = await AgentRegistry.create({ mine, other: mine }, { defaultAgent: 'other' });
    let error: unknown;
    try {
      registry.resolve('nope');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UnknownAgentError);
    expect(error).toMatchObject({
      agent: 'nope',
      registered: ['other', 'mine'],
      message: 'no agent is named "nope" on this worker (registered: other, mine)',
    });
  });

  it('names the agent and every method it lacks', async () => {
    const half = { plan: mine.plan, reply: mine.reply } as unknown as Agent;
    const error = await failure(AgentRegistry.create({ half }));
    expect(error).toBeInstanceOf(AgentRegistryError);
    expect(error.message).toBe(
      'agent "half" is missing executeStep, summarize (an agent needs the methods plan, executeStep, reply, summarize)',
    );
    await expect(AgentRegistry.create({ tools: { ...mine, runTool: async () => ({ status: 'ok', output: '' }) } })).rejects.toThrow(
      'agent "tools" has runTool but no turn: an agent that works through tools needs both',
    );
  });

  it('refuses bad configuration of a built-in kind, naming the agent and the field', async () => {
    await expect(AgentRegistry.create({ ops: { kind: 'llm', provider: 'openai-compatible', model: 'm' } as never })).rejects.toThrow(
      /^agent "ops": baseURL: openai-compatible needs/,
    );
    await expect(AgentRegistry.create({ demo: { kind: 'scripted', script: '/nonexistent/script.json' } })).rejects.toThrow(
      /^agent "demo" \(scripted\) could not be made: .*script\.json/,
    );
  });
});

describe('agents from modules', () => {
  it('loads a factory by a path relative to the root and calls it with the options and the name', async () => {
    const registry = await AgentRegistry.create(
      { echo: { kind: 'module', module: './test/fixtures/agents/echo-agent.js', export: 'default', options: { greeting: 'ahoy' } } },
      { root: ROOT },
    );
    const { agent } = registry.resolve('echo');
    expect(agent.name).toBe('echo:echo');
    await expect(
      agent.summarize({ ...facts, agent: 'echo', plan: { id: 'p', hash: 'h', steps: [] }, steps: [] }, options),
    ).resolves.toEqual({ summary: 'ahoy from echo' });
  });

  it('takes a named export: an object, or a class constructed with the options', async () => {
    const file = path.join(FIXTURES, 'named-exports.js');
    expect(await createAgent('a', { kind: 'module', module: file, export: 'agent' })).toMatchObject({ plan: expect.any(Function) });
    const made = await createAgent('c', { kind: 'module', module: file, export: 'ClassAgent', options: { step: 'From options' } });
    await expect(made.plan({ ...facts, round: 1, feedback: [] }, options)).resolves.toEqual({
      kind: 'plan',
      steps: [{ title: 'From options' }],
    });
  });

  it('names the agent, the module and what is wrong with it', async () => {
    const file = path.join(FIXTURES, 'named-exports.js');
    const load = (config: { module: string; export?: string; options?: Record<string, unknown> }) =>
      failure(createAgent('x', { kind: 'module', export: 'default', ...config }, { root: ROOT }));
    expect((await load({ module: './no/such-agent.js' })).message).toBe(
      `agent "x" (module ./no/such-agent.js): cannot find the module ${path.join(ROOT, 'no/such-agent.js')} (no such file)`,
    );
    expect((await load({ module: 'no-such-package-andon' })).message).toMatch(
      /^agent "x" \(module no-such-package-andon\): cannot find the module no-such-package-andon \(from /,
    );
    expect((await load({ module: file, export: 'nope' })).message).toBe(
      `agent "x" (module ${file}) has no export "nope" (it exports: agent, ClassAgent, halfAgent, makesNothing, turnOnly)`,
    );
    expect((await load({ module: file, export: 'halfAgent' })).message).toBe(
      `agent "x" (module ${file}), export halfAgent is missing executeStep, summarize (an agent needs the methods plan, executeStep, reply, summarize)`,
    );
    expect((await load({ module: file, export: 'makesNothing' })).message).toBe(
      `agent "x" (module ${file}), made by export makesNothing is not an agent: expected an object with plan, executeStep, reply, summarize, got undefined`,
    );
    expect((await load({ module: file, export: 'turnOnly' })).message).toMatch(/has turn but no runTool/);
    expect((await load({ module: file, export: 'agent', options: { a: 1 } })).message).toMatch(
      /options are given but export "agent" is an object, not a factory/,
    );
  });
});

describe('the agents configuration', () => {
  const root = '/srv/andon';
  const load = (base: Record<string, unknown>, env: NodeJS.ProcessEnv = {}) => loadConfig({ base: base as never, env, root });

  it('with nothing configured, runs the scripted demo agent as before', () => {
    const config = load({});
    expect(config.backend).toEqual({ kind: 'scripted', script: '/srv/andon/scripts/demo.json' });
    expect(agentsOf(config)).toEqual({ agents: { scripted: config.backend }, defaultAgent: 'scripted' });
  });

  it('registers `backend` beside the named agents, as the default unless defaultAgent names another', () => {
    const config = load({
      backend: { kind: 'runbook' },
      agents: { mine: { module: './agents/mine.js', options: { level: 2 } }, pkg: { module: 'andon-agent-x' } },
    });
    expect(config.agents).toEqual({
      mine: { kind: 'module', module: '/srv/andon/agents/mine.js', export: 'default', options: { level: 2 } },
      pkg: { kind: 'module', module: 'andon-agent-x', export: 'default' },
    });
    const { agents, defaultAgent } = agentsOf(config);
    expect(Object.keys(agents)).toEqual(['mine', 'pkg', 'runbook']);
    expect(defaultAgent).toBe('runbook');
    expect(
      agentsOf(load({ backend: { kind: 'runbook' }, agents: { mine: { module: './m.js' } }, defaultAgent: 'mine' })).defaultAgent,
    ).toBe('mine');
    expect(agentsOf(load({ agents: { mine: { module: './m.js' } } }, { ANDON_DEFAULT_AGENT: 'mine' })).defaultAgent).toBe('mine');
    // An LLM `backend` keeps its `name` (the key of its agent memories).
    const llm = load({ backend: { kind: 'llm', provider: 'openai', model: 'gpt-4.1-mini', name: 'ops-bot' } });
    expect(agentsOf(llm).defaultAgent).toBe('ops-bot');
  });

  it('takes only named agents, resolving their paths against the project root', () => {
    const config = load({
      agents: { demo: { kind: 'scripted', script: 'scripts/other.json' }, books: { kind: 'runbook', runbooks: 'rb' } },
      defaultAgent: 'books',
    });
    expect(config.backend).toBeUndefined();
    expect(config.agents.demo).toEqual({ kind: 'scripted', script: '/srv/andon/scripts/other.json' });
    expect(config.agents.books).toMatchObject({ kind: 'runbook', runbooks: '/srv/andon/rb', workdir: '/srv/andon' });
  });

  it('refuses what cannot work, naming the field', () => {
    expect(() => load({ agents: { a: { module: './a.js' }, b: { module: './b.js' } } })).toThrow(
      'invalid configuration: defaultAgent: name the agent of sessions that choose none (configured: a, b)',
    );
    expect(() => load({ agents: { a: { module: './a.js' } }, defaultAgent: 'b' })).toThrow(
      'invalid configuration: defaultAgent: no agent is named "b" (configured: a)',
    );
    expect(() => load({ agents: { a: { module: './a.js' } } }, { ANDON_DEFAULT_AGENT: 'b' })).toThrow(
      /defaultAgent: no agent is named "b".*\(from ANDON_DEFAULT_AGENT\)/,
    );
    expect(() => load({ backend: { kind: 'runbook' }, agents: { runbook: { module: './a.js' } } })).toThrow(
      'invalid configuration: agents.runbook: "runbook" is already the name of the agent in `backend`; rename one of them',
    );
    expect(() => load({ agents: { a: { kind: 'remote' } } })).toThrow(/^invalid configuration: agents\.a\.kind: /);
    expect(() => load({ agents: { a: { module: './a.js', option: {} } } })).toThrow(/^invalid configuration: agents\.a: .*option/);
    expect(() => load({ agents: {} })).toThrow('invalid configuration: agents: no agent is configured: set `agents` (or `backend`)');
  });
});

describe('choosing an agent', () => {
  it('a session config names its agent; the name must be a plain one', () => {
    expect(SessionConfig.parse({ prompt: 'p', agent: 'mine' }).agent).toBe('mine');
    expect(SessionConfig.parse({ prompt: 'p' }).agent).toBeUndefined();
    const bad = SessionConfig.safeParse({ prompt: 'p', agent: '' });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.path).toEqual(['agent']);
  });

  it('a webhook route puts its agent into the session it starts', () => {
    const config = WebhooksSettings.parse({
      routes: [{ match: { labels: { team: 'db' } }, prompt: 'Look at {summary}', agent: 'mine' }],
      defaultRoute: { agent: 'scripted' },
    });
    const alert = { fingerprint: 'f', status: 'firing' as const, summary: 'disk full', labels: { team: 'db' }, annotations: {} };
    expect(routeAlert(alert as never, 'generic', config).session.agent).toBe('mine');
    expect(routeAlert({ ...alert, labels: { team: 'web' } } as never, 'generic', config).session.agent).toBe('scripted');
    expect(WebhooksSettings.parse({}).defaultRoute.agent).toBeUndefined();
    expect(WebhooksSettings.safeParse({ routes: [{ prompt: 'p', agent: ' x' }] }).error?.issues[0]?.path).toEqual(['routes', 0, 'agent']);
  });
});

it('built-in agents configured in code resolve their relative paths against the given root', async () => {
  // Elsewhere than the root, so the working directory cannot be what makes it work.
  const cwd = process.cwd();
  process.chdir(os.tmpdir());
  try {
    const runbook = await createAgent('rb', { kind: 'runbook' }, { root: ROOT });
    expect((runbook as RunbookAgent).runbooks.map((r) => r.name)).toContain('checkout-api-errors');
  } finally {
    process.chdir(cwd);
  }

  const dir = mkdtempSync(path.join(os.tmpdir(), 'andon-agents-'));
  writeFileSync(
    path.join(dir, 'script.json'),
    JSON.stringify({
      name: 'tiny',
      plans: [{ steps: [{ title: 'One', result: { description: 'done' } }] }],
      defaultReply: 'hi',
      summary: 'done',
    }),
  );
  const agent = await createAgent('tiny', { kind: 'scripted', script: 'script.json' }, { root: dir });
  expect(agent.name).toBe('scripted:tiny');
});
