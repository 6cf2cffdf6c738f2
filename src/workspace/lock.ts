import fs from 'node:fs/promises';
import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { WorkspaceError } from './errors';

/**
 * A lock on one mirror, so two sessions on one worker (or two worker processes sharing a data
 * directory) never fetch into the same repository at once: a promise chain within the process and
 * an exclusive lock file across processes. A lock file left by a dead process on this host, or older
 * than `staleMs`, is taken over.
 */
const chains = new Map<string, Promise<unknown>>();

export async function withLock<T>(
  lockFile: string,
  fn: () => Promise<T>,
  o: { waitMs: number; staleMs: number; signal?: AbortSignal },
): Promise<T> {
  const previous = chains.get(lockFile) ?? Promise.resolve();
  const run = previous
    .catch(() => undefined)
    .then(async () => {
      await acquire(lockFile, o);
      try {
        return await fn();
      } finally {
        await fs.rm(lockFile, { force: true });
      }
    });
  chains.set(lockFile, run);
  try {
    return await run;
  } finally {
    if (chains.get(lockFile) === run) chains.delete(lockFile);
  }
}

async function acquire(lockFile: string, o: { waitMs: number; staleMs: number; signal?: AbortSignal }): Promise<void> {
  const deadline = Date.now() + o.waitMs;
  const me = `${process.pid} ${os.hostname()}`;
  for (let attempt = 0; ; attempt++) {
    try {
      await fs.writeFile(lockFile, me, { flag: 'wx' });
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    if (await stale(lockFile, o.staleMs)) {
      await fs.rm(lockFile, { force: true });
      continue;
    }
    if (o.signal?.aborted) throw new WorkspaceError('GitFailed', 'cancelled while waiting for the repository mirror', { retryable: true });
    if (Date.now() > deadline) {
      throw new WorkspaceError('GitFailed', `the repository mirror stayed locked for ${o.waitMs} ms (${lockFile})`, { retryable: true });
    }
    await sleep(Math.min(25 * 2 ** Math.min(attempt, 4), 400));
  }
}

async function stale(lockFile: string, staleMs: number): Promise<boolean> {
  try {
    const [content, stat] = await Promise.all([fs.readFile(lockFile, 'utf8'), fs.stat(lockFile)]);
    if (Date.now() - stat.mtimeMs > staleMs) return true;
    const [pid, host] = content.split(' ');
    if (host !== os.hostname() || !pid || !/^\d+$/.test(pid)) return false;
    try {
      process.kill(Number(pid), 0);
      return false;
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === 'ESRCH';
    }
  } catch {
    return false; // just released: try again
  }
}
