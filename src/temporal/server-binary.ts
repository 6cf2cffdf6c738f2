/**
 * Finds the Temporal server (`temporal-server`) and its SQL schema tool (`temporal-sql-tool`) for
 * running andon on a real cluster, building them with Go when there are none. The version is the
 * one the pinned CLI (cli-binary.ts) embeds as its dev server, so tests on the dev server and on a
 * cluster run the same server code. Order, for each binary: TEMPORAL_SERVER_PATH /
 * TEMPORAL_SQL_TOOL_PATH, the name on PATH, the per-user cache, then one `go install` of both.
 */
import os from 'node:os';
import path from 'node:path';
import { findOnPath, goInstall, isExecutable } from './go-install';

/** `go version -m` on the CLI v1.5.1 binary: `dep go.temporal.io/server v1.29.1`. */
export const TEMPORAL_SERVER_VERSION = 'v1.29.1';
const PACKAGES = [
  `go.temporal.io/server/cmd/server@${TEMPORAL_SERVER_VERSION}`,
  `go.temporal.io/server/cmd/tools/sql@${TEMPORAL_SERVER_VERSION}`,
];

export interface ServerBinaries {
  server: string;
  sqlTool: string;
}

export interface FindServerOptions {
  env?: NodeJS.ProcessEnv;
  /** Progress lines (the first build takes several minutes). */
  log?: (line: string) => void;
  /** Build when a binary is missing (default true). */
  build?: boolean;
}

export function serverCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'andon', 'temporal-server', TEMPORAL_SERVER_VERSION);
}

const BINARIES = {
  server: { name: 'temporal-server', variable: 'TEMPORAL_SERVER_PATH', built: 'server' },
  sqlTool: { name: 'temporal-sql-tool', variable: 'TEMPORAL_SQL_TOOL_PATH', built: 'sql' },
} as const;

export async function findTemporalServer(options: FindServerOptions = {}): Promise<ServerBinaries> {
  const env = options.env ?? process.env;
  const found: Partial<ServerBinaries> = {};
  for (const [key, binary] of Object.entries(BINARIES) as [keyof ServerBinaries, (typeof BINARIES)[keyof ServerBinaries]][]) {
    const explicit = env[binary.variable];
    if (explicit) {
      if (!isExecutable(explicit)) throw new Error(`${binary.variable} is set to ${explicit}, which is not an executable file`);
      found[key] = explicit;
      continue;
    }
    const cached = path.join(serverCacheDir(env), binary.name);
    found[key] = findOnPath(binary.name, env) ?? (isExecutable(cached) ? cached : undefined);
  }
  if (found.server && found.sqlTool) return { server: found.server, sqlTool: found.sqlTool };
  const cache = serverCacheDir(env);
  if (options.build === false) {
    throw new Error(
      `no Temporal server ${TEMPORAL_SERVER_VERSION} found (TEMPORAL_SERVER_PATH and TEMPORAL_SQL_TOOL_PATH, PATH, ${cache})`,
    );
  }
  // One `go install` builds both (they share nearly every package); a binary found elsewhere is kept.
  const binaries = { server: path.join(cache, BINARIES.server.name), sqlTool: path.join(cache, BINARIES.sqlTool.name) };
  await goInstall({
    packages: PACKAGES,
    binaries: { [BINARIES.server.built]: binaries.server, [BINARIES.sqlTool.built]: binaries.sqlTool },
    what: `the Temporal server ${TEMPORAL_SERVER_VERSION} and its SQL tool`,
    withoutGo: `set TEMPORAL_SERVER_PATH and TEMPORAL_SQL_TOOL_PATH to a temporal-server and temporal-sql-tool ${TEMPORAL_SERVER_VERSION} (release archives or the temporalio/server and temporalio/admin-tools images carry them).`,
    env,
    log: options.log ?? (() => undefined),
    nice: 15,
  });
  return { server: found.server ?? binaries.server, sqlTool: found.sqlTool ?? binaries.sqlTool };
}
