/**
 * Per-test-file harness: a real andon worker (its own task queue, the scripted agent) against
 * the suite's dev server, and an `Andon` client for it.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import { Andon } from '../../src/client';
import type { Agent } from '../../src/agents/agent';
import type { AgentSource } from '../../src/agents/registry';
import { ScriptedAgent, parseScript, type AgentScriptInput } from '../../src/agents/scripted';
import { createWorker, type AndonWorkerOptions } from '../../src/worker';
import { Workspaces } from '../../src/workspace';

export const DEMO_SCRIPT = path.resolve(__dirname, '../../scripts/demo.json');

export interface HarnessOptions {
  /** The agent: a script object, a script file path, or any agent object. Default: scripts/demo.json. */
  agent?: AgentScriptInput | string | Agent;
  /** Several named agents instead of `agent` (objects or configuration, as `createWorker` takes them). */
  agents?: Record<string, AgentSource>;
  /** With `agents`: the agent of sessions that choose none. */
  defaultAgent?: string;
  /** The SDK follows live sessions with `waitForEvents` (AndonOptions.liveWaits). */
  liveWaits?: boolean;
  /** Server address; default: the suite's dev server. */
  address?: string;
  taskQueue?: string;
  followUpWindowMs?: number;
  /** Start the worker (default true); false gives a client with no worker polling. */
  worker?: boolean;
  /** Notifiers for sessions with notify targets (e.g. a SlackNotifier pointed at a loopback Slack). */
  notifiers?: AndonWorkerOptions['notifiers'];
  /** A memory store for the worker's activities (recall when planning, `writeMemory`). */
  memory?: AndonWorkerOptions['memory'];
  /** Code sessions: the worker's `workspace` section, data directory and environment (its GitHub token). */
  workspace?: WorkerPlace['workspace'];
  dataDir?: string;
  env?: NodeJS.ProcessEnv;
}

/** Where a worker keeps code sessions' trees; `startWorker` may give another (a second worker's own disk). */
export type WorkerPlace = Pick<AndonWorkerOptions, 'workspace' | 'dataDir' | 'env'>;

export interface Harness {
  andon: Andon;
  client: Client;
  taskQueue: string;
  address: string;
  worker?: Worker;
  /** Starts (another) worker on the same task queue, e.g. after `stopWorker()`; `place` overrides its workspace settings. */
  startWorker(agent?: HarnessOptions['agent'], place?: WorkerPlace): Promise<void>;
  stopWorker(): Promise<void>;
  close(): Promise<void>;
}

export function testAddress(): string {
  const address = process.env.ANDON_TEST_ADDRESS;
  if (!address) throw new Error('ANDON_TEST_ADDRESS is not set: run the tests through jest (global setup starts the server)');
  return address;
}

let runtimeInstalled = false;
/** Worker logs at ERROR: tests fail activities and sessions on purpose, and a failing test says what went wrong itself. */
function quietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  try {
    Runtime.install({ logger: new DefaultLogger('ERROR') });
  } catch {
    // Already installed in this process by another harness: fine.
  }
}

let cachedBundle: string | undefined;
/** The bundle jest's global setup built; outside jest (scripts) the worker bundles from source. */
export function workflowBundle(): { code: string } | undefined {
  if (!process.env.ANDON_TEST_BUNDLE) return undefined;
  cachedBundle ??= readFileSync(process.env.ANDON_TEST_BUNDLE, 'utf8');
  return { code: cachedBundle };
}

export function backendFrom(agent: HarnessOptions['agent']): Agent {
  if (agent === undefined) return ScriptedAgent.fromFile(DEMO_SCRIPT);
  if (typeof agent === 'string') return ScriptedAgent.fromFile(agent);
  if ('plan' in agent && typeof agent.plan === 'function') return agent as Agent;
  return new ScriptedAgent(parseScript(agent));
}

/** The worker's agents: `options.agents`, or the one agent under its own name (the key of its agent memories, as before). */
function agentsFrom(agent: HarnessOptions['agent'], options: HarnessOptions): Pick<AndonWorkerOptions, 'agents' | 'defaultAgent'> {
  if (options.agents && agent === options.agent) return { agents: options.agents, defaultAgent: options.defaultAgent };
  const backend = backendFrom(agent);
  return { agents: { [backend.name ?? 'default']: backend } };
}

/**
 * The worker's workspace section in tests: GitHub sources clone from (and pull requests go to)
 * nowhere unless the test says where, so no test reaches github.com by accident.
 */
export function testWorkspace(workspace: WorkerPlace['workspace']): WorkerPlace['workspace'] {
  if (workspace instanceof Workspaces) return workspace;
  const github = { cloneUrl: 'file:///nonexistent/andon-test/{owner}/{repo}.git', apiUrl: 'http://127.0.0.1:9', ...workspace?.github };
  return { ...workspace, github };
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  quietRuntime();
  // A worker's trees go to a temp dir of the test's own, never into the checkout's data/.
  const dataDir = options.dataDir ?? mkdtempSync(path.join(os.tmpdir(), 'andon-harness-'));
  const address = options.address ?? testAddress();
  const taskQueue = options.taskQueue ?? `test-${randomUUID()}`;
  const connection = await Connection.connect({ address });
  const client = new Client({ connection, namespace: 'default' });
  const andon = new Andon({
    client,
    taskQueue,
    identity: 'test:harness',
    defaults: { followUpWindowMs: options.followUpWindowMs ?? 0 },
    liveWaits: options.liveWaits,
  });

  let nativeConnection: NativeConnection | undefined;
  let running: Promise<void> | undefined;
  const harness: Harness = {
    andon,
    client,
    taskQueue,
    address,
    async startWorker(agent = options.agent, place = {}) {
      nativeConnection ??= await NativeConnection.connect({ address });
      const worker = await createWorker({
        connection: nativeConnection,
        namespace: 'default',
        taskQueue,
        ...agentsFrom(agent, options),
        notifiers: options.notifiers,
        memory: options.memory,
        workspace: testWorkspace(options.workspace),
        dataDir,
        env: options.env,
        ...place,
        workflowBundle: workflowBundle(),
        options: { shutdownGraceTime: '2s' },
      });
      harness.worker = worker;
      running = worker.run();
    },
    async stopWorker() {
      if (!harness.worker) return;
      harness.worker.shutdown();
      await running;
      harness.worker = undefined;
    },
    async close() {
      await harness.stopWorker();
      await nativeConnection?.close();
      await connection.close();
    },
  };
  if (options.worker !== false) await harness.startWorker();
  return harness;
}

/** Two steps, "Look" then "Fix"; the last one takes `fixDelayMs`, long enough to act while it runs. */
export function twoStepPlan(fixDelayMs: number) {
  return {
    steps: [
      { title: 'Look', result: { description: 'looked' } },
      { title: 'Fix', result: { description: 'fixed' }, delayMs: fixDelayMs },
    ],
  };
}

/** A small script for tests: two quick steps, replies that echo. Override any part. */
export function quickScript(overrides: Partial<AgentScriptInput> = {}): AgentScriptInput {
  return {
    name: 'quick',
    plans: [
      {
        title: 'Fix {title}',
        steps: [
          { title: 'Look', description: 'look around', result: { description: 'looked' } },
          { title: 'Fix', description: 'fix it', result: { description: 'fixed' } },
        ],
      },
    ],
    replies: [{ match: 'status', reply: 'all good' }],
    defaultReply: 'echo: {message}',
    summary: 'done: {prompt}',
    ...overrides,
  };
}
