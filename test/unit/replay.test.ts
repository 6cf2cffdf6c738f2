/**
 * Replays committed histories of real sessions against the current workflow code. If a change
 * would make running sessions fail on deploy (a non-deterministic change without `patched()`),
 * this fails with a DeterminismViolationError. See test/replay/capture.ts.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { DefaultLogger, Runtime, Worker, bundleWorkflowCode } from '@temporalio/worker';
import { WORKFLOW_BUNDLE_OPTIONS } from '../../src/worker';
import { workflowBundle } from '../support/harness';

const DIR = path.resolve(__dirname, '../replay/histories');
const files = readdirSync(DIR).filter((f) => f.endsWith('.json'));

const noop = () => undefined;
let bundle: { code: string };

beforeAll(async () => {
  try {
    Runtime.install({ logger: new DefaultLogger('WARN') });
  } catch {
    // installed already
  }
  // The suite's global setup bundles the workflow once; `npm run test:unit` has no global setup.
  bundle =
    workflowBundle() ??
    (await bundleWorkflowCode({
      ...WORKFLOW_BUNDLE_OPTIONS,
      logger: { log: noop, trace: noop, debug: noop, info: noop, warn: noop, error: console.error },
    }));
});

it('has committed histories to replay', () => {
  expect(files.length).toBeGreaterThanOrEqual(3);
});

it.each(files)('replays %s deterministically', async (file) => {
  const history = historyFromJSON(JSON.parse(readFileSync(path.join(DIR, file), 'utf8')));
  await expect(Worker.runReplayHistory({ workflowBundle: bundle }, history, file)).resolves.toBeUndefined();
});
