/**
 * Processes a test may kill the hard way: a worker in its own process (test/support/worker-process.ts)
 * and a dev server on a given SQLite file; and a check that nothing a test started is left running.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { startDevServer, type DevServer } from '../../src/temporal/dev-server';
import { TEST_SQLITE_PRAGMAS } from './ports';

const ROOT = path.resolve(__dirname, '../..');

/**
 * A worker in its own process, polling `taskQueue` with the scripted agent of `script` (or the
 * createWorker options in the JSON file `optionsFile`); resolves once it polls.
 */
export function startWorkerProcess(address: string, taskQueue: string, script: string, optionsFile?: string): Promise<ChildProcess> {
  // `node --import tsx`, not the tsx CLI: the CLI runs the script in a child process of its own,
  // which a SIGKILL of the CLI leaves running (and polling) after the suite has ended.
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      path.join(ROOT, 'test/support/worker-process.ts'),
      address,
      taskQueue,
      script,
      ...(optionsFile ? [optionsFile] : []),
    ],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: process.env,
    },
  );
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`worker process exited early (${code})`)));
  });
}

/** Pids of live processes whose command line contains `text` (Linux /proc). */
export function processesMentioning(text: string): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(text);
      } catch {
        return false; // gone meanwhile
      }
    })
    .map(Number);
}

/** A dev server on `dbFile`: start it again on the same file to restart it. */
export function devServer(dbFile: string, port: number, extraArgs: string[] = []): Promise<DevServer> {
  return startDevServer({ binary: process.env.TEMPORAL_CLI_PATH!, dbFile, port, ui: false, sqlitePragmas: TEST_SQLITE_PRAGMAS, extraArgs });
}
