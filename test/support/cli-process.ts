/**
 * Runs the real `andon` CLI (bin/andon.js) as a child process, the way a person or script does,
 * collecting its output. Every child is killed by `killAll()` so a failed test never leaves a
 * `tail` running that keeps jest alive.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';

export const BIN = path.resolve(__dirname, '../../bin/andon.js');

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

export type CliProcess = ChildProcess & { done: Promise<Run>; output: () => string };

const running = new Set<ChildProcess>();

export function runCli(args: string[], env: NodeJS.ProcessEnv = process.env): CliProcess {
  const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const guard = setTimeout(() => child.kill('SIGKILL'), 45_000);
  const done = new Promise<Run>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(guard);
      running.delete(child);
      resolve({ code, stdout, stderr });
    });
  });
  return Object.assign(child, { done, output: () => stdout });
}

export function killAll(): void {
  for (const child of running) child.kill('SIGKILL');
}

/** A successful `--json` run's output. */
export function json<T>(run: Run): T {
  expect(run.stderr).toBe('');
  return JSON.parse(run.stdout) as T;
}

/** A word no other session's title has, so visibility filters find only this test's sessions. */
export const uniqueWordFor = (prefix: string) => `${prefix}${randomUUID().replace(/-/g, '').slice(0, 12)}`;

/**
 * Waits until a child's collected output satisfies `condition`. Output arrives in chunks with no
 * event for "the line I want", so this re-checks every 50 ms, bounded by `timeoutMs`.
 */
export async function until(condition: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
