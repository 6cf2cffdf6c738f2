/**
 * LLM transcripts with several workers (docs/operations.md, "Running on your own cluster"): the
 * SQLite and PostgreSQL stores keep the same contract (turn order, retried turns, cut outputs,
 * sealing and row binding, ids and text of any shape), checked against both on a real PostgreSQL
 * server; and a step whose next model turn lands on another worker continues its conversation with
 * PostgreSQL, where two workers with their own SQLite files lose it (the model is sent a tool
 * result with no call before it, which OpenAI refuses).
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import pg from 'pg';
import type { ModelMessage } from 'ai';
import { LlmAgent, TranscriptStore, openTranscripts, type Transcripts } from '../../src/agents/llm';
import { PostgresTranscriptStore } from '../../src/agents/llm/transcripts-postgres';
import { MAX_STORED_OUTPUT_CHARS } from '../../src/agents/llm/transcripts';
import { AgentRegistry } from '../../src/agents/registry';
import { EncryptionKeys, generateEncryptionKey } from '../../src/client/codec';
import { startHarness, type Harness } from '../support/harness';
import { LLM_KEY, LLM_MODEL, llmConfig, planReply, toolCallReply } from '../support/llm-harness';
import { OpenAICompatibleServer, textOf } from '../support/openai-server';
import { startTestDatabase, type TestDatabase } from '../support/postgres-server';
import { rejectionOf } from '../support/rejection';

const T = { timeoutMs: 30_000 };
const K1 = EncryptionKeys.parse(generateEncryptionKey('k1'));
const K1_IMPOSTOR = EncryptionKeys.parse(generateEncryptionKey('k1'));

let database: TestDatabase;
let url: string;
const opened: Transcripts[] = [];

beforeAll(async () => {
  database = await startTestDatabase('andon-transcripts-shared-');
  url = database.url;
});
afterAll(async () => {
  for (const store of opened.splice(0)) await store.close();
  await database?.stop();
});

/** Opens a store of `kind`; two calls with one `place` are two workers on the same store. */
function storeAt(kind: 'sqlite' | 'postgres', place: string, keys?: typeof K1): Transcripts {
  const location = kind === 'postgres' ? url : path.join(database.dir, `${place}.db`);
  const store = openTranscripts(location, keys ? { encryption: { keys } } : {});
  opened.push(store);
  return store;
}

async function sql<R extends pg.QueryResultRow>(text: string, params: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(text, params)).rows;
  } finally {
    await client.end();
  }
}

describe.each(['sqlite', 'postgres'] as const)('the %s transcript store', (kind) => {
  let place: string;
  let session: string;
  beforeEach(() => {
    place = `contract-${randomUUID()}`;
    session = `s-${randomUUID()}`;
  });

  it('opens the store its location names', () => {
    expect(storeAt(kind, place)).toBeInstanceOf(kind === 'postgres' ? PostgresTranscriptStore : TranscriptStore);
  });

  it('keeps turns in order and rewrites a retried turn (and what came after it) instead of adding to it', async () => {
    const store = storeAt(kind, place);
    await store.saveTurn(session, 'step-1', 0, [
      { role: 'user', content: 'go' },
      { role: 'assistant', content: 'first try' },
    ]);
    await store.saveTurn(session, 'step-1', 1, [{ role: 'assistant', content: 'from the first try' }]);
    await store.saveTurn(session, 'step-1', 0, [
      { role: 'user', content: 'go' },
      { role: 'assistant', content: 'second try' },
    ]);
    expect(await store.history(session, 'step-1', 5)).toEqual([
      { role: 'user', content: 'go' },
      { role: 'assistant', content: 'second try' },
    ]);
    await store.saveTurn(session, 'step-1', 1, [{ role: 'assistant', content: 'next' }]);
    expect(await store.history(session, 'step-1', 1)).toHaveLength(2);
    expect(await store.history(session, 'step-1', 2)).toHaveLength(3);
    expect(await store.history(session, 'step-2', 5)).toEqual([]);
    expect(await store.history(`${session}-other`, 'step-1', 5)).toEqual([]);
  });

  it('cuts a long tool output to its tail, replaces a retried one, and answers undefined for none', async () => {
    const store = storeAt(kind, place);
    await store.saveToolOutput(session, 'call-1', `head${'x'.repeat(100_000)}tail`);
    const kept = (await store.toolOutput(session, 'call-1'))!;
    expect(kept.length).toBeLessThanOrEqual(MAX_STORED_OUTPUT_CHARS + 10);
    expect(kept).toMatch(/^…\(cut\)\n/);
    expect(kept.endsWith('tail')).toBe(true);
    await store.saveToolOutput(session, 'call-1', 'again');
    expect(await store.toolOutput(session, 'call-1')).toBe('again');
    expect(await store.toolOutput(session, 'call-2')).toBeUndefined();
  });

  it('gives a second worker on the same store what the first wrote', async () => {
    const a = storeAt(kind, place);
    const b = storeAt(kind, place);
    await a.saveTurn(session, 'step-1', 0, [{ role: 'user', content: 'written by A' }]);
    await a.saveToolOutput(session, 'call-1', 'output from A');
    expect(await b.history(session, 'step-1', 1)).toEqual([{ role: 'user', content: 'written by A' }]);
    expect(await b.toolOutput(session, 'call-1')).toBe('output from A');
  });

  it('seals rows with the keys, opens them on another worker with the same keys, and refuses clearly without', async () => {
    const sealed = storeAt(kind, place, K1);
    const secret = `SECRET-${randomUUID()}`;
    await sealed.saveTurn(session, 'step-1', 0, [{ role: 'user', content: secret }]);
    await sealed.saveToolOutput(session, 'call-1', secret);
    expect(await storeAt(kind, place, K1).history(session, 'step-1', 1)).toEqual([{ role: 'user', content: secret }]);
    expect(await storeAt(kind, place, K1).toolOutput(session, 'call-1')).toBe(secret);

    if (kind === 'postgres') {
      const rows = await sql<{ data: Buffer; key_id: string }>(
        `SELECT data, key_id FROM andon_transcript_turns WHERE session_id = $1
         UNION ALL SELECT data, key_id FROM andon_transcript_tool_outputs WHERE session_id = $1`,
        [session],
      );
      expect(rows).toHaveLength(2);
      for (const row of rows) {
        expect(row.key_id).toBe('k1');
        expect(row.data.toString('utf8')).not.toContain(secret);
      }
    }
    expect(await rejectionOf(storeAt(kind, place).history(session, 'step-1', 1))).toMatchObject({
      name: 'AgentError',
      retryable: false,
      code: 'TranscriptKeyMissing',
    });
    expect(await rejectionOf(storeAt(kind, place, K1_IMPOSTOR).toolOutput(session, 'call-1'))).toMatchObject({
      code: 'TranscriptKeyMismatch',
      message: expect.stringMatching(/tool call call-1 cannot be decrypted/),
    });
  });

  it('does not open a sealed row moved to another session', async () => {
    const store = storeAt(kind, place, K1);
    await store.saveTurn(session, 'step-1', 0, [{ role: 'user', content: 'mine' }]);
    const thief = `${session}-thief`;
    if (kind === 'postgres') {
      await sql(
        `INSERT INTO andon_transcript_turns (session_id, step_id, turn, data, key_id)
         SELECT $2, step_id, turn, data, key_id FROM andon_transcript_turns WHERE session_id = $1`,
        [session, thief],
      );
    } else {
      const { DatabaseSync } = await import('node:sqlite');
      const db = new DatabaseSync(path.join(database.dir, `${place}.db`));
      db.prepare(
        'INSERT INTO turns (session_id, step_id, turn, messages, key_id) SELECT ?, step_id, turn, messages, key_id FROM turns',
      ).run(thief);
      db.close();
    }
    expect(await rejectionOf(store.history(thief, 'step-1', 1))).toMatchObject({ code: 'TranscriptKeyMismatch' });
    expect(await store.history(session, 'step-1', 1)).toHaveLength(1);
  });

  it('fuzz: ids and text of any shape (NUL, quotes, %, emoji, SQL) round-trip and stay apart', async () => {
    const store = storeAt(kind, place);
    const sealed = storeAt(kind, place, K1);
    let seed = kind === 'postgres' ? 7 : 11;
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    const alphabet = ['a', 'Z', '0', '\u0000', '%', '%00', "'", '"', '\\', ';', ' ', 'é', '😀', '\n', '--', 'DROP TABLE x'];
    const text = (max: number) =>
      Array.from({ length: Math.floor(random() * max) }, () => alphabet[Math.floor(random() * alphabet.length)]).join('');
    const written = new Map<string, { session: string; call: string; output: string; messages: ModelMessage[] }>();
    for (let i = 0; i < 40; i++) {
      const entry = {
        session: `${session}${text(6)}`,
        call: `c${i}${text(8)}`,
        output: text(40),
        messages: [{ role: 'user' as const, content: text(40) }],
      };
      const target = i % 2 === 0 ? store : sealed;
      await target.saveToolOutput(entry.session, entry.call, entry.output);
      await target.saveTurn(entry.session, entry.call, 0, entry.messages);
      written.set(`${entry.session}\u0001${entry.call}`, entry);
    }
    for (const entry of written.values()) {
      expect(await sealed.toolOutput(entry.session, entry.call)).toBe(entry.output);
      expect(await sealed.history(entry.session, entry.call, 1)).toEqual(entry.messages);
    }
    // An id with NUL and its escaped look-alike are two ids.
    await store.saveToolOutput(session, 'x\u0000y', 'nul');
    await store.saveToolOutput(session, 'x%00y', 'escaped');
    expect(await store.toolOutput(session, 'x\u0000y')).toBe('nul');
    expect(await store.toolOutput(session, 'x%00y')).toBe('escaped');
  });
});

describe('the PostgreSQL transcript store', () => {
  it('fails retryably, saying so, when the database cannot be reached', async () => {
    const down = new PostgresTranscriptStore({
      url: `postgres://andon:wrong@127.0.0.1:${database.postgres.port}/andon`,
      connectionTimeout: 2_000,
    });
    try {
      const error = await rejectionOf(down.history('s', 'step', 1));
      expect(error).toMatchObject({ name: 'AgentError', retryable: true, code: 'TranscriptStoreUnavailable' });
      expect((error as Error).message).toMatch(/^transcripts: could not set up its tables in PostgreSQL: /);
      expect((error as Error).message).not.toContain('wrong');
    } finally {
      await down.close();
    }
  });
});

describe('a step whose next model turn lands on another worker', () => {
  let server: OpenAICompatibleServer;
  let h: Harness | undefined;
  const agentOn = (transcripts: Transcripts) =>
    new LlmAgent({ config: llmConfig(server.baseURL), env: { ANDON_TEST_LLM_KEY: LLM_KEY }, transcripts });

  beforeAll(async () => {
    server = await OpenAICompatibleServer.start({ apiKey: LLM_KEY, models: [LLM_MODEL] });
  });
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });
  afterAll(async () => {
    await server?.close();
  });

  /**
   * Worker A plans and runs turn 0 of the step (the model calls `restart` outside the plan, so a
   * person must review it), then stops; worker B, on `second`, takes the review and turn 1.
   */
  async function handOver(first: Transcripts, second: Transcripts, prompt: string) {
    server.clearQueue();
    server.enqueue(
      planReply([{ title: 'Restart checkout-api', tools: [{ tool: 'restart', arguments: { service: 'checkout-api' } }] }]),
      toolCallReply('restart', { service: 'payments' }, 'call-handover'),
      { text: 'Restarted payments.' },
      { text: 'Restarted the service.' },
    );
    h = await startHarness({ agent: agentOn(first) });
    const session = await h.andon.session({ prompt, context: { service: 'checkout-api' } });
    await session.waitFor('awaitingPlanApproval', T);
    await session.approve();
    const view = await session.waitFor('awaitingUserFeedback', T);
    await h.stopWorker();
    await h.startWorker(agentOn(second));
    const before = { requests: server.requests.length, rejected: server.rejected.length };
    await session.review(view.pendingReviews[0]!.id, { decision: 'approve' });
    return { session, before };
  }

  it('continues the conversation when the workers share PostgreSQL', async () => {
    const prompt = `restart checkout-api ${randomUUID()}`;
    const { session, before } = await handOver(storeAt('postgres', 'a'), storeAt('postgres', 'b'), prompt);
    const result = await session.result(T);
    expect(result).toMatchObject({ state: 'completed', summary: 'Restarted the service.' });
    // Turn 1, on worker B, was sent the step's prompt and the tool call worker A's turn 0 made.
    const turn1 = server.requests[before.requests]!.body.messages;
    const sent = turn1.map((m) => textOf(m.content) + JSON.stringify(m)).join('\n');
    expect(sent).toContain('Restart checkout-api');
    expect(turn1.some((m) => m.role === 'assistant' && JSON.stringify(m).includes('call-handover'))).toBe(true);
    expect(server.rejected.length).toBe(before.rejected);
  });

  it('is the store of an LLM agent made from configuration with a postgres:// transcripts URL (as npm start makes it)', async () => {
    const registry = await AgentRegistry.create(
      { llm: { ...llmConfig(server.baseURL), transcripts: url } },
      { encryption: { keys: K1 }, env: { ANDON_TEST_LLM_KEY: LLM_KEY }, root: database.dir },
    );
    const agent = registry.resolve('llm').agent as LlmAgent;
    const sessionId = `s-configured-${randomUUID()}`;
    try {
      await agent.runTool(
        { sessionId, stepId: 'st-1', call: { id: 'call-1', tool: 'restart', arguments: { service: 'api' }, risky: false } },
        { signal: new AbortController().signal, attempt: 1, heartbeat: () => undefined },
      );
    } finally {
      await agent.close();
    }
    expect(await storeAt('postgres', 'any', K1).toolOutput(sessionId, 'call-1')).toMatch(/restarted api/);
  });

  it('loses it when each worker has its own SQLite file (why several workers need the shared store)', async () => {
    const { session, before } = await handOver(
      storeAt('sqlite', `own-a-${randomUUID()}`),
      storeAt('sqlite', `own-b-${randomUUID()}`),
      'restart it',
    );
    const deadline = Date.now() + 30_000;
    while (server.rejected.length === before.rejected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(server.rejected[before.rejected]?.error).toMatchObject({
      message: expect.stringMatching(/role 'tool' must be a response to a preceeding message with 'tool_calls'/),
    });
    // The step fails on the refusal (the session goes on as its failure policy says); it is over either way.
    await session.result(T).catch(() => undefined);
  });
});
