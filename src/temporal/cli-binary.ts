/**
 * Finds the `temporal` CLI (which carries the dev server), building the pinned version with Go
 * when there is none. Order: TEMPORAL_CLI_PATH, a `temporal` on PATH, the per-user cache, then a
 * `go install` into that cache. Users with internet may instead download the official release
 * and point TEMPORAL_CLI_PATH at it.
 */
import os from 'node:os';
import path from 'node:path';
import { findOnPath, goInstall, GoInstallError, isExecutable } from './go-install';

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
  try {
    await goInstall({
      packages: [MODULE],
      binaries: { temporal: target },
      what: `the Temporal CLI ${TEMPORAL_CLI_VERSION}`,
      withoutGo: `download the Temporal CLI ${TEMPORAL_CLI_VERSION} release and set TEMPORAL_CLI_PATH to the binary.`,
      env,
      log,
    });
  } catch (error) {
    if (error instanceof GoInstallError) throw new TemporalCliError(error.message);
    throw error;
  }
}
