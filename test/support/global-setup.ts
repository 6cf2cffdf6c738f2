/**
 * Once per test run: a real Temporal dev server (the pinned CLI, SQLite file, andon's search
 * attributes) and the workflow bundle, built once and shared by every test worker.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { findTemporalCli } from '../../src/temporal/cli-binary';
import { startDevServer, type DevServer } from '../../src/temporal/dev-server';
import { WORKFLOW_BUNDLE_OPTIONS } from '../../src/worker';
import { freePort, TEST_SQLITE_PRAGMAS } from './ports';

declare global {
  var __ANDON_TEST_SERVER__: DevServer | undefined;
}

export default async function globalSetup(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'andon-test-'));
  const binary = await findTemporalCli({ log: (line) => process.stderr.write(`${line}\n`) });
  const [server, bundle] = await Promise.all([
    startDevServer({
      binary,
      dbFile: path.join(dir, 'temporal.db'),
      port: await freePort(),
      ui: false,
      sqlitePragmas: TEST_SQLITE_PRAGMAS,
    }),
    bundleWorkflowCode({ ...WORKFLOW_BUNDLE_OPTIONS, logger: quietLogger }),
  ]);
  const bundlePath = path.join(dir, 'workflow-bundle.js');
  writeFileSync(bundlePath, bundle.code);
  globalThis.__ANDON_TEST_SERVER__ = server;
  process.env.ANDON_TEST_ADDRESS = server.address;
  process.env.ANDON_TEST_BUNDLE = bundlePath;
  process.env.ANDON_TEST_DIR = dir;
  process.env.TEMPORAL_CLI_PATH = binary;
}

const noop = () => undefined;
const quietLogger = { log: noop, trace: noop, debug: noop, info: noop, warn: noop, error: console.error };
