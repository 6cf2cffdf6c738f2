/**
 * bundleInChildProcess (src/temporal/bundle.ts): the worker's workflow bundle, built by a child
 * process so webpack's memory leaves with it. Real child processes, real webpack.
 */
import { fork } from 'node:child_process';
import path from 'node:path';
import { BundleReply, bundleInChildProcess } from '../../src/temporal/bundle';
import { WORKFLOW_BUNDLE_OPTIONS } from '../../src/worker';

// Under jest the sources are TypeScript: the child needs tsx, as it has under `npm start`.
const execArgv = ['--import', 'tsx'];

it('builds the workflow bundle with the shared modules preloaded', async () => {
  const { code } = await bundleInChildProcess(WORKFLOW_BUNDLE_OPTIONS, { execArgv });
  // The reusable V8 context needs the SDK's module cache patch, and the preload runs workflows/shared.ts.
  expect(code).toContain('globalThis.__webpack_module_cache__');
  const preload = /exports\.preloadModules = function preloadModules\(\) \{([^}]*)\}/.exec(code)?.[1] ?? '';
  expect(preload).toContain('workflows/shared.ts');
  expect(code).toContain('"./workflows/session/workflow.ts"');
}, 120_000);

it("rejects with the bundler's error, naming what is wrong", async () => {
  const missing = path.join(__dirname, 'no-such-workflows.ts');
  await expect(bundleInChildProcess({ workflowsPath: missing }, { execArgv })).rejects.toThrow(
    /^bundling the workflows: .*no-such-workflows/,
  );
  await expect(bundleInChildProcess({ workflowsPath: '' }, { execArgv })).rejects.toThrow(/too_small|at least 1|>=1/i);
});

it('answers a malformed request with an error, not a bundle', async () => {
  const child = fork(require.resolve('../../src/temporal/bundle-child'), [], { execArgv, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const reply = await new Promise<unknown>((resolve, reject) => {
    child.once('message', resolve);
    child.once('exit', (code) => reject(new Error(`exited ${code} without answering`)));
    child.send({ workflowsPath: 42, preloadModules: 'x' });
  });
  expect(BundleReply.parse(reply)).toEqual({ type: 'error', message: expect.stringMatching(/^invalid request: /) });
  await new Promise((resolve) => (child.exitCode === null ? child.once('exit', resolve) : resolve(undefined)));
});
