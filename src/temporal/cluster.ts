/**
 * A Temporal cluster as production runs one: the Temporal server as its own process on
 * PostgreSQL, its schema set up with the server's SQL tool, the namespace and andon's search
 * attributes registered through the gRPC API (the operator service), not by dev-server flags.
 *
 * One process runs all four services (frontend, history, matching, worker) on loopback ports: the
 * same binary and configuration a deployment splits over several hosts with `--service`. The
 * database password never appears on a command line or in a file: it reaches the SQL tool and the
 * server through their environment, and the server's config reads it with a template.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { msToTs } from '@temporalio/common/lib/time';
import { NativeConnection } from '@temporalio/worker';
import { stringify } from 'yaml';
import { SEARCH_ATTRIBUTES } from '../session/search-attributes';
import { ensureSearchAttributes } from './search-attributes';
import type { ServerBinaries } from './server-binary';
import { stopper } from './stop-child';

/** Where the Temporal server keeps its state: a PostgreSQL server and a role that may create databases. */
export interface PostgresTarget {
  host: string;
  port: number;
  user: string;
  password: string;
  /** The main store (default `temporal`) and the visibility store (default `temporal_visibility`). */
  databases?: { default: string; visibility: string };
}

export interface ClusterOptions {
  binaries: ServerBinaries;
  postgres: PostgresTarget;
  /** The server's config, dynamic config and log file go here. */
  dir: string;
  /**
   * Every port the process listens on; default free ones below 32768. A restart should pass the
   * previous run's `ports`: the cluster remembers its members by address until their records expire.
   */
  ports?: ClusterPorts;
  ip?: string;
  namespace?: string;
  /** How long closed sessions stay readable (default 3 days). */
  retentionDays?: number;
  /** Fixed for the life of a cluster: choose it once (default 4 for tests; production: 512 or more). */
  historyShards?: number;
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /** Dynamic config values, key → value (e.g. `{ 'limit.historyCount.suggestContinueAsNew': 40 }`). */
  dynamicConfig?: Record<string, unknown>;
  /** How long to wait for the server to serve and the namespace to be usable (default 120 s). */
  startTimeoutMs?: number;
  log?: (line: string) => void;
}

/** gRPC and membership (ringpop) ports of each service, and the frontend's HTTP port. */
export type ClusterPorts = Record<(typeof SERVICES)[number], { grpc: number; membership: number }> & { http: number };

export interface TemporalCluster {
  address: string;
  ports: ClusterPorts;
  namespace: string;
  process: ChildProcess;
  /** The server's log (JSON lines). */
  logFile: string;
  /** Stops the server (SIGTERM, then SIGKILL after a grace period). PostgreSQL keeps the state. */
  stop(): Promise<void>;
}

export class ClusterError extends Error {
  override name = 'ClusterError';
}

const PASSWORD_VARIABLE = 'ANDON_TEMPORAL_SQL_PASSWORD';
const SERVICES = ['frontend', 'history', 'matching', 'worker'] as const;

/**
 * Creates the two databases and brings their schemas to the version the server binary ships
 * (`update-schema` is idempotent: a second run, or a newer server, only applies what is missing).
 */
export async function setupTemporalSchema(
  sqlTool: string,
  postgres: PostgresTarget,
  log: (line: string) => void = () => undefined,
): Promise<void> {
  const databases = postgres.databases ?? { default: 'temporal', visibility: 'temporal_visibility' };
  for (const [database, schema] of [
    [databases.default, 'postgresql/v12/temporal'],
    [databases.visibility, 'postgresql/v12/visibility'],
  ] as const) {
    const tool = (...args: string[]) =>
      run(
        sqlTool,
        ['--plugin', 'postgres12', '--ep', postgres.host, '-p', String(postgres.port), '-u', postgres.user, '--db', database, ...args],
        {
          SQL_PASSWORD: postgres.password,
        },
      );
    const created = await tool('create-database');
    if (created.code === 0) {
      // A new database: the versioning tables first, then every versioned step.
      const setup = await tool('setup-schema', '-v', '0.0');
      if (setup.code !== 0) throw new ClusterError(`temporal-sql-tool setup-schema on ${database} failed:\n${setup.output}`);
    } else if (!/already exists/i.test(created.output)) {
      throw new ClusterError(`temporal-sql-tool create-database ${database} failed:\n${created.output}`);
    }
    const updated = await tool('update-schema', '--schema-name', schema);
    if (updated.code !== 0) throw new ClusterError(`temporal-sql-tool update-schema on ${database} failed:\n${updated.output}`);
    log(`schema ${schema} ready in database ${database}`);
  }
}

/** The server's static config: one process, every service, loopback, no TLS, the password from the environment. */
export function clusterConfig(options: ClusterOptions, ports: ClusterPorts): string {
  const ip = options.ip ?? '127.0.0.1';
  const databases = options.postgres.databases ?? { default: 'temporal', visibility: 'temporal_visibility' };
  const store = (database: string, maxConns: number) => ({
    sql: {
      pluginName: 'postgres12',
      databaseName: database,
      connectAddr: `${options.postgres.host}:${options.postgres.port}`,
      connectProtocol: 'tcp',
      user: options.postgres.user,
      password: `{{ env "${PASSWORD_VARIABLE}" }}`,
      maxConns,
      maxIdleConns: maxConns,
      maxConnLifetime: '1h',
    },
  });
  const config = {
    log: { stdout: false, outputFile: path.join(options.dir, 'temporal.log'), level: options.logLevel ?? 'warn' },
    persistence: {
      defaultStore: 'postgres-default',
      visibilityStore: 'postgres-visibility',
      numHistoryShards: options.historyShards ?? 4,
      datastores: { 'postgres-default': store(databases.default, 20), 'postgres-visibility': store(databases.visibility, 10) },
    },
    global: { membership: { maxJoinDuration: '30s', broadcastAddress: ip } },
    services: Object.fromEntries(
      SERVICES.map((service) => [
        service,
        {
          rpc: {
            grpcPort: ports[service].grpc,
            membershipPort: ports[service].membership,
            bindOnIP: ip,
            ...(service === 'frontend' ? { httpPort: ports.http } : {}),
          },
        },
      ]),
    ),
    clusterMetadata: {
      enableGlobalNamespace: false,
      failoverVersionIncrement: 10,
      masterClusterName: 'active',
      currentClusterName: 'active',
      clusterInformation: {
        active: {
          enabled: true,
          initialFailoverVersion: 1,
          rpcName: 'frontend',
          rpcAddress: `${ip}:${ports.frontend.grpc}`,
          httpAddress: `${ip}:${ports.http}`,
        },
      },
    },
    dcRedirectionPolicy: { policy: 'noop' },
    archival: { history: { state: 'disabled' }, visibility: { state: 'disabled' } },
    namespaceDefaults: { archival: { history: { state: 'disabled' }, visibility: { state: 'disabled' } } },
    dynamicConfigClient: { filepath: path.join(options.dir, 'dynamicconfig.yaml'), pollInterval: '10s' },
  };
  // The server renders a config file as a Go template when a comment in its first 1 KB says so.
  return `# enable-template\n${stringify(config)}`;
}

/** Sets up the schema, starts the server, waits until it serves, then registers the namespace and search attributes. */
export async function startTemporalCluster(options: ClusterOptions): Promise<TemporalCluster> {
  const log = options.log ?? (() => undefined);
  const ip = options.ip ?? '127.0.0.1';
  const namespace = options.namespace ?? 'default';
  const deadline = Date.now() + (options.startTimeoutMs ?? 120_000);
  mkdirSync(path.join(options.dir, 'config'), { recursive: true });

  await setupTemporalSchema(options.binaries.sqlTool, options.postgres, log);

  const ports: ClusterPorts = options.ports ?? {
    frontend: { grpc: await freeClusterPort(ip), membership: await freeClusterPort(ip) },
    history: { grpc: await freeClusterPort(ip), membership: await freeClusterPort(ip) },
    matching: { grpc: await freeClusterPort(ip), membership: await freeClusterPort(ip) },
    worker: { grpc: await freeClusterPort(ip), membership: await freeClusterPort(ip) },
    http: await freeClusterPort(ip),
  };
  writeFileSync(path.join(options.dir, 'config', 'andon.yaml'), clusterConfig(options, ports), { mode: 0o600 });
  const dynamic = Object.fromEntries(
    Object.entries(options.dynamicConfig ?? {}).map(([key, value]) => [key, [{ value, constraints: {} }]]),
  );
  writeFileSync(path.join(options.dir, 'dynamicconfig.yaml'), Object.keys(dynamic).length ? stringify(dynamic) : '{}\n');

  const logFile = path.join(options.dir, 'temporal.log');
  const stderr = openSync(path.join(options.dir, 'temporal.stderr'), 'a');
  const child = spawn(
    options.binaries.server,
    ['--root', options.dir, '--config', 'config', '--env', 'andon', '--allow-no-auth', 'start'],
    {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, [PASSWORD_VARIABLE]: options.postgres.password },
      stdio: ['ignore', 'ignore', stderr],
      detached: true,
    },
  );
  closeSync(stderr); // the child has its own copy
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  let exited: string | undefined;
  child.once('exit', (code, signal) => (exited = `code ${code}, signal ${signal}`));
  child.once('error', (error) => (exited = error.message));

  const address = `${ip}:${ports.frontend.grpc}`;
  const fail = (message: string) => {
    process.removeListener('exit', killOnExit);
    child.kill('SIGKILL');
    return new ClusterError(`${message}\n${tail(logFile)}${tail(path.join(options.dir, 'temporal.stderr'))}`);
  };
  const waitFor = async <T>(what: string, attempt: () => Promise<T>): Promise<T> => {
    let last: unknown;
    for (;;) {
      if (exited) throw fail(`the Temporal server exited (${exited}) while waiting for ${what}`);
      try {
        return await attempt();
      } catch (error) {
        last = error;
      }
      if (Date.now() > deadline) throw fail(`timed out waiting for ${what}: ${(last as Error)?.message}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  };

  const connection = await waitFor('the frontend to accept connections', () => NativeConnection.connect({ address }));
  try {
    await waitFor('the frontend to serve', async () => {
      const health = await connection.healthService.check({ service: 'temporal.api.workflowservice.v1.WorkflowService' });
      if (health.status !== 1) throw new Error(`health status ${health.status}`);
    });
    await waitFor(`namespace ${namespace}`, () => registerNamespace(connection, namespace, options.retentionDays ?? 3));
    // The frontend reads namespaces, and their search attributes, from a cache it refreshes every
    // few seconds: the operator API finds a new namespace only once the cache has it.
    await waitFor(`namespace ${namespace} to be served`, () =>
      connection.workflowService.countWorkflowExecutions({ namespace, query: '' }),
    );
    // The frontend serves before the history shards and matching partitions have owners (after a
    // restart the ring still lists the old process for a while): ask both services something
    // they answer "not found" to once they own it (asked only now that the namespace is served, so
    // "not found" cannot mean the namespace). 32 workflow ids reach every shard of a few-shard cluster.
    await waitFor('the history and matching services', async () => {
      for (let i = 0; i < 32; i++)
        await expectNotFound(
          connection.workflowService.describeWorkflowExecution({ namespace, execution: { workflowId: `andon-probe-${i}` } }),
        );
      await connection.workflowService.describeTaskQueue({ namespace, taskQueue: { name: 'andon-probe' }, taskQueueType: 1 });
    });
    await ensureSearchAttributes(connection, namespace, log);
    const registered = (await connection.operatorService.listSearchAttributes({ namespace })).customAttributes ?? {};
    const missing = Object.keys(SEARCH_ATTRIBUTES).filter((name) => !(name in registered));
    if (missing.length > 0) throw fail(`search attributes missing on namespace ${namespace}: ${missing.join(', ')}`);
    // Usable once a visibility query naming them passes (the same cache again).
    const probe = Object.entries(SEARCH_ATTRIBUTES)
      .filter(([, type]) => type !== 'Text')
      .map(([name, type]) => (type === 'Int' ? `${name} = 0` : `${name} = 'probe'`))
      .join(' AND ');
    await waitFor('the search attributes', () => connection.workflowService.countWorkflowExecutions({ namespace, query: probe }));
  } finally {
    await connection.close();
  }
  log(`Temporal server ${address} on PostgreSQL ${options.postgres.host}:${options.postgres.port}, namespace ${namespace}`);

  return {
    address,
    ports,
    namespace,
    process: child,
    logFile,
    stop: stopper(child, killOnExit),
  };
}

/** Registers the namespace unless it exists (a restart on the same database finds it). */
export async function registerNamespace(connection: NativeConnection, namespace: string, retentionDays: number): Promise<void> {
  try {
    await connection.workflowService.describeNamespace({ namespace });
    return;
  } catch (error) {
    if (grpcCode(error) !== 5) throw error; // NOT_FOUND: register it below
  }
  try {
    await connection.workflowService.registerNamespace({
      namespace,
      workflowExecutionRetentionPeriod: msToTs(`${retentionDays} days`),
    });
  } catch (error) {
    if (grpcCode(error) !== 6) throw error; // ALREADY_EXISTS: another process registered it first
  }
}

async function expectNotFound(call: Promise<unknown>): Promise<void> {
  try {
    await call;
  } catch (error) {
    if (grpcCode(error) === 5) return;
    throw error;
  }
}

function grpcCode(error: unknown): number | undefined {
  const code = (error as { code?: unknown })?.code;
  return typeof code === 'number' ? code : undefined;
}

function run(command: string, args: string[], env: Record<string, string>): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, output: output.slice(-4_000) }));
  });
}

/**
 * A free port below 32768. The server records each service's membership address in its
 * `cluster_membership` table, whose port column is a PostgreSQL smallint: a port from the OS's
 * ephemeral range (32768 and up on Linux) stops the server at start ("out of range for type smallint").
 */
export async function freeClusterPort(ip = '127.0.0.1'): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_700);
    if (await canListen(ip, port)) return port;
  }
  throw new ClusterError('no free port between 20000 and 32767');
}

function canListen(ip: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, ip, () => server.close(() => resolve(true)));
  });
}

function tail(file: string): string {
  try {
    // The last lines, each cut short: the server's errors carry long stack traces.
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n').slice(-8);
    return `--- ${path.basename(file)} ---\n${lines.map((line) => line.slice(0, 400)).join('\n')}\n`;
  } catch {
    return '';
  }
}
