/**
 * What both benchmarks share: their own Temporal dev server (the pinned CLI, a temp SQLite file,
 * the same pragmas as `npm start`), workers in child processes, statistics and clean-up.
 *
 * Benchmarks, never timed tests: they print numbers for a person to read; only `park` fails (on a
 * lost or unfinished session, which is a correctness problem, not a timing one).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { AndonConfigSchema } from '../src/config';
import { findTemporalCli } from '../src/temporal/cli-binary';
import { startDevServer, type DevServer } from '../src/temporal/dev-server';

// ---- clean-up ------------------------------------------------------------------------------------

type Cleanup = () => Promise<void> | void;
const cleanups: Cleanup[] = [];
let cleaning: Promise<void> | undefined;

/** Registers clean-up run (last registered first) on normal end, on error and on Ctrl-C / SIGTERM. */
export function onCleanup(fn: Cleanup): void {
  cleanups.push(fn);
}

export function cleanUp(): Promise<void> {
  cleaning ??= (async () => {
    for (const fn of cleanups.reverse()) {
      try {
        await fn();
      } catch (error) {
        console.error(`clean-up: ${(error as Error).message}`);
      }
    }
  })();
  return cleaning;
}

let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    interrupted = true;
    console.error(`\n${signal}: stopping workers and the dev server...`);
    void cleanUp().finally(() => process.exit(130));
  });
}

/** Runs a benchmark's main, always cleaning up; exits with its code. */
export function runMain(main: () => Promise<number>): void {
  main().then(
    async (code) => {
      await cleanUp();
      process.exit(code);
    },
    async (error: Error) => {
      // Interrupted: calls fail as the connection closes; clean-up is under way and exits 130.
      if (interrupted) return;
      console.error(`bench failed: ${error.stack ?? error.message}`);
      await cleanUp();
      process.exit(1);
    },
  );
}

// ---- the dev server ------------------------------------------------------------------------------

/**
 * SQLite pragmas: exactly what `npm start` uses (the config default, `journal_mode=WAL`, with
 * SQLite's default `synchronous`), so the numbers are comparable to the product on this machine.
 * The test suite's `synchronous=OFF` skips fsync and would flatter every write; pass
 * `--sqlite-pragma synchronous=OFF` to see that instead.
 */
export const NPM_START_PRAGMAS: string[] = AndonConfigSchema.shape.devServer.parse(undefined).sqlitePragmas;
/** The worker's workflow cache as `npm start` sets it (worker.maxCachedWorkflows, ANDON_MAX_CACHED_WORKFLOWS). */
export const NPM_START_MAX_CACHED_WORKFLOWS: number = AndonConfigSchema.shape.worker.parse(undefined).maxCachedWorkflows;

export interface BenchServer {
  server: DevServer;
  address: string;
  dir: string;
  binary: string;
  pragmas: string[];
}

export async function startBenchServer(extraPragmas: string[] = []): Promise<BenchServer> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'andon-bench-'));
  onCleanup(() => rmSync(dir, { recursive: true, force: true }));
  const binary = await findTemporalCli({ log: (line) => console.error(line) });
  const pragmas = [...NPM_START_PRAGMAS, ...extraPragmas];
  const server = await startDevServer({
    binary,
    dbFile: path.join(dir, 'temporal.db'),
    port: await freePort(),
    ui: false,
    sqlitePragmas: pragmas,
  });
  onCleanup(() => server.stop());
  return { server, address: server.address, dir, binary, pragmas };
}

/** A port the OS says is free right now (loopback only). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.unref();
    probe.on('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/** Resident memory of another process (Linux /proc), in bytes; undefined elsewhere. */
export function rssOf(pid: number | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** CPU seconds (user + system) another process has used (Linux /proc); undefined elsewhere. */
export function cpuSecondsOf(pid: number | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return undefined;
  }
}

// ---- workers in child processes ------------------------------------------------------------------

/** What a bench worker process sends its parent. */
export type WorkerMessage =
  | { type: 'ready'; taskQueue: string; maxCachedWorkflows: number; heapLimitMiB: number }
  /** heapUsed/heapTotal are the main thread's; workflows run in a worker thread whose heap only shows in rss. cpu: % of one core since the last sample. */
  | { type: 'memory'; time: number; rss: number; heapUsed: number; heapTotal: number; external: number; cpu: number }
  | { type: 'error'; message: string };

export interface WorkerSpec {
  kind: 'andon' | 'bare';
  address: string;
  taskQueue: string;
  maxCachedWorkflows?: number;
  /** A script file for the scripted agent; default: scripts/demo.json with every delay set to 0. */
  script?: string;
  /** --max-old-space-size for the worker process. */
  heapMiB?: number;
  /** Plan lengths to register an agent for each (`steps-<n>`), for `bench growth`. */
  planSteps?: number[];
}

export interface BenchWorker {
  process: ChildProcess;
  ready: Extract<WorkerMessage, { type: 'ready' }>;
  memory: Extract<WorkerMessage, { type: 'memory' }>[];
  stop(): Promise<void>;
}

/** Forks bench/worker.ts (under the same tsx loader as this process) and waits until it polls. */
export async function startWorkerProcess(spec: WorkerSpec): Promise<BenchWorker> {
  const args = ['--kind', spec.kind, '--address', spec.address, '--task-queue', spec.taskQueue];
  if (spec.maxCachedWorkflows !== undefined) args.push('--max-cached-workflows', String(spec.maxCachedWorkflows));
  if (spec.script) args.push('--script', spec.script);
  if (spec.planSteps?.length) args.push('--plan-steps', spec.planSteps.join(','));
  const execArgv = [...process.execArgv, ...(spec.heapMiB ? [`--max-old-space-size=${spec.heapMiB}`] : [])];
  const child = fork(path.join(__dirname, 'worker.ts'), args, { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const memory: BenchWorker['memory'] = [];
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const force = setTimeout(() => child.kill('SIGKILL'), 10_000);
      child.once('exit', () => (clearTimeout(force), resolve()));
      child.kill('SIGTERM');
    }));
  onCleanup(stop);
  const ready = await new Promise<BenchWorker['ready']>((resolve, reject) => {
    child.on('message', (message: WorkerMessage) => {
      if (message.type === 'ready') resolve(message);
      else if (message.type === 'memory') memory.push(message);
      else if (message.type === 'error') reject(new Error(`${spec.kind} worker: ${message.message}`));
    });
    child.once('exit', (code, signal) =>
      reject(new Error(`${spec.kind} worker exited before it was ready (code ${code}, signal ${signal})`)),
    );
  });
  child.removeAllListeners('exit');
  child.once('exit', (code, signal) => {
    if (!stopped) console.error(`${spec.kind} worker exited unexpectedly (code ${code}, signal ${signal})`);
  });
  return { process: child, ready, memory, stop };
}

// ---- statistics and output -----------------------------------------------------------------------

// The pure helpers (percentiles, units, tables) live in stats.ts, where the unit tests reach them.
export { mib, ms, percentile, table } from './stats';

/** Runs fn(0..n-1) with at most `concurrency` in flight. */
export async function pool(n: number, concurrency: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.max(1, Math.min(concurrency, n)) }, async () => {
    while (next < n) await fn(next++);
  });
  await Promise.all(lanes);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function machine(): string {
  const cpus = os.cpus();
  return `${cpus.length} x ${cpus[0]?.model.trim() ?? 'cpu'}, ${(os.totalmem() / 1024 ** 3).toFixed(0)} GiB, Node ${process.version}, load ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`;
}
