/**
 * Finds the `temporal` CLI (which carries the dev server), building the pinned version with Go
 * when there is none. Order: TEMPORAL_CLI_PATH, a `temporal` on PATH, the per-user cache, then a
 * `go install` into that cache. Users with internet may instead download the official release
 * and point TEMPORAL_CLI_PATH at it.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const TEMPORAL_CLI_VERSION = 'v1.5.1';
const MODULE = `github.com/temporalio/cli/cmd/temporal@${TEMPORAL_CLI_VERSION}`;

export class TemporalCliError extends Error {
  override name = 'TemporalCliError';
}

export interface FindOptions {
  env?: NodeJS.ProcessEnv;
  /** Progress lines (the first build takes minutes). */
  log?: (line: string) => void;
  /** Build when no binary is found (default true). */
  build?: boolean;
}

export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'andon', 'temporal-cli', TEMPORAL_CLI_VERSION);
}

/** Returns the path of a usable `temporal` binary, building it if needed. */
export async function findTemporalCli(options: FindOptions = {}): Promise<string> {
  const env = options.env ?? process.env;
  const log = options.log ?? (() => undefined);

  if (env.TEMPORAL_CLI_PATH) {
    if (!isExecutable(env.TEMPORAL_CLI_PATH)) {
      throw new TemporalCliError(`TEMPORAL_CLI_PATH is set to ${env.TEMPORAL_CLI_PATH}, which is not an executable file`);
    }
    return env.TEMPORAL_CLI_PATH;
  }
  const onPath = findOnPath('temporal', env);
  if (onPath) return onPath;

  const cached = path.join(cacheDir(env), 'temporal');
  if (isExecutable(cached)) return cached;
  if (options.build === false) {
    throw new TemporalCliError(`no temporal CLI found (TEMPORAL_CLI_PATH, PATH, ${cached})`);
  }
  await buildTemporalCli(cached, env, log);
  return cached;
}

async function buildTemporalCli(target: string, env: NodeJS.ProcessEnv, log: (line: string) => void): Promise<void> {
  const go = findOnPath('go', env);
  if (!go) {
    throw new TemporalCliError(
      'the Temporal CLI is not installed and Go is not available to build it. Either install Go (https://go.dev/dl/) ' +
        `and run again, or download the Temporal CLI ${TEMPORAL_CLI_VERSION} release and set TEMPORAL_CLI_PATH to the binary.`,
    );
  }
  const dir = path.dirname(target);
  mkdirSync(dir, { recursive: true });
  // Build into a fresh folder and rename into place, so a concurrent or interrupted build never
  // leaves a half-written binary where the next run would pick it up.
  const staging = mkdtempSync(path.join(dir, '.build-'));
  log(`Building the Temporal CLI ${TEMPORAL_CLI_VERSION} with ${go} (first run only; this takes a few minutes)...`);
  const started = Date.now();
  const output: string[] = [];
  const code = await new Promise<number>((resolve, reject) => {
    const child = spawn(go, ['install', MODULE], {
      env: { ...env, GOBIN: staging, GOFLAGS: [env.GOFLAGS, '-buildvcs=false'].filter(Boolean).join(' ') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const onData = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) {
        if (!line.trim()) continue;
        output.push(line);
        if (output.length > 200) output.shift();
        log(`  ${line}`);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', reject);
    child.on('close', (status) => resolve(status ?? 1));
  });
  if (code !== 0) {
    rmSync(staging, { recursive: true, force: true });
    const text = output.join('\n');
    if (/sum\.golang\.org|verifying .*: .*(dial|lookup|timeout|refused)|SECURITY ERROR|checksum database/i.test(text)) {
      throw new TemporalCliError(
        'building the Temporal CLI failed: the Go checksum database is unreachable. If your network only reaches a module ' +
          'proxy, run again with GOSUMDB=off (or GONOSUMDB/GOPRIVATE set for the affected modules), or set TEMPORAL_CLI_PATH ' +
          `to a downloaded Temporal CLI ${TEMPORAL_CLI_VERSION}.\n${text.split('\n').slice(-10).join('\n')}`,
      );
    }
    throw new TemporalCliError(`building the Temporal CLI failed (go install exited ${code}):\n${text.split('\n').slice(-20).join('\n')}`);
  }
  renameSync(path.join(staging, 'temporal'), target);
  rmSync(staging, { recursive: true, force: true });
  log(`Built the Temporal CLI in ${Math.round((Date.now() - started) / 1000)} s: ${target}`);
}

function findOnPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return existsSync(file);
  } catch {
    return false;
  }
}
