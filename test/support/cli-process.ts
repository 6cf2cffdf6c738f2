/**
 * Runs the real `andon` CLI (bin/andon.js) as a child process, the way a person or script does,
 * collecting its output. Every child is killed by `killAll()` so a failed test never leaves a
 * `tail` running that keeps jest alive.
 */
import { spawn, type ChildProcess } from 'node:child_process';
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
