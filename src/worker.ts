/**
 * Builds the andon worker: the session workflow plus activities bound to the worker's agents,
 * by name (each session chooses one; docs/agents.md).
 * Worker memory is bounded by the workflow cache: a waiting session that falls out of the cache
 * costs nothing until its next message, when it is replayed from history.
 */
import path from 'node:path';
import { NativeConnection, Runtime, Worker, type WorkerOptions } from '@temporalio/worker';
import type { PayloadCodec } from '@temporalio/common';
import type { z } from 'zod';
import { createActivities } from '../activities';
import { AgentRegistry, type AgentSource } from './agents/registry';
import { MemoryConfig, type PostgresMemoryConfig, type SqliteMemoryConfig } from './memory/config';
import { SqliteMemoryStore } from './memory/sqlite';
import type { MemoryStore } from './memory/store';
import { bundleInChildProcess } from './temporal/bundle';
import { Workspaces, type WorkspaceConfigInput } from './workspace';

export const WORKFLOWS_PATH = require.resolve('../workflows');
/**
 * Modules loaded once per workflow thread and shared by every cached session (zod, andon's
 * schemas and the session's pure rules; workflows/shared.ts). Without them each cached session
 * carried its own copy: ~1.9 MiB of heap per session instead of ~0.1 MiB (docs/operations.md,
 * "Worker memory").
 */
export const SHARED_WORKFLOW_MODULES: readonly string[] = [require.resolve('../workflows/shared')];
/** What andon's workflow bundle is built from; a prebuilt bundle (`workflowBundle`) must use the same. */
export const WORKFLOW_BUNDLE_OPTIONS = { workflowsPath: WORKFLOWS_PATH, preloadModules: [...SHARED_WORKFLOW_MODULES] };
const FAILURE_CONVERTER_PATH = require.resolve('./protocol/failure-converter');

export interface AndonWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  /**
   * The agents, by name: objects implementing `Agent`, configuration of a built-in kind, or
   * modules (`{ module, export?, options? }`), made and checked before the worker starts; or a
   * registry built beforehand.
   */
  agents: AgentRegistry | Readonly<Record<string, AgentSource>>;
  /** The agent of sessions that choose none; may be left out when there is one agent. */
  defaultAgent?: string;
  /** What relative module paths resolve against (default: the working directory). */
  root?: string;
  /** Notifiers by target (e.g. `slack`), for sessions that ask to be announced there. */
  notifiers?: Parameters<typeof createActivities>[1];
  /** Where the `plan` activity recalls memories and `remember` writes them; none: memory is off. */
  memory?: MemoryStore;
  /**
   * Code sessions' working trees (docs/code-sessions.md): the `workspace` configuration section, or
   * Workspaces built beforehand. Unset: the defaults (trees under `<dataDir>/workspaces`, any GitHub
   * repository, no `git` sources).
   */
  workspace?: WorkspaceConfigInput | Workspaces;
  /** The worker's data directory (default `data`): the default home of code sessions' trees. */
  dataDir?: string;
  /**
   * Where the GitHub token (`workspace.github.tokenEnv`), git's environment and the agents' keys
   * (e.g. JULES_API_KEY, an LLM's key) come from (default: process.env).
   */
  env?: NodeJS.ProcessEnv;
  /**
   * A prebuilt bundle (tests build it once with `bundleWorkflowCode(WORKFLOW_BUNDLE_OPTIONS)`);
   * otherwise the workflows are bundled at start, in a child process.
   */
  workflowBundle?: WorkerOptions['workflowBundle'];
  maxCachedWorkflows?: number;
  maxConcurrentActivityTaskExecutions?: number;
  /**
   * Encrypts every payload the worker writes and decrypts what it reads (docs/encryption.md): the
   * same codec as the clients', e.g. `AesGcmCodec.from(keys)` from `andon`. It runs outside the
   * workflow sandbox. Ignored when `options.dataConverter` is given.
   */
  codec?: PayloadCodec;
  /**
   * The encryption keys, for what agents keep on disk (the LLM agent's transcripts): the same keys
   * as the codec's, e.g. `{ keys: config.encryption.keys }`. Used when `agents` is not a registry.
   */
  encryption?: { keys: readonly { id: string; key: Uint8Array }[]; activeKeyId?: string };
  /** Extra worker options, e.g. a shorter shutdown grace time in tests. */
  options?: Partial<WorkerOptions>;
}

export async function createWorker(options: AndonWorkerOptions): Promise<Worker> {
  const agents =
    options.agents instanceof AgentRegistry
      ? options.agents
      : await AgentRegistry.create(options.agents, {
          defaultAgent: options.defaultAgent,
          root: options.root,
          encryption: options.encryption,
          env: options.env,
        });
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    ...(await workflowCode(options)),
    activities: createActivities(agents, options.notifiers, options.memory, codeWorkspaces(options)),
    maxCachedWorkflows: options.maxCachedWorkflows,
    maxConcurrentActivityTaskExecutions: options.maxConcurrentActivityTaskExecutions,
    // Failure messages go into encrypted attributes too (src/protocol/failure-converter.ts; bundled into the workflow).
    ...(options.codec ? { dataConverter: { payloadCodecs: [options.codec], failureConverterPath: FAILURE_CONVERTER_PATH } } : {}),
    // Cancelling a session reaches the agent's running step only in a heartbeat's answer; the
    // default throttle (0.8 x the 30 s heartbeat timeout) would let a cancelled step run on for
    // ~24 s. Heartbeats write no history, so a short throttle is cheap.
    maxHeartbeatThrottleInterval: '2s',
    defaultHeartbeatThrottleInterval: '2s',
    ...options.options,
  });
}

/**
 * The workflow code: the bundle given, or one built in a child process (src/temporal/bundle.ts:
 * webpack's memory leaves with the child, ~90 MiB of the worker's RSS), or, when extra worker
 * options change how the bundle is built (bundler options, workflow interceptors, plugins, a data
 * converter), by the SDK in this process. If the child cannot bundle, so does this process.
 */
async function workflowCode(options: AndonWorkerOptions): Promise<Partial<WorkerOptions>> {
  if (options.workflowBundle) return { workflowBundle: options.workflowBundle };
  const extra = options.options ?? {};
  const inProcess: Partial<WorkerOptions> = {
    workflowsPath: WORKFLOWS_PATH,
    bundlerOptions: { preloadModules: [...SHARED_WORKFLOW_MODULES], ...extra.bundlerOptions },
  };
  if (extra.bundlerOptions || extra.interceptors?.workflowModules || extra.plugins || extra.dataConverter) return inProcess;
  try {
    const failureConverterPath = options.codec ? FAILURE_CONVERTER_PATH : undefined;
    return { workflowBundle: await bundleInChildProcess({ ...WORKFLOW_BUNDLE_OPTIONS, failureConverterPath }) };
  } catch (error) {
    Runtime.instance().logger.warn(`Bundling the workflows in this process instead: ${(error as Error).message}`);
    return inProcess;
  }
}

/** The worker's workspaces for code sessions. */
function codeWorkspaces(options: AndonWorkerOptions) {
  const env = options.env ?? process.env;
  const workspaces =
    options.workspace instanceof Workspaces ? options.workspace : new Workspaces(options.workspace ?? {}, { env, root: options.dataDir });
  return { workspaces, config: workspaces.config, env };
}

// What a program that runs its own worker needs besides createWorker (the package's `andon/worker`):
// the agent interface, the registry, the built-in agents, and the memory store contract. The LLM
// agent is made from configuration (`{ kind: 'llm', ... }`), so the AI SDK loads only when used.
export * from './agents';
export { RunbookAgent, type RunbookAgentOptions } from './agents/runbook';
export { ScriptedAgent } from './agents/scripted';
export { SqliteMemoryStore } from './memory/sqlite';
export * from './memory/store';
export { MemoryConfig } from './memory/config';

/** A `memory` setting: `kind` may be left out (a `url` means PostgreSQL). */
export type MemoryConfigInput =
  | (Omit<z.input<typeof SqliteMemoryConfig>, 'kind'> & { kind?: 'sqlite' })
  | (Omit<z.input<typeof PostgresMemoryConfig>, 'kind'> & { kind?: 'postgres' });

/**
 * Opens the memory store a `memory` setting describes (docs/memory.md): `{ kind: 'sqlite', file? }`
 * (default `<dataDir>/memory.db`) or `{ kind: 'postgres', url, ... }`. The PostgreSQL store loads
 * `pg`, an optional peer dependency, only when it is the one asked for.
 */
export function openMemoryStore(memory: MemoryConfigInput, options: { dataDir?: string } = {}): MemoryStore {
  const parsed = MemoryConfig.safeParse(memory);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`invalid memory configuration: ${['memory', ...(issue?.path ?? [])].join('.')}: ${issue?.message}`);
  }
  const config = parsed.data;
  if (config.kind === 'sqlite') return SqliteMemoryStore.open(config.file ?? path.join(options.dataDir ?? 'data', 'memory.db'));
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { PostgresMemoryStore } = require('./memory/postgres') as typeof import('./memory/postgres');
  const { url, schema, table, maxConnections } = config;
  return new PostgresMemoryStore({ url, schema, table, maxConnections });
}
