/**
 * Commands that reach a session while its summary (a local activity) runs: a message, a question
 * and a refused approval land in the workflow task that delivers the summary's result, or next to
 * it. However they fall, the session's history must replay against the current workflow code.
 */
import type { Client } from '@temporalio/client';
import { Worker } from '@temporalio/worker';
import { ScriptedAgent, parseScript } from '../../src/agents/scripted';
import { quickScript, startHarness, workflowBundle, type Harness } from '../support/harness';

const T = { timeoutMs: 30_000 };
let entered: () => void = () => undefined;

class SlowSummary extends ScriptedAgent {
  override async summarize(...args: Parameters<ScriptedAgent['summarize']>) {
    entered();
    await new Promise((resolve) => setTimeout(resolve, 800));
    return super.summarize(...args);
  }
}

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ agent: new SlowSummary(parseScript(quickScript())), followUpWindowMs: 2_000 });
});
afterAll(() => h.close());

async function replays(client: Client, workflowId: string): Promise<void> {
  for await (const execution of client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) {
    const history = await client.workflow.getHandle(workflowId, execution.runId).fetchHistory();
    await Worker.runReplayHistory({ workflowBundle: workflowBundle()! }, history, `${workflowId}/${execution.runId}`);
  }
}

it('asks, messages and approvals sent while the summary runs leave a history that replays', async () => {
  for (let i = 0; i < 4; i++) {
    const summarizing = new Promise<void>((resolve) => (entered = resolve));
    const session = await h.andon.run({ prompt: `summary race ${i}` });
    await summarizing;
    // Spread over the summary's 800 ms so some land with its result, some before, some after.
    await Promise.allSettled(
      Array.from({ length: 4 }, (_, n) =>
        new Promise((resolve) => setTimeout(resolve, 150 + n * 250 + i * 40)).then((): Promise<unknown> =>
          n % 2 === 0 ? session.ask(`status ${n}?`, T) : Promise.all([session.send(`note ${n}`), session.approve().catch(() => undefined)]),
        ),
      ),
    );
    expect((await session.result(T)).state).toBe('completed');
    await replays(h.client, session.id);
  }
});
