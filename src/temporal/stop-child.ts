import type { ChildProcess } from 'node:child_process';

/**
 * A server child's `stop()`: SIGTERM, SIGKILL after 10 s, resolved once it has exited; called
 * again, the same promise. `killOnExit` (the listener that kills the child if this process exits
 * first) is removed, since the child is being stopped on purpose.
 */
export function stopper(child: ChildProcess, killOnExit: () => void): () => Promise<void> {
  let stopped: Promise<void> | undefined;
  return () => {
    stopped ??= new Promise<void>((resolve) => {
      process.removeListener('exit', killOnExit);
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const force = setTimeout(() => child.kill('SIGKILL'), 10_000);
      child.once('exit', () => {
        clearTimeout(force);
        resolve();
      });
      child.kill('SIGTERM');
    });
    return stopped;
  };
}
