/**
 * Runs `temporal server start-dev` as a child process: SQLite file persistence, andon's search
 * attributes registered, the Web UI on. Readiness is read from the server's own announcement on
 * stdout, not polled.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { SEARCH_ATTRIBUTES } from '../session/search-attributes';
import { stopper } from './stop-child';

export interface DevServerOptions {
  binary: string;
  dbFile: string;
  ip?: string;
  port: number;
  uiPort?: number;
  ui?: boolean;
  namespace?: string;
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  sqlitePragmas?: string[];
  /** Any further flags, e.g. `--dynamic-config-value limit.historyCount.suggestContinueAsNew=40`. */
  extraArgs?: string[];
  /** How long to wait for the server to announce itself. */
  startTimeoutMs?: number;
}

export interface DevServer {
  address: string;
  uiUrl?: string;
  process: ChildProcess;
  /** Stops the server gracefully (SIGTERM), then forcefully after a grace period. */
  stop(): Promise<void>;
}

export class DevServerError extends Error {
  override name = 'DevServerError';
}

export async function startDevServer(options: DevServerOptions): Promise<DevServer> {
  const ip = options.ip ?? '127.0.0.1';
  mkdirSync(path.dirname(options.dbFile), { recursive: true });
  const args = [
    'server',
    'start-dev',
    '--ip',
    ip,
    '--port',
    String(options.port),
    '--db-filename',
    options.dbFile,
    '--namespace',
    options.namespace ?? 'default',
    '--log-level',
    options.logLevel ?? 'warn',
  ];
  if (options.ui === false) args.push('--headless');
  else if (options.uiPort) args.push('--ui-port', String(options.uiPort));
  for (const pragma of options.sqlitePragmas ?? []) args.push('--sqlite-pragma', pragma);
  for (const [name, type] of Object.entries(SEARCH_ATTRIBUTES)) args.push('--search-attribute', `${name}=${type}`);
  args.push(...(options.extraArgs ?? []));

  // Its own process group: Ctrl-C reaches andon, which stops the worker first and the server last.
  const child = spawn(options.binary, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const stderr: string[] = [];
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr.push(chunk.toString());
    if (stderr.length > 50) stderr.shift();
  });

  const ready = await new Promise<{ uiUrl?: string }>((resolve, reject) => {
    let stdout = '';
    const timer = setTimeout(
      () => fail(`the Temporal dev server did not start within ${options.startTimeoutMs ?? 60_000} ms`),
      options.startTimeoutMs ?? 60_000,
    );
    function fail(message: string) {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new DevServerError(`${message}\n${stderr.join('').split('\n').slice(-15).join('\n')}`));
    }
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (/^Server:\s+\S+/m.test(stdout)) {
        clearTimeout(timer);
        resolve({ uiUrl: /^UI:\s+(\S+)/m.exec(stdout)?.[1] });
      }
    });
    child.once('error', (error) => fail(`cannot run ${options.binary}: ${error.message}`));
    child.once('exit', (code, signal) =>
      fail(`the Temporal dev server exited before it was ready (code ${code}, signal ${signal}); is port ${options.port} in use?`),
    );
  });
  child.removeAllListeners('exit');
  child.stdout!.resume();

  return {
    address: `${ip}:${options.port}`,
    uiUrl: ready.uiUrl,
    process: child,
    stop: stopper(child, killOnExit),
  };
}
