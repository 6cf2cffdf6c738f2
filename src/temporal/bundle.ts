/**
 * Bundles the workflow code in a short-lived child process, so webpack's memory leaves with it.
 *
 * Why: bundling at start in the worker's own process loads webpack and swc and grows the heap to
 * build a 3 MiB bundle; the process keeps most of that resident for its whole life (measured: the
 * worker settled ~90 MiB higher than the same worker given a prebuilt bundle; docs/operations.md,
 * "Worker memory"). A child process gives it all back when it exits, and always bundles the code
 * on disk now, so nothing can run a stale bundle.
 */
import { fork } from 'node:child_process';
import { z } from 'zod';

/** What the child bundles from: plain data (paths), since it crosses a process boundary. */
export const BundleRequest = z.object({
  workflowsPath: z.string().min(1),
  preloadModules: z.array(z.string().min(1)).max(100).optional(),
  failureConverterPath: z.string().min(1).optional(),
});
export type BundleRequest = z.infer<typeof BundleRequest>;

/** What the child answers: the bundle's code, or why it could not make it. */
export const BundleReply = z.union([
  z.object({ type: z.literal('bundle'), code: z.string().min(1) }),
  z.object({ type: z.literal('error'), message: z.string() }),
]);
export type BundleReply = z.infer<typeof BundleReply>;

/** The child's entry point: the TypeScript source under tsx, the compiled file in the package. */
const CHILD_PATH = require.resolve('./bundle-child');

/**
 * The workflow bundle's code, built by `bundle-child` in its own process. The child inherits this
 * process's Node flags (so it runs under tsx when this process does) unless `execArgv` is given.
 * Rejects with the child's error, or when it exits without answering.
 */
export async function bundleInChildProcess(
  request: BundleRequest,
  options: { timeoutMs?: number; execArgv?: string[] } = {},
): Promise<{ code: string }> {
  const parsed = BundleRequest.parse(request);
  return new Promise((resolve, reject) => {
    const child = fork(CHILD_PATH, [], {
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      serialization: 'advanced',
      ...(options.execArgv ? { execArgv: options.execArgv } : {}),
    });
    let settled = false;
    const finish = (error: Error | undefined, code?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      if (error) reject(error);
      else resolve({ code: code! });
    };
    const timer = setTimeout(
      () => finish(new Error(`bundling the workflows took longer than ${(options.timeoutMs ?? 300_000) / 1000} s`)),
      options.timeoutMs ?? 300_000,
    );
    child.on('message', (message: unknown) => {
      const reply = BundleReply.safeParse(message);
      if (!reply.success) return finish(new Error('bundling the workflows: the bundler process answered something else'));
      if (reply.data.type === 'error') return finish(new Error(`bundling the workflows: ${reply.data.message}`));
      finish(undefined, reply.data.code);
    });
    child.once('error', (error) => finish(error));
    child.once('exit', (code, signal) =>
      finish(new Error(`the workflow bundler process exited (code ${code}, signal ${signal}) without a bundle`)),
    );
    child.send(parsed);
  });
}
