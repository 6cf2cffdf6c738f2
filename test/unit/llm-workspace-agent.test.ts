/**
 * The LLM agent in a code session, over the loopback OpenAI server: the workspace tools are offered
 * (and marked in the planner's catalogue) only when the request has a working tree, the model's
 * edit lands in that tree, and a call of a workspace tool in a session without one is refused with
 * a reason the model reads.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { CallOptions, WorkspaceFacts } from '../../src/agents/agent';
import { LlmAgent, TranscriptStore } from '../../src/agents/llm';
import { LLM_KEY, LLM_MODEL, llmConfig, planReply, toolCallReply } from '../support/llm-harness';
import { OpenAICompatibleServer, textOf } from '../support/openai-server';

const DEMO = path.join(__dirname, '../../demo/repos/checkout-service');
const options = (): CallOptions => ({ signal: new AbortController().signal, attempt: 1, heartbeat: () => undefined });
const facts = { sessionId: 's-code', prompt: 'Fix the failing checkout test', title: 'Fix the failing checkout test', context: {} };

let server: OpenAICompatibleServer;
let transcripts: TranscriptStore;
let agent: LlmAgent;
let tree: string;
let workspace: WorkspaceFacts;

beforeAll(async () => {
  server = await OpenAICompatibleServer.start({ apiKey: LLM_KEY, models: [LLM_MODEL] });
  transcripts = TranscriptStore.open(':memory:');
  agent = new LlmAgent({ config: llmConfig(server.baseURL), env: { ANDON_TEST_LLM_KEY: LLM_KEY }, transcripts });
});
afterAll(async () => {
  await server.close();
  transcripts.close();
});
beforeEach(() => {
  server.clearQueue();
  tree = mkdtempSync(path.join(tmpdir(), 'andon-code-'));
  cpSync(DEMO, tree, { recursive: true });
  execFileSync('git', ['init', '-q', tree]);
  workspace = { path: tree, source: 'git:/srv/checkout-service.git@main', branch: 'main', baseCommit: 'a'.repeat(40) };
});
afterEach(() => rmSync(tree, { recursive: true, force: true }));

const toolNames = (index: number) =>
  (server.requests[index]!.body.tools ?? []).map((t) => (t as { function: { name: string } }).function.name);

describe('the LLM agent in a code session', () => {
  it('offers the workspace tools only with a working tree, and tells the planner which change files', async () => {
    const before = server.requests.length;
    server.enqueue({ text: 'done' }, { text: 'done' });
    const step = { id: 'st-1', index: 0, title: 'Fix it', description: '', tools: [] };
    const plan = { id: 'p-1', steps: [step] };
    await agent.turn({ ...facts, plan, step, previous: [], turn: 0, toolResults: [] }, options());
    await agent.turn({ ...facts, sessionId: 's-code-2', plan, step, previous: [], turn: 0, toolResults: [], workspace }, options());
    expect(toolNames(before)).not.toContain('editFile');
    expect(toolNames(before + 1)).toEqual(
      expect.arrayContaining(['listFiles', 'searchFiles', 'readFile', 'editFile', 'applyPatch', 'writeFile', 'runCommand']),
    );
    const system = textOf(server.requests[before + 1]!.body.messages[0]!.content);
    expect(system).toContain('- editFile (changes files: grant each call in the step that makes it)');
    expect(system).not.toContain('- readFile (changes files');
    // The repository, not the worker's path, is what the model is told about.
    const prompt = server.requests[before + 1]!.body.messages.map((m) => textOf(m.content)).join('\n');
    expect(prompt).toContain('Repository: git:/srv/checkout-service.git@main');
    expect(prompt).not.toContain(tree);
  });

  it('plans with workspace tools only in a code session', async () => {
    const reply = planReply([{ title: 'Fix the discount', tools: [{ tool: 'readFile', arguments: { path: 'src/discount.js' } }] }]);
    server.enqueue(reply, reply);
    const plan = await agent.plan({ ...facts, round: 1, feedback: [], workspace }, options());
    expect(plan).toMatchObject({ kind: 'plan', steps: [{ tools: [{ tool: 'readFile', arguments: { path: 'src/discount.js' } }] }] });
    await expect(agent.plan({ ...facts, round: 1, feedback: [] }, options())).rejects.toThrow('"readFile", which is not a tool');
  });

  it('runs the model’s edit in the tree, and refuses workspace tools without one', async () => {
    const call = {
      id: 'call-1',
      tool: 'editFile',
      risky: false,
      arguments: { path: 'src/discount.js', oldText: 'itemCount > BULK_MIN_ITEMS', newText: 'itemCount >= BULK_MIN_ITEMS' },
    };
    expect(await agent.runTool({ sessionId: 's-code', stepId: 'st-1', call, workspace }, options())).toEqual({
      status: 'ok',
      output: expect.stringMatching(/^edited src\/discount\.js at line \d+/),
    });
    expect(readFileSync(path.join(tree, 'src/discount.js'), 'utf8')).toContain('itemCount >= BULK_MIN_ITEMS');
    expect(await agent.runTool({ sessionId: 's-code', stepId: 'st-1', call: { ...call, id: 'call-2' } }, options())).toEqual({
      status: 'error',
      output: "editFile works in a code session's working tree, and this session has none (it has no source)",
    });
    const escape = { ...call, id: 'call-3', arguments: { path: '../etc/passwd', oldText: 'root', newText: 'x' } };
    expect(await agent.runTool({ sessionId: 's-code', stepId: 'st-1', call: escape, workspace }, options())).toEqual({
      status: 'error',
      output: 'path "../etc/passwd" is refused: ".." may not leave the working tree',
    });
  });

  it('gives the model the tool result of a read on its next turn', async () => {
    server.enqueue(toolCallReply('readFile', { path: 'src/discount.js' }, 'call-r'), { text: 'Read it.' });
    const step = {
      id: 'st-2',
      index: 0,
      title: 'Read',
      description: '',
      tools: [{ tool: 'readFile', arguments: { path: 'src/discount.js' } }],
    };
    const plan = { id: 'p-2', steps: [step] };
    const first = await agent.turn(
      { ...facts, sessionId: 's-read', plan, step, previous: [], turn: 0, toolResults: [], workspace },
      options(),
    );
    expect(first.toolCalls).toEqual([{ id: 'call-r', tool: 'readFile', arguments: { path: 'src/discount.js' }, risky: false }]);
    const ran = await agent.runTool({ sessionId: 's-read', stepId: 'st-2', call: first.toolCalls[0]!, workspace }, options());
    expect(ran.output).toContain('BULK_MIN_ITEMS');
    const before = server.requests.length;
    await agent.turn(
      {
        ...facts,
        sessionId: 's-read',
        plan,
        step,
        previous: [],
        turn: 1,
        toolResults: [{ toolCallId: 'call-r', tool: 'readFile', status: 'ok', output: ran.output }],
        workspace,
      },
      options(),
    );
    const last = server.requests[before]!.body.messages.at(-1)!;
    expect(last.role).toBe('tool');
    expect(textOf(last.content)).toContain('BULK_MIN_ITEMS');
  });
});
