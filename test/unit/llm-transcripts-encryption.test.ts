/**
 * The LLM agent's transcripts on disk with encryption keys configured (docs/encryption.md): the
 * SQLite file holds no prompt, reply or tool output, a restarted agent (a new store on the same
 * file, as after a worker restart) still resumes the step's conversation, keys rotate, rows from
 * before encryption still read, and a missing or wrong key is a clear error, never garbage.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { CallOptions } from '../../src/agents/agent';
import { LlmAgent, TranscriptStore } from '../../src/agents/llm';
import { AgentRegistry } from '../../src/agents/registry';
import { EncryptionKeys, generateEncryptionKey, type EncryptionKey } from '../../src/client/codec';
import { LLM_KEY, LLM_MODEL, llmConfig, toolCallReply } from '../support/llm-harness';
import { OpenAICompatibleServer, textOf } from '../support/openai-server';
import { rejectionOf } from '../support/rejection';

const SECRET = { prompt: `PROMPT-${randomUUID()}`, reply: `REPLY-${randomUUID()}`, output: `OUTPUT-${randomUUID()}` };
const keysOf = (compact: string): EncryptionKey[] => EncryptionKeys.parse(compact);
const K1 = keysOf(generateEncryptionKey('k1'));
const K2 = keysOf(generateEncryptionKey('k2'));
/** Another key under the id k1: what a misconfigured worker would have. */
const K1_IMPOSTOR = keysOf(generateEncryptionKey('k1'));

const options = (): CallOptions => ({ signal: new AbortController().signal, attempt: 1, heartbeat: () => undefined });
const step = { id: 'st-1', index: 0, title: 'Restart', description: '', tools: [] };
const plan = { id: 'p-1', steps: [step] };
const facts = (sessionId: string) => ({ sessionId, prompt: SECRET.prompt, title: 'checkout-api 5xx', context: {} });

let server: OpenAICompatibleServer;
let dir: string;
let file: string;
const opened: TranscriptStore[] = [];

function store(keys?: EncryptionKey[], activeKeyId?: string): TranscriptStore {
  const s = TranscriptStore.open(file, keys ? { encryption: { keys, activeKeyId } } : {});
  opened.push(s);
  return s;
}
const agentOn = (transcripts: TranscriptStore) =>
  new LlmAgent({ config: llmConfig(server.baseURL), env: { ANDON_TEST_LLM_KEY: LLM_KEY }, transcripts });

/** Every byte SQLite has on disk for the file (its write-ahead log too), as text. */
function rawFile(): string {
  return ['', '-wal', '-shm']
    .map((suffix) => file + suffix)
    .filter((f) => existsSync(f))
    .map((f) => readFileSync(f).toString('latin1'))
    .join('\n');
}

beforeAll(async () => {
  server = await OpenAICompatibleServer.start({ apiKey: LLM_KEY, models: [LLM_MODEL] });
});
afterAll(async () => {
  await server.close();
});
beforeEach(() => {
  server.clearQueue();
  dir = mkdtempSync(path.join(tmpdir(), 'andon-transcripts-'));
  file = path.join(dir, 'transcripts.db');
});
afterEach(() => {
  for (const s of opened.splice(0)) s.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Turn 0 of a step: the model calls `restart`; its output is stored. Returns the call's id. */
async function firstTurn(agent: LlmAgent, sessionId: string): Promise<string> {
  server.enqueue(toolCallReply('restart', { service: SECRET.reply }, 'call-1'));
  const first = await agent.turn({ ...facts(sessionId), plan, step, previous: [], turn: 0, toolResults: [] }, options());
  expect(first.toolCalls).toHaveLength(1);
  const ran = await agent.runTool({ sessionId, stepId: step.id, call: first.toolCalls[0]! }, options());
  expect(ran.output).toContain(`restarted ${SECRET.reply}`);
  return first.toolCalls[0]!.id;
}

/** Turn 1, on `agent`: what the model was sent (the conversation so far, resumed from the store). */
async function secondTurn(agent: LlmAgent, sessionId: string, callId: string): Promise<string> {
  server.enqueue({ text: 'Restarted.' });
  const before = server.requests.length;
  await agent.turn(
    {
      ...facts(sessionId),
      plan,
      step,
      previous: [],
      turn: 1,
      toolResults: [{ toolCallId: callId, tool: 'restart', status: 'ok', output: `restarted ${SECRET.reply}` }],
    },
    options(),
  );
  return server.requests[before]!.body.messages.map((m) => textOf(m.content) + JSON.stringify(m)).join('\n');
}

describe('LLM transcripts with encryption keys', () => {
  it('keep no prompt, reply or tool output on disk, and a restarted agent resumes the conversation', async () => {
    const first = store(K1);
    const callId = await firstTurn(agentOn(first), 's-sealed');
    await first.saveToolOutput('s-sealed', callId, `long output ${SECRET.output}`);
    first.close();

    const disk = rawFile();
    expect(disk.length).toBeGreaterThan(0);
    for (const secret of Object.values(SECRET)) expect(disk).not.toContain(secret);
    // The rows are there, sealed, and say which key sealed them.
    const db = new DatabaseSync(file, { readOnly: true });
    const rows = db.prepare('SELECT messages, key_id FROM turns').all() as { messages: string; key_id: string }[];
    db.close();
    expect(rows).toEqual([{ messages: expect.stringMatching(/^[A-Za-z0-9+/]+=*$/), key_id: 'k1' }]);

    // A new store on the same file (a restarted worker) gives the model the whole conversation again.
    const again = store(K1);
    const sent = await secondTurn(agentOn(again), 's-sealed', callId);
    expect(sent).toContain(SECRET.prompt);
    expect(sent).toContain(SECRET.reply);
    expect(await again.toolOutput('s-sealed', callId)).toBe(`long output ${SECRET.output}`);
  });

  it('opens rows sealed under an older key after a rotation, and seals new ones with the active key', async () => {
    const old = store(K1);
    const callId = await firstTurn(agentOn(old), 's-rotated');
    old.close();
    const rotated = store([...K2, ...K1], 'k2');
    expect(await secondTurn(agentOn(rotated), 's-rotated', callId)).toContain(SECRET.prompt);
    rotated.close();
    const db = new DatabaseSync(file, { readOnly: true });
    const ids = db.prepare('SELECT turn, key_id FROM turns ORDER BY turn').all();
    db.close();
    expect(ids).toEqual([
      { turn: 0, key_id: 'k1' },
      { turn: 1, key_id: 'k2' },
    ]);
  });

  it('still reads rows written before encryption was turned on', async () => {
    const plain = store();
    const callId = await firstTurn(agentOn(plain), 's-plain');
    plain.close();
    expect(rawFile()).toContain(SECRET.prompt);
    const sealed = store(K1);
    expect(await secondTurn(agentOn(sealed), 's-plain', callId)).toContain(SECRET.prompt);
  });

  it('refuses with a clear error, not garbage, when the key is missing or wrong', async () => {
    const first = store(K1);
    await firstTurn(agentOn(first), 's-keys');
    first.close();

    const missing = await rejectionOf(store().history('s-keys', step.id, 1));
    expect(missing).toMatchObject({ name: 'AgentError', retryable: false, code: 'TranscriptKeyMissing' });
    expect((missing as Error).message).toMatch(/session s-keys, step st-1, turn 0 is encrypted \(key "k1"\).*ANDON_ENCRYPTION_KEYS/);

    const wrong = await rejectionOf(store(K1_IMPOSTOR).history('s-keys', step.id, 1));
    expect(wrong).toMatchObject({ name: 'AgentError', retryable: false, code: 'TranscriptKeyMismatch' });
    expect((wrong as Error).message).toMatch(/cannot be decrypted: .*wrong key under that id/);

    const unknown = await rejectionOf(store(K2).history('s-keys', step.id, 1));
    expect((unknown as Error).message).toMatch(/key "k1", which is not configured/);
  });

  it("are sealed for an LLM agent made from configuration with the worker's keys (as npm start makes it)", async () => {
    const registry = await AgentRegistry.create(
      { llm: { ...llmConfig(server.baseURL), transcripts: file } },
      { encryption: { keys: K1 }, env: { ANDON_TEST_LLM_KEY: LLM_KEY } },
    );
    const agent = registry.resolve('llm').agent as LlmAgent;
    try {
      await firstTurn(agent, 's-configured');
    } finally {
      await agent.close();
    }
    expect(rawFile()).not.toContain(SECRET.prompt);
    expect(await secondTurn(agentOn(store(K1)), 's-configured', 'call-1')).toContain(SECRET.prompt);
  });

  it('does not open a sealed row moved to another session', async () => {
    const s = store(K1);
    await firstTurn(agentOn(s), 's-victim');
    const db = new DatabaseSync(file);
    db.prepare(
      "INSERT INTO turns (session_id, step_id, turn, messages, key_id) SELECT 's-thief', step_id, turn, messages, key_id FROM turns",
    ).run();
    db.close();
    const moved = await rejectionOf(s.history('s-thief', step.id, 1));
    expect(moved).toMatchObject({ code: 'TranscriptKeyMismatch' });
    expect((await s.history('s-victim', step.id, 1)).length).toBeGreaterThan(0);
  });
});
