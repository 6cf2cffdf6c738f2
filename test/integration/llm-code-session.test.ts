/**
 * The LLM agent in a code session on the dev server, over the loopback OpenAI server, with real
 * git: the plan grants an exact edit and the test command; the model makes them (they run at once,
 * in the session's tree), then writes a file the plan does not grant, which waits for a person's
 * review like any call outside the plan. The step's change set holds both files, and andon/<id> is
 * published to the demo repository.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ensureDemoRepository, type DemoRepository } from '../../src/agents/scripted/demo-repository';
import type { TimelineEvent } from '../../src/client';
import { planReply, startLlmHarness, toolCallReply, type LlmHarness } from '../support/llm-harness';
import { textOf } from '../support/openai-server';

const T = { timeoutMs: 60_000 };
let root: string;
let demo: DemoRepository;
let h: LlmHarness;

beforeAll(async () => {
  root = mkdtempSync(path.join(tmpdir(), 'andon-llm-code-'));
  demo = await ensureDemoRepository(path.join(root, 'demo'));
  h = await startLlmHarness({ dataDir: path.join(root, 'worker'), workspace: { allowedGitSources: [demo.path] } });
});
afterAll(async () => {
  await h?.close();
  rmSync(root, { recursive: true, force: true });
});

it('edits and tests under the plan’s grants, reviews an ungranted write, and publishes the change', async () => {
  const edit = { path: 'src/discount.js', oldText: 'itemCount > BULK_MIN_ITEMS', newText: 'itemCount >= BULK_MIN_ITEMS' };
  const tests = { argv: ['node', 'test.js'] };
  h.script(
    planReply([
      {
        title: 'Fix the bulk discount threshold',
        tools: [
          { tool: 'editFile', arguments: edit },
          { tool: 'runCommand', arguments: tests },
        ],
      },
    ]),
    toolCallReply('editFile', edit),
    toolCallReply('runCommand', tests),
    toolCallReply('writeFile', { path: 'CHANGELOG.md', content: '- bulk discount from 10 items\n' }),
    { text: 'Fixed the threshold; all tests pass.' },
    { text: 'Fixed the bulk discount threshold.' },
  );
  const session = await h.andon.session({ prompt: 'Fix the failing checkout test', source: { git: demo.path } });
  await session.waitFor('awaitingPlanApproval', T);
  // The planner was offered the workspace tools, marked where they change files.
  const system = textOf(h.server.requests[0]!.body.messages[0]!.content);
  expect(system).toContain('- editFile (changes files: grant each call in the step that makes it)');
  await session.approve({ by: 'test:lead' });

  const waiting = await session.waitFor('awaitingUserFeedback', T);
  expect(waiting.pendingReviews).toEqual([expect.objectContaining({ tool: 'writeFile', reason: 'outsidePlan' })]);
  await session.review(waiting.pendingReviews[0]!.id, { decision: 'approve' }, { by: 'test:lead' });
  const outcome = await session.result(T);
  expect(outcome.state).toBe('completed');

  const { events } = await session.timeline();
  const calls = events.filter((e): e is Extract<TimelineEvent, { type: 'toolCalled' }> => e.type === 'toolCalled');
  expect(calls.map((c) => [c.tool, c.status])).toEqual([
    ['editFile', 'ok'],
    ['runCommand', 'ok'],
    ['writeFile', 'ok'],
  ]);
  expect(calls[1]!.output).toContain('6 of 6 tests passed');

  const branch = `andon/${session.id}`;
  const git = (...args: string[]) => execFileSync('git', ['-C', demo.path, ...args], { encoding: 'utf8' }).trim();
  expect(git('diff', '--name-only', `main..${branch}`).split('\n').sort()).toEqual(['CHANGELOG.md', 'src/discount.js']);
  expect(git('show', `${branch}:src/discount.js`)).toContain('itemCount >= BULK_MIN_ITEMS');
});
