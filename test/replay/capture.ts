/**
 * Records real session histories for the replay test: `npm run test:replay-capture`.
 *
 * Run it when a workflow change is *meant* to be incompatible and has been versioned with
 * `patched()`, to add histories of the new shape. Never re-capture to make a failing replay test
 * pass: a failure means running sessions would break on deploy.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import type { SessionClient } from '../../src/client';
import { findTemporalCli } from '../../src/temporal/cli-binary';
import { startDevServer } from '../../src/temporal/dev-server';
import { quickScript, startHarness, twoStepPlan } from '../support/harness';
import { freePort } from '../support/ports';

const OUT = path.join(__dirname, 'histories');

const scenarios: Record<string, (session: SessionClient) => Promise<void>> = {
  // alert → plan → approval → steps → completed, with chat along the way
  async approved(session) {
    await session.waitFor('awaitingPlanApproval');
    await session.ask('status?');
    await session.send('looks fine');
    await session.approve({ comment: 'go' });
    await session.result();
  },
  async rejectedThenReplanned(session) {
    await session.waitFor('awaitingPlanApproval');
    await session.reject('too risky', { replan: true });
    await session.waitFor('awaitingPlanApproval');
    await session.approve({ planId: 'plan-2' });
    await session.result();
  },
  async pausedResumedCancelled(session) {
    await session.waitFor('awaitingPlanApproval');
    await session.pause({ reason: 'lunch' });
    await session.resume();
    await session.approve();
    await session.cancel('changed my mind');
    await session.waitFor('cancelled');
  },
};

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'andon-capture-'));
  const server = await startDevServer({ binary: await findTemporalCli(), dbFile: path.join(dir, 'db'), port: await freePort(), ui: false });
  process.env.ANDON_TEST_ADDRESS = server.address;
  const slowSecondStep = quickScript({ plans: [twoStepPlan(2000)] });
  const h = await startHarness({ agent: slowSecondStep, followUpWindowMs: 0 });
  mkdirSync(OUT, { recursive: true });
  try {
    for (const [name, run] of Object.entries(scenarios)) {
      const session = await h.andon.session({ id: `replay-${name}`, prompt: `scenario ${name}` });
      await run(session);
      const history = await h.client.workflow.getHandle(session.id).fetchHistory();
      writeFileSync(path.join(OUT, `${name}.json`), historyToJSON(history));
      console.log(`captured ${name}: ${history.events?.length} events`);
    }
  } finally {
    await h.close();
    await server.stop();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
