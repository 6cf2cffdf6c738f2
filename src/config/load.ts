/**
 * Loads andon's configuration: the project's temporal.config.ts (or a given base), environment
 * variables over it (ENV_OVERRIDES), then validation (schema.ts). Where andon connects comes from
 * Temporal's own environment configuration (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
 * TEMPORAL_API_KEY, TEMPORAL_PROFILE and the temporal.toml profile file, via
 * @temporalio/envconfig), so the same settings work for the `temporal` CLI and andon. With none of
 * them set, andon runs its embedded dev server.
 *
 * The client SDK does not load any of this: `npm start` and the CLI do, and pass what the SDK
 * needs to `Andon.connect()` (connectOptions below).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { isPostgresUrl } from '../agents/llm/config';
import type { NativeConnectionOptions } from '@temporalio/worker';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import type { AndonConnectOptions, SessionDefaults } from '../client/andon';
import { configuredAgents, type AgentConfig } from '../agents/agent-config';
import { AndonConfigSchema, ENV_OVERRIDES, type AndonConfig, type AndonConfigInput } from './schema';
import { firstIssue } from '../protocol/issues';
import { AesGcmCodec, EncryptionKeyError, EncryptionKeys } from '../client/codec';

/** Config paths that hold durations: plain digits in the environment mean milliseconds. */
const DURATION_PATHS = new Set(['sessions.followUpWindow', 'service.requestTimeout', 'service.askTimeout']);

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/**
 * Reads the configuration: the project's temporal.config file (or `base`), then environment
 * overrides, then validation. `root` is the project: where the file is looked for and what
 * relative paths resolve against (default: findProjectRoot(), from the working directory up).
 */
export function loadConfig(options: { base?: AndonConfigInput; env?: NodeJS.ProcessEnv; root?: string } = {}): AndonConfig {
  const env = options.env ?? process.env;
  const root = options.root ?? findProjectRoot();
  const merged: Record<string, unknown> = structuredClone((options.base ?? projectConfig(root)) as Record<string, unknown>);
  for (const [name, target] of Object.entries(ENV_OVERRIDES)) {
    const value = env[name];
    if (value !== undefined && value !== '') setPath(merged, target, coerceDuration(target, value));
  }
  // Nothing configured: the scripted demo agent, as always.
  if (merged.backend === undefined && merged.agents === undefined) merged.backend = { kind: 'scripted' };
  const parsed = AndonConfigSchema.safeParse(merged);
  if (!parsed.success) {
    const issue = firstIssue(parsed.error);
    const field = issue.path.join('.');
    const fromEnv = Object.entries(ENV_OVERRIDES).find(
      ([name, target]) => (field === target || field.startsWith(`${target}.`)) && env[name],
    );
    throw new ConfigError(`invalid configuration: ${field}: ${issue.message}${fromEnv ? ` (from ${fromEnv[0]})` : ''}`);
  }
  const config = parsed.data;
  config.dataDir = path.resolve(root, config.dataDir);
  config.devServer.dbFile = path.resolve(root, config.devServer.dbFile ?? path.join(config.dataDir, 'temporal.db'));
  config.workspace.dataDir = path.resolve(root, config.workspace.dataDir ?? path.join(config.dataDir, 'workspaces'));
  if (config.memory.kind === 'sqlite')
    config.memory.file = path.resolve(root, config.memory.file ?? path.join(config.dataDir, 'memory.db'));
  if (config.encryption.keys === undefined && config.encryption.keyFile !== undefined) {
    config.encryption.keyFile = path.resolve(root, config.encryption.keyFile);
    config.encryption.keys = keysFromFile(config.encryption.keyFile);
  }
  if (config.encryption.keys !== undefined) encryptionCodec(config); // an active id that names no key fails here, at start
  if (config.backend) resolveAgentPaths(config.backend, root, config.dataDir);
  for (const agent of Object.values(config.agents)) resolveAgentPaths(agent, root, config.dataDir);
  return config;
}

function keysFromFile(file: string): AndonConfig['encryption']['keys'] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(`invalid configuration: encryption.keyFile: cannot read ${file}: ${(error as Error).message}`);
  }
  const parsed = EncryptionKeys.safeParse(text.trim());
  if (!parsed.success) {
    const issue = firstIssue(parsed.error);
    // The message names the entry, never the key material.
    throw new ConfigError(`invalid configuration: encryption.keyFile: ${[file, ...issue.path].join('.')}: ${issue.message}`);
  }
  return parsed.data;
}

/**
 * The payload codec this configuration asks for (docs/encryption.md), or none when no key is
 * configured. Encryption is on whenever keys are: for the worker, the clients and the service.
 */
export function encryptionCodec(config: AndonConfig): AesGcmCodec | undefined {
  const { keys, activeKeyId } = config.encryption;
  if (keys === undefined || keys.length === 0) return undefined;
  try {
    return new AesGcmCodec({ keys, activeKeyId });
  } catch (error) {
    if (error instanceof EncryptionKeyError) throw new ConfigError(`invalid configuration: ${error.message}`);
    throw error;
  }
}

/** Relative paths in an agent's settings resolve against the project root (modules: when they start with `.`). */
function resolveAgentPaths(agent: AgentConfig, root: string, dataDir: string): void {
  switch (agent.kind) {
    case 'scripted':
      agent.script = path.resolve(root, agent.script);
      break;
    case 'llm':
      agent.diagnostics.workdir = path.resolve(root, agent.diagnostics.workdir);
      // A postgres:// URL (shared by every worker) stays as it is; a file resolves against the root.
      if (!isPostgresUrl(agent.transcripts ?? ''))
        agent.transcripts = path.resolve(root, agent.transcripts ?? path.join(dataDir, 'transcripts.db'));
      break;
    case 'runbook':
      // Roots stay relative: they resolve against the workdir, which is what commands see too.
      agent.runbooks = path.resolve(root, agent.runbooks);
      agent.workdir = path.resolve(root, agent.workdir);
      break;
    case 'module':
      if (agent.module.startsWith('.')) agent.module = path.resolve(root, agent.module);
      break;
  }
}

/** The configured agents by name (`backend` among them) and the default one, for `AgentRegistry.create`. */
export function agentsOf(config: AndonConfig): { agents: Record<string, AgentConfig>; defaultAgent: string } {
  const agents = configuredAgents(config);
  // loadConfig has checked this already; a config built by hand may not have been.
  if (!agents.ok) throw new ConfigError(`invalid configuration: ${agents.field}: ${agents.message}`);
  return { agents: agents.agents, defaultAgent: agents.defaultAgent };
}

export interface TemporalTarget {
  /** True when andon should run its own dev server (no external cluster configured). */
  embedded: boolean;
  namespace: string;
  connectionOptions: NativeConnectionOptions;
}

/** Where to connect: an external cluster from the Temporal environment config, or the embedded dev server. */
export function resolveTemporalTarget(config: AndonConfig, env: NodeJS.ProcessEnv = process.env): TemporalTarget {
  let connect;
  try {
    connect = loadClientConnectConfig({ profile: config.profile, overrideEnvVars: env as Record<string, string> });
  } catch (error) {
    throw new ConfigError(`cannot read the Temporal connection profile: ${(error as Error).message}`);
  }
  if (connect.connectionOptions.address) {
    return { embedded: false, namespace: connect.namespace ?? 'default', connectionOptions: connect.connectionOptions };
  }
  const { ip, port, namespace } = config.devServer;
  return { embedded: true, namespace, connectionOptions: { address: `${ip}:${port}` } };
}

/** The names a project's configuration file may have, in the order they are looked for. */
export const CONFIG_FILES = [
  'temporal.config.ts',
  'temporal.config.mts',
  'temporal.config.cts',
  'temporal.config.js',
  'temporal.config.mjs',
  'temporal.config.cjs',
] as const;

/**
 * The project andon runs for: the nearest folder, from `from` (the working directory) up, that
 * holds a temporal.config file; with none, `from` itself. In this repository that is its root; in
 * a project that installed andon, the project (never the installed package's own folder).
 */
export function findProjectRoot(from: string = process.cwd()): string {
  for (let dir = path.resolve(from); ; dir = path.dirname(dir)) {
    if (configFileIn(dir)) return dir;
    if (path.dirname(dir) === dir) return path.resolve(from);
  }
}

function configFileIn(dir: string): string | undefined {
  return CONFIG_FILES.map((name) => path.join(dir, name)).find((file) => existsSync(file));
}

/**
 * The project's temporal.config file, or nothing configured when there is none. Read by path, as
 * the project's data rather than a module of andon's (temporal.config.ts imports schema.ts). A
 * `.ts` file needs a Node that strips types (22.18 or later) or a loader such as tsx.
 */
function projectConfig(root: string): AndonConfigInput {
  const file = configFileIn(root);
  if (file === undefined) return {};
  let loaded: unknown;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    loaded = require(file);
  } catch (error) {
    throw new ConfigError(`cannot load ${file}: ${(error as Error).message}`, { cause: error });
  }
  const config = typeof loaded === 'object' && loaded !== null && 'default' in loaded ? loaded.default : loaded;
  if (typeof config !== 'object' || config === null) {
    throw new ConfigError(`${file}: expected the configuration as its default export (export default defineConfig({ ... }))`);
  }
  return config as AndonConfigInput;
}

function setPath(target: Record<string, unknown>, dotted: string, value: unknown): void {
  const keys = dotted.split('.');
  const leaf = keys.pop() as string; // split always gives at least one key
  let node = target;
  for (const key of keys) {
    if (typeof node[key] !== 'object' || node[key] === null) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[leaf] = value;
}

function coerceDuration(target: string, value: string): unknown {
  // Durations may be given as plain milliseconds in the environment.
  return DURATION_PATHS.has(target) && /^\d+$/.test(value) ? Number(value) : value;
}

/** The configured defaults of new sessions (`sessions` in temporal.config.ts): every client that starts sessions applies them. */
export function sessionDefaults(config: AndonConfig): SessionDefaults {
  const { followUpWindow, requirePlanApproval, approval, budget, review } = config.sessions;
  return { followUpWindowMs: followUpWindow, requirePlanApproval, approval, budget, review };
}

/**
 * What `Andon.connect()` needs to reach the sessions this configuration runs: where Temporal is
 * (resolveTemporalTarget), the task queue and the configured session defaults.
 */
export function connectOptions(config: AndonConfig, env: NodeJS.ProcessEnv = process.env): AndonConnectOptions {
  const target = resolveTemporalTarget(config, env);
  return {
    connection: target.connectionOptions as NonNullable<AndonConnectOptions['connection']>,
    namespace: target.namespace,
    taskQueue: config.taskQueue,
    defaults: sessionDefaults(config),
    codec: encryptionCodec(config),
  };
}
