/**
 * The agents of a worker, by name. Each is given as an object implementing `Agent` or as
 * configuration: a built-in kind (made by its factory) or a module of your own (loaded and
 * checked here, when the worker starts, so a wrong path or a missing method stops the start with
 * a message naming the agent). Activities look the session's agent up by name on every call.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { isPostgresUrl } from './llm/config';
import { pathToFileURL } from 'node:url';
import { AgentConfig, AgentName, type AgentConfigInput, type ModuleAgentConfig } from './agent-config';
import type { Agent } from './agent';
import type { TextCipherOptions } from '../storage/cipher';
import { JulesAgent } from './jules/agent';
import { RunbookAgent } from './runbook/agent';
import { ScriptedAgent } from './scripted/agent';

/** A worker's agent: an object implementing `Agent`, or configuration that makes one (a built-in kind or a module). */
export type AgentSource = Agent | AgentConfigInput;

export interface AgentContext {
  /** The name the agent is registered under. */
  name: string;
  /** What relative paths resolve against (the project root). */
  root: string;
  env: NodeJS.ProcessEnv;
  /**
   * The encryption keys (`encryption.keys`, `activeKeyId`), when configured: what an agent keeps on
   * disk (the LLM agent's transcripts) is sealed with them (docs/encryption.md).
   */
  encryption?: TextCipherOptions;
}

/** What a module may export: the agent itself, or a factory (or class) given the entry's `options`. */
export type AgentFactory<Options = Record<string, unknown>> = (options: Options, context: AgentContext) => Agent | Promise<Agent>;

/** The built-in agents, made from their configuration the same way a module's factory is called. */
export const AGENT_FACTORIES: {
  [K in AgentConfig['kind']]: (config: Extract<AgentConfig, { kind: K }>, context: AgentContext) => Agent | Promise<Agent>;
} = {
  // Relative paths resolve against the root (loadConfig has made them absolute already).
  scripted: (config, { root }) => ScriptedAgent.fromFile(path.resolve(root, config.script)),
  runbook: (config, { root }) =>
    RunbookAgent.fromConfig({ ...config, runbooks: path.resolve(root, config.runbooks), workdir: path.resolve(root, config.workdir) }),
  llm: (config, { root, env, encryption }) =>
    llmAgent().fromConfig(
      {
        ...config,
        diagnostics: { ...config.diagnostics, workdir: path.resolve(root, config.diagnostics.workdir) },
        transcripts:
          config.transcripts && isPostgresUrl(config.transcripts)
            ? config.transcripts
            : path.resolve(root, config.transcripts ?? 'data/transcripts.db'),
      },
      env,
      { encryption },
    ),
  // The key is read from the worker's environment here, and stays in the agent.
  jules: (config, { env }) => JulesAgent.fromConfig(config, env),
  module: (config, context) => loadAgentModule(config, context),
};

/**
 * The LLM agent, loaded when a worker configures one: it loads the AI SDK (`ai`, `@ai-sdk/*`),
 * which the andon package leaves to the workers that use it (optional peer dependencies).
 */
function llmAgent(): (typeof import('./llm/agent'))['LlmAgent'] {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require('./llm/agent') as typeof import('./llm/agent')).LlmAgent;
  } catch (error) {
    const missing = (error as { code?: string }).code === 'MODULE_NOT_FOUND' && /'(ai|@ai-sdk\/[^']+)'/.exec((error as Error).message);
    if (!missing) throw error;
    throw new AgentRegistryError(
      `the llm agent needs the AI SDK, which is not installed (${missing[1]}): npm install ai @ai-sdk/anthropic @ai-sdk/google @ai-sdk/openai @ai-sdk/openai-compatible`,
      { cause: error },
    );
  }
}

/** A registry that cannot be built: a wrong configuration, a module that is missing or is no agent. */
export class AgentRegistryError extends Error {
  override name = 'AgentRegistryError';
}

/** A session named an agent this worker does not have. */
export class UnknownAgentError extends Error {
  override name = 'UnknownAgentError';
  constructor(
    readonly agent: string,
    readonly registered: readonly string[],
  ) {
    super(`no agent is named "${agent}" on this worker (registered: ${registered.join(', ')})`);
  }
}

const REQUIRED = ['plan', 'executeStep', 'reply', 'summarize'] as const;
const OPTIONAL = ['turn', 'runTool', 'checkToolArguments'] as const;

export class AgentRegistry {
  private constructor(
    private readonly agents: ReadonlyMap<string, Agent>,
    /** The agent of sessions that name none. */
    readonly defaultAgent: string,
  ) {}

  /**
   * Makes, loads and checks every agent. `defaultAgent` may be left out when there is exactly one.
   * Relative module and file paths resolve against `root` (default: the working directory).
   */
  static async create(
    sources: Readonly<Record<string, AgentSource>>,
    options: { defaultAgent?: string; root?: string; env?: NodeJS.ProcessEnv; encryption?: TextCipherOptions } = {},
  ): Promise<AgentRegistry> {
    const names = Object.keys(sources);
    if (names.length === 0) throw new AgentRegistryError('a worker needs at least one agent (agents: { name: agent })');
    const agents = new Map<string, Agent>();
    for (const [name, source] of Object.entries(sources)) {
      const parsedName = AgentName.safeParse(name);
      if (!parsedName.success) throw new AgentRegistryError(`agent name "${name}": ${parsedName.error.issues[0]?.message}`);
      const context = { name, root: options.root ?? process.cwd(), env: options.env ?? process.env, encryption: options.encryption };
      agents.set(name, await makeAgent(name, source, context));
    }
    const defaultAgent = options.defaultAgent ?? (names.length === 1 ? names[0] : undefined);
    if (defaultAgent === undefined) {
      throw new AgentRegistryError(`defaultAgent: name the agent of sessions that choose none (registered: ${names.join(', ')})`);
    }
    if (!agents.has(defaultAgent))
      throw new AgentRegistryError(`defaultAgent: no agent is named "${defaultAgent}" (registered: ${names.join(', ')})`);
    return new AgentRegistry(agents, defaultAgent);
  }

  /** Registered names, the default first. */
  get names(): string[] {
    return [this.defaultAgent, ...[...this.agents.keys()].filter((name) => name !== this.defaultAgent)];
  }

  /** The agent a session chose, or the default one. Throws `UnknownAgentError` for a name that is not registered. */
  resolve(name: string | undefined): { name: string; agent: Agent } {
    const chosen = name ?? this.defaultAgent;
    const agent = this.agents.get(chosen);
    if (!agent) throw new UnknownAgentError(chosen, this.names);
    return { name: chosen, agent };
  }
}

async function makeAgent(name: string, source: AgentSource, context: AgentContext): Promise<Agent> {
  if (isAgentObject(source)) return checkAgent(source, `agent "${name}"`);
  const parsed = AgentConfig.safeParse(source);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.join('.');
    throw new AgentRegistryError(`agent "${name}": ${field ? `${field}: ` : ''}${issue?.message}`);
  }
  const config = parsed.data;
  let made: unknown;
  try {
    made = await (AGENT_FACTORIES[config.kind] as (config: AgentConfig, context: AgentContext) => Agent | Promise<Agent>)(config, context);
  } catch (error) {
    if (error instanceof AgentRegistryError) throw error;
    throw new AgentRegistryError(`agent "${name}" (${config.kind}) could not be made: ${(error as Error).message ?? String(error)}`, {
      cause: error,
    });
  }
  return checkAgent(
    made,
    config.kind === 'module' ? `agent "${name}" (module ${config.module}, export ${config.export})` : `agent "${name}" (${config.kind})`,
  );
}

/** An object with a `plan` method, or with neither `kind` nor `module` (configuration has one), is taken for an agent and checked. */
function isAgentObject(source: AgentSource): source is Agent {
  if (typeof source !== 'object' || source === null) return false;
  return typeof (source as { plan?: unknown }).plan === 'function' || (!('kind' in source) && !('module' in source));
}

/** The value as an `Agent`, or an error naming the agent and every method it lacks. */
export function checkAgent(value: unknown, what: string): Agent {
  if (typeof value !== 'object' || value === null) {
    throw new AgentRegistryError(
      `${what} is not an agent: expected an object with ${REQUIRED.join(', ')}, got ${value === null ? 'null' : typeof value}`,
    );
  }
  const record = value as Record<string, unknown>;
  const missing = REQUIRED.filter((method) => typeof record[method] !== 'function');
  if (missing.length > 0) {
    throw new AgentRegistryError(`${what} is missing ${missing.join(', ')} (an agent needs the methods ${REQUIRED.join(', ')})`);
  }
  const wrong = OPTIONAL.filter((method) => record[method] !== undefined && typeof record[method] !== 'function');
  if (wrong.length > 0) throw new AgentRegistryError(`${what}: ${wrong.join(', ')} must be a method when present`);
  const hasTurn = typeof record.turn === 'function';
  if (hasTurn !== (typeof record.runTool === 'function')) {
    throw new AgentRegistryError(
      `${what} has ${hasTurn ? 'turn but no runTool' : 'runTool but no turn'}: an agent that works through tools needs both`,
    );
  }
  return value as Agent;
}

/** Loads `module`, takes `export`, and calls it with `options` when it is a factory. */
async function loadAgentModule(config: ModuleAgentConfig, context: AgentContext): Promise<Agent> {
  const what = `agent "${context.name}" (module ${config.module})`;
  const loaded = await importModule(config.module, context.root, what);
  const exports = loaded as Record<string, unknown>;
  let value = exports[config.export];
  // A CommonJS `module.exports = agent` (or factory) has no `default` but is the default export.
  if (
    value === undefined &&
    config.export === 'default' &&
    (typeof loaded === 'function' || REQUIRED.every((m) => typeof exports[m] === 'function'))
  ) {
    value = loaded;
  }
  if (value === undefined) {
    const names = Object.keys(exports).filter((key) => key !== '__esModule');
    throw new AgentRegistryError(`${what} has no export "${config.export}" (it exports: ${names.join(', ') || 'nothing'})`);
  }
  if (typeof value === 'function') {
    const options = config.options ?? {};
    const made: unknown = isClass(value)
      ? new (value as new (o: unknown, c: AgentContext) => unknown)(options, context)
      : await (value as AgentFactory)(options, context);
    return checkAgent(made, `${what}, made by export ${config.export}`);
  }
  if (config.options !== undefined) {
    throw new AgentRegistryError(
      `${what}: options are given but export "${config.export}" is an object, not a factory that could take them`,
    );
  }
  return checkAgent(value, `${what}, export ${config.export}`);
}

async function importModule(specifier: string, root: string, what: string): Promise<unknown> {
  const local = specifier.startsWith('.') || path.isAbsolute(specifier);
  let resolved: string;
  try {
    resolved = local ? require.resolve(path.resolve(root, specifier)) : require.resolve(specifier, { paths: [root] });
  } catch {
    const where = local ? path.resolve(root, specifier) : `${specifier} (from ${root})`;
    throw new AgentRegistryError(
      `${what}: cannot find the module ${where}${local && !existsSync(path.resolve(root, specifier)) ? ' (no such file)' : ''}`,
    );
  }
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(resolved);
  } catch (error) {
    // An ES module on a Node.js that cannot require() it: import it instead. (Written so that
    // compiling to CommonJS keeps a real dynamic import.)
    if ((error as NodeJS.ErrnoException).code === 'ERR_REQUIRE_ESM') {
      const nativeImport = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<unknown>;
      return nativeImport(pathToFileURL(resolved).href);
    }
    throw new AgentRegistryError(`${what}: loading ${resolved} failed: ${(error as Error).message}`, { cause: error });
  }
}

function isClass(value: unknown): boolean {
  return typeof value === 'function' && /^class[\s{]/.test(Function.prototype.toString.call(value));
}
