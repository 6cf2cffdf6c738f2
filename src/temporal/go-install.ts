/**
 * `go install` of pinned Temporal modules into andon's per-user cache, shared by the CLI
 * (cli-binary.ts) and the server and SQL tool (server-binary.ts). Builds go to a staging folder
 * and are renamed into place, so an interrupted or concurrent build never leaves a half-written
 * binary where the next run would pick it up.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';

export interface GoInstallOptions {
  /** Package paths with `@version`, built in one `go install` (they share the module graph). */
  packages: string[];
  /** The binary go names after each package's last path element → where it goes. */
  binaries: Record<string, string>;
  /** What is being built, for messages ("the Temporal CLI v1.5.1"). */
  what: string;
  /** How to get the binaries without Go (ends the "Go is not available" message). */
  withoutGo: string;
  env: NodeJS.ProcessEnv;
  log: (line: string) => void;
  /** Scheduling priority of the build (`nice -n`), when `nice` is on PATH: builds take both cores for minutes. */
  nice?: number;
}

export class GoInstallError extends Error {
  override name = 'GoInstallError';
}

export async function goInstall(options: GoInstallOptions): Promise<void> {
  const { env, log, what } = options;
  const go = findOnPath('go', env);
  if (!go) {
    throw new GoInstallError(
      `${what} is not installed and Go is not available to build it. Either install Go (https://go.dev/dl/) and run again, or ${options.withoutGo}`,
    );
  }
  const targets = Object.values(options.binaries);
  const dir = path.dirname(targets[0]!);
  mkdirSync(dir, { recursive: true });
  const staging = mkdtempSync(path.join(dir, '.build-'));
  log(`Building ${what} with ${go} (first run only; this takes a few minutes)...`);
  const started = Date.now();
  const output: string[] = [];
  const nice = options.nice !== undefined ? findOnPath('nice', env) : undefined;
  const [command, args] = nice
    ? [nice, ['-n', String(options.nice), go, 'install', ...options.packages]]
    : [go, ['install', ...options.packages]];
  const code = await new Promise<number>((resolve, reject) => {
    const child = spawn(command, args, {
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
      throw new GoInstallError(
        `building ${what} failed: the Go checksum database is unreachable. If your network only reaches a module ` +
          `proxy, run again with GOSUMDB=off (or GONOSUMDB/GOPRIVATE set for the affected modules), or ${options.withoutGo}\n` +
          text.split('\n').slice(-10).join('\n'),
      );
    }
    throw new GoInstallError(`building ${what} failed (go install exited ${code}):\n${text.split('\n').slice(-20).join('\n')}`);
  }
  for (const [built, target] of Object.entries(options.binaries)) renameSync(path.join(staging, built), target);
  rmSync(staging, { recursive: true, force: true });
  log(`Built ${what} in ${Math.round((Date.now() - started) / 1000)} s: ${targets.join(', ')}`);
}

export function findOnPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

export function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return existsSync(file);
  } catch {
    return false;
  }
}
