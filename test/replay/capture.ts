/**
 * Records real session histories for the replay test: `npm run test:replay-capture`.
 *
 * Run it when a workflow change is *meant* to be incompatible and has been versioned with
 * `patched()`, to add histories of the new shape. Never re-capture to make a failing replay test
 * pass: a failure means running sessions would break on deploy.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import type { SessionClient } from '../../src/client';
import { findTemporalCli } from '../../src/temporal/cli-binary';
import { startDevServer } from '../../src/temporal/dev-server';
import { quickScript, startHarness, twoStepPlan } from '../support/harness';
import { planReply, startLlmHarness, toolCallReply } from '../support/llm-harness';
import { freePort } from '../support/ports';
import { first } from '../support/at';
import { createCodeAgent } from '../support/code-agent';
import { approveUpdate } from '../../src/protocol/messages';
import { JulesServer } from '../support/jules-server';

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
  // watched live: its history holds waitForEvents updates (accepted, completed with events)
  async watchedApproved(session) {
    await session.waitFor('awaitingPlanApproval');
    const watching = (async () => {
      for await (const event of session.stream({ after: 1 })) void event;
    })();
    await new Promise((resolve) => setTimeout(resolve, 500));
    await session.send('looks fine');
    await session.approve({ comment: 'go' });
    await session.result();
    await watching;
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

/** Sessions of the LLM agent (loopback model): tool grants, reviews, budget. */
const llmScenarios: Record<string, (session: SessionClient) => Promise<void>> = {
  // a call in the plan, one outside it denied, one edited, a budget pause and a raise
  async toolReviews(session) {
    const view = await session.waitFor('awaitingPlanApproval');
    await session.approve({ planHash: view.plan!.hash });
    for (const decision of [
      { decision: 'deny', reason: 'not now' },
      { decision: 'edit', arguments: { service: 'checkout-api' } },
    ] as const) {
      const waiting = await session.waitFor('awaitingUserFeedback');
      await session.review(first(waiting.pendingReviews).id, decision);
    }
    await session.waitFor('paused');
    await session.resume({ budget: { tokens: 100_000 } });
    await session.result();
  },
};

/**
 * Sessions whose second step fails (StepFailed) under an approval policy with a deadline: the
 * decisions-by-policy rules (decideStep, refusals recorded, the deadline kept across a pause).
 */
const failingStepScenarios: Record<string, (session: SessionClient) => Promise<void>> = {
  async stepDecidedByPolicy(session) {
    await session.waitFor('awaitingPlanApproval');
    await session.pause({ by: 'test:lead', reason: 'lunch' });
    await session.resume({ by: 'test:lead' });
    await session.approve({ by: 'test:lead' });
    await session.waitFor('awaitingUserFeedback');
    await session.send('skip', { by: 'test:anyone' });
    await session.decideStep('skip', { by: 'test:intruder' }).catch(() => undefined);
    await session.decideStep('skip', { by: 'test:lead', stepId: 'plan-1-step-2', reason: 'checked by hand' });
    await session.result();
  },
};

/**
 * A code session (patch code-sessions): the tree prepared, a step that edits files, the change set
 * approved with its hash (the change-approval gate), the branch pushed to a bare remote.
 */
const codeScenarios: Record<string, (session: SessionClient, approveChanges: (hash: string) => Promise<unknown>) => Promise<void>> = {
  async codeSessionPublished(session, approveChanges) {
    await session.waitFor('awaitingPlanApproval');
    await session.approve({ by: 'test:lead' });
    const view = await session.waitFor('awaitingChangeApproval');
    await approveChanges(view.workspace!.changeSetHash!);
    await session.result();
  },
  // patch plan-approvals-stay-plans: a late approval bound to the plan is refused while the change set awaits approval
  async codeSessionLatePlanApproval(session, approveChanges) {
    const planned = await session.waitFor('awaitingPlanApproval');
    await session.approve({ by: 'test:lead', planHash: planned.plan!.hash });
    const view = await session.waitFor('awaitingChangeApproval');
    await session.approve({ by: 'test:lead', planHash: planned.plan!.hash }).then(
      () => Promise.reject(new Error('the late plan approval was accepted')),
      () => undefined,
    );
    await approveChanges(view.workspace!.changeSetHash!);
    await session.result();
  },
};

/** Sessions of the Jules backend (loopback Jules): Jules' progress arrives as agentEvents signals while a call runs. */
const julesScenarios: Record<string, (session: SessionClient) => Promise<void>> = {
  async julesCompleted(session) {
    await session.waitFor('awaitingPlanApproval');
    await session.ask('what will you change?');
    await session.approve({ by: 'test:lead' });
    await session.result();
  },
};

/** A bare repository with one commit on main (app.js prints "bug"), for code scenarios. */
function bareRepository(dir: string): string {
  const work = path.join(dir, 'work');
  const remote = path.join(dir, 'remotes', 'app.git');
  const env = { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' };
  execFileSync('git', ['init', '-q', '-b', 'main', work]);
  writeFileSync(path.join(work, 'app.js'), 'console.log("bug");\n');
  execFileSync('git', ['add', '-A'], { cwd: work, env });
  execFileSync('git', ['commit', '-q', '-m', 'initial'], { cwd: work, env });
  execFileSync('git', ['clone', '-q', '--bare', work, remote]);
  return remote;
}

/** Only the scenarios named on the command line (all when none is): add new shapes without touching old histories. */
const wanted = new Set(process.argv.slice(2));
const chosen = <T>(all: Record<string, T>) => Object.entries(all).filter(([name]) => wanted.size === 0 || wanted.has(name));

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'andon-capture-'));
  const server = await startDevServer({ binary: await findTemporalCli(), dbFile: path.join(dir, 'db'), port: await freePort(), ui: false });
  process.env.ANDON_TEST_ADDRESS = server.address;
  const slowSecondStep = quickScript({ plans: [twoStepPlan(2000)] });
  const h = await startHarness({ agent: slowSecondStep, followUpWindowMs: 0 });
  mkdirSync(OUT, { recursive: true });
  try {
    for (const [name, run] of chosen(scenarios)) {
      const session = await h.andon.session({ id: `replay-${name}`, prompt: `scenario ${name}` });
      await run(session);
      const history = await h.client.workflow.getHandle(session.id).fetchHistory();
      writeFileSync(path.join(OUT, `${name}.json`), historyToJSON(history));
      console.log(`captured ${name}: ${history.events?.length} events`);
    }
    const failing = await startHarness({
      agent: quickScript({
        plans: [
          {
            title: 'Fix {title}',
            steps: [
              { title: 'Look', description: 'look around', result: { description: 'looked' } },
              {
                title: 'Fix',
                description: 'fix it',
                result: { description: 'fixed' },
                failures: [{ attempt: 1, kind: 'stepFailed', message: 'exit status 1' }],
              },
            ],
          },
        ],
      }),
      followUpWindowMs: 0,
    });
    try {
      for (const [name, run] of chosen(failingStepScenarios)) {
        const approval = { approvers: ['test:lead'], deadline: { after: '1h', action: 'cancel' as const } };
        const session = await failing.andon.session({ id: `replay-${name}`, prompt: `scenario ${name}`, approval });
        await run(session);
        const history = await failing.client.workflow.getHandle(session.id).fetchHistory();
        writeFileSync(path.join(OUT, `${name}.json`), historyToJSON(history));
        console.log(`captured ${name}: ${history.events?.length} events`);
      }
    } finally {
      await failing.close();
    }
    const remote = bareRepository(dir);
    mkdirSync(path.join(dir, 'markers'));
    const code = await startHarness({
      agent: createCodeAgent({ markerDir: path.join(dir, 'markers'), stepMs: 0 }),
      followUpWindowMs: 0,
      dataDir: path.join(dir, 'worker'),
      workspace: { allowedGitSources: [path.dirname(remote)] },
    });
    try {
      for (const [name, run] of chosen(codeScenarios)) {
        const session = await code.andon.session({
          id: `replay-${name}`,
          prompt: `scenario ${name}`,
          source: { git: remote, branch: 'main' },
          publish: { mode: 'branch', approveChanges: true },
        });
        const approveChanges = (changeSetHash: string) =>
          code.client.workflow.getHandle(session.id).executeUpdate(approveUpdate, { args: [{ by: 'test:lead', changeSetHash }] });
        await run(session, approveChanges);
        const history = await code.client.workflow.getHandle(session.id).fetchHistory();
        writeFileSync(path.join(OUT, `${name}.json`), historyToJSON(history));
        console.log(`captured ${name}: ${history.events?.length} events`);
      }
    } finally {
      await code.close();
    }
    const jules = await JulesServer.start({ key: 'replay-key' });
    const julesHarness = await startHarness({
      agents: { jules: { kind: 'jules', baseUrl: jules.baseUrl, pollInterval: 100, pageSize: 2 } },
      defaultAgent: 'jules',
      followUpWindowMs: 0,
      env: { ...process.env, JULES_API_KEY: 'replay-key' },
    });
    try {
      for (const [name, run] of chosen(julesScenarios)) {
        const session = await julesHarness.andon.session({
          id: `replay-${name}`,
          prompt: `scenario ${name}`,
          context: { 'jules.source': 'acme/app' },
        });
        await run(session);
        const history = await julesHarness.client.workflow.getHandle(session.id).fetchHistory();
        writeFileSync(path.join(OUT, `${name}.json`), historyToJSON(history));
        console.log(`captured ${name}: ${history.events?.length} events`);
      }
    } finally {
      await julesHarness.close();
      await jules.close();
    }
    const llm = await startLlmHarness({ followUpWindowMs: 0 });
    try {
      for (const [name, run] of chosen(llmScenarios)) {
        llm.script(
          planReply(
            [
              {
                title: 'Restart',
                tools: [
                  // Grants are exact (patch exact-tool-grants): name every argument the call has.
                  { tool: 'searchLog', arguments: { path: 'demo/logs/checkout-api.log', pattern: 'ERROR' } },
                  { tool: 'restart', arguments: { service: 'checkout-api' } },
                ],
              },
            ],
            {
              promptTokens: 100,
              completionTokens: 20,
            },
          ),
          toolCallReply('searchLog', { path: 'demo/logs/checkout-api.log', pattern: 'ERROR' }),
          toolCallReply('runReadOnlyCommand', { argv: ['node', 'demo/bin/status.js', 'checkout-api'] }),
          { toolCalls: [{ name: 'restart', arguments: { service: 'payments' } }], usage: { promptTokens: 5_000, completionTokens: 100 } },
          { text: 'Restarted.' },
          { text: 'Restarted checkout-api.' },
        );
        const session = await llm.andon.session({ id: `replay-${name}`, prompt: `scenario ${name}`, budget: { tokens: 5_000 } });
        await run(session);
        const history = await llm.client.workflow.getHandle(session.id).fetchHistory();
        writeFileSync(path.join(OUT, `${name}.json`), historyToJSON(history));
        console.log(`captured ${name}: ${history.events?.length} events`);
      }
    } finally {
      await llm.close();
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
