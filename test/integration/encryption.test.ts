/**
 * Encryption on (docs/encryption.md): a session's prompt, labels, plan, tool output and replies
 * never appear in raw history, memo, search attributes or the UI summary, read with a plain
 * Temporal client that has no codec; the codec server decodes them for an authorised caller.
 */
import { randomUUID } from 'node:crypto';
import { execFile } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { Andon } from '../../src/client';
import { AesGcmCodec, generateEncryptionKey } from '../../src/client/codec';
import { ScriptedAgent, parseScript } from '../../src/agents/scripted';
import { createWorker } from '../../src/worker';
import { quickScript, testAddress, workflowBundle } from '../support/harness';
import { rejectionOf } from '../support/rejection';
import { TOKENS, startService, type TestService } from '../support/service-harness';

const OLD_KEY = generateEncryptionKey('old');
const NEW_KEY = generateEncryptionKey('new');
const UI_ORIGIN = 'http://localhost:8233';

const SECRET = {
  prompt: `PROMPT-${randomUUID()}`,
  label: `LABEL-${randomUUID()}`,
  ask: `ASKED-${randomUUID()}`,
  tool: `TOOLOUT-${randomUUID()}`,
  error: `ERRTEXT-${randomUUID()}`,
};

let address: string;
let connection: Connection;
let plain: Client;
let andon: Andon;
let nativeConnection: NativeConnection;
let worker: Worker;
let running: Promise<void>;
let service: TestService;
const taskQueue = `test-encryption-${randomUUID()}`;
const codec = AesGcmCodec.from(`${NEW_KEY},${OLD_KEY}`);

beforeAll(async () => {
  address = testAddress();
  connection = await Connection.connect({ address });
  plain = new Client({ connection, namespace: 'default' });
  andon = await Andon.connect({ connection, taskQueue, codec, identity: 'test:encrypted', defaults: { followUpWindowMs: 0 } });
  nativeConnection = await NativeConnection.connect({ address });
  const agent = new ScriptedAgent(
    parseScript(
      quickScript({
        plans: [
          {
            title: 'Fix {title}',
            steps: [
              {
                title: `Look at ${SECRET.label}`,
                description: 'look around',
                result: { description: `looked: ${SECRET.tool}` },
                // Fails once (retried): the failure's message, e.g. a command's stderr, is in history as the last failure.
                failures: [{ attempt: 1, kind: 'transient', message: `stderr: ${SECRET.error}` }],
              },
            ],
          },
        ],
      }),
    ),
  );
  worker = await createWorker({
    connection: nativeConnection,
    namespace: 'default',
    taskQueue,
    agents: { quick: agent },
    codec,
    workflowBundle: workflowBundle(),
    options: { shutdownGraceTime: '2s' },
  });
  running = worker.run();
  service = await startService(andon, {}, { codec: { codec, corsOrigins: [UI_ORIGIN], namespace: 'default' } });
});

afterAll(async () => {
  await service?.close();
  worker?.shutdown();
  await running;
  await nativeConnection?.close();
  await connection?.close();
});

function describeRaw(workflowId: string) {
  return plain.workflowService.describeWorkflowExecution({ namespace: 'default', execution: { workflowId } });
}

/** Runs the `temporal` CLI the suite's server came with; resolves with its stdout, rejects with its stderr. */
function temporalCli(args: string[]): Promise<string> {
  const binary = process.env.TEMPORAL_CLI_PATH;
  if (!binary) throw new Error('TEMPORAL_CLI_PATH is not set: run the tests through jest (global setup finds the CLI)');
  return new Promise((resolve, reject) => {
    execFile(binary, args, { timeout: 30_000, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`temporal ${args.slice(0, 2).join(' ')} failed: ${stderr || error.message}`));
      else resolve(stdout);
    });
  });
}

/** A CLI output as a person could read it: the text, and every base64 string in it decoded. */
function readable(output: string): string {
  const decoded = [...output.matchAll(/"([A-Za-z0-9+/]{16,}={0,2})"/g)].map((m) => Buffer.from(m[1]!, 'base64').toString('utf8'));
  return [output, ...decoded].join('\n');
}

/**
 * POSTs the start of a JSON body (64 KiB of a payloads array) and never the rest; resolves with the
 * answer the service gives meanwhile, or rejects after 5 s (the service waited for the body).
 */
function partialUpload(url: string, headers: Record<string, string>): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers } });
    const timer = setTimeout(() => {
      request.destroy();
      reject(new Error('no answer before the body was sent: the body is being read first'));
    }, 5_000);
    request.on('response', (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        clearTimeout(timer);
        request.destroy();
        resolve({ status: response.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null') });
      });
    });
    // The service may close the connection on us once it has answered: that is fine.
    request.on('error', () => undefined);
    request.write(`{"payloads":[{"data":"${'A'.repeat(64 * 1024)}`);
  });
}

/** Every string in a value, Uint8Arrays read as UTF-8 (plaintext JSON payloads show as text). */
function strings(value: unknown, out: string[] = [], seen = new Set<unknown>()): string[] {
  if (typeof value === 'string') out.push(value);
  else if (value instanceof Uint8Array) out.push(Buffer.from(value).toString('utf8'));
  else if (typeof value === 'object' && value !== null && !seen.has(value)) {
    seen.add(value);
    for (const v of Object.values(value)) strings(v, out, seen);
  }
  return out;
}

/** The payloads of a raw history in the codec server's JSON form. */
function payloadsOf(value: unknown, out: { metadata: Record<string, string>; data: string }[] = [], seen = new Set<unknown>()) {
  if (typeof value !== 'object' || value === null || seen.has(value)) return out;
  seen.add(value);
  const v = value as { metadata?: Record<string, Uint8Array>; data?: Uint8Array };
  if (v.metadata && typeof v.metadata === 'object' && v.data instanceof Uint8Array && v.metadata.encoding instanceof Uint8Array) {
    out.push({
      metadata: Object.fromEntries(Object.entries(v.metadata).map(([k, b]) => [k, Buffer.from(b).toString('base64')])),
      data: Buffer.from(v.data).toString('base64'),
    });
    return out;
  }
  for (const child of Object.values(value)) payloadsOf(child, out, seen);
  return out;
}

describe('encryption on', () => {
  let sessionId: string;

  it('keeps prompt, labels, asks, replies and tool output out of raw history, memo, search attributes and UI metadata', async () => {
    const session = await andon.session({
      prompt: `${SECRET.prompt} checkout is down`,
      context: { service: 'checkout', region: SECRET.label },
    });
    sessionId = session.id;
    await session.waitFor('awaitingPlanApproval', { timeoutMs: 20_000 });
    const answer = await session.ask(SECRET.ask);
    expect(answer.reply).toContain(SECRET.ask); // the agent echoes it: the reply carries it too
    await session.approve();
    const outcome = await session.result({ timeoutMs: 30_000 });
    expect(outcome.state).toBe('completed');
    // The encrypting client reads everything back in the clear.
    const timeline = await session.timeline();
    expect(JSON.stringify(timeline)).toContain(SECRET.tool);
    expect((await andon.sessions.list({ limit: 50 })).find((s) => s.id === sessionId)).toMatchObject({
      title: `${SECRET.prompt} checkout is down`,
      service: 'checkout',
    });

    const handle = plain.workflow.getHandle(sessionId);
    const history = await handle.fetchHistory();
    // Raw service calls: the plain client's describe() and list() would try (and fail) to decode the memo.
    const described = await describeRaw(sessionId);
    const listed = await plain.workflowService.listWorkflowExecutions({ namespace: 'default', query: `WorkflowId = '${sessionId}'` });
    expect(listed.executions).toHaveLength(1);
    const everything = strings([history, described, listed]).join('\n');
    expect(everything.length).toBeGreaterThan(1000);
    for (const secret of Object.values(SECRET)) expect(everything).not.toContain(secret);
    expect(everything).toContain('binary/encrypted');
    // What visibility keeps: the state and the service, nothing a caller wrote.
    const attributes = Object.keys(described.workflowExecutionInfo?.searchAttributes?.indexedFields ?? {});
    expect(attributes).toEqual(expect.arrayContaining(['AndonState', 'AndonService']));
    expect(attributes).not.toContain('AndonTitle');
    expect(Object.keys(described.workflowExecutionInfo?.memo?.fields ?? {})).toEqual(['title']);
    expect(described.executionConfig?.userMetadata?.summary?.data).toBeDefined();
  });

  it('the codec server decodes the raw payloads for a `read` token: the UI path', async () => {
    const history = await plain.workflow.getHandle(sessionId).fetchHistory();
    const payloads = payloadsOf(history);
    expect(payloads.length).toBeGreaterThan(5);
    const response = await service.call('POST', '/codec/decode', {
      as: 'reader',
      body: { payloads },
      headers: { origin: UI_ORIGIN, 'x-namespace': 'default' },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('access-control-allow-origin')).toBe(UI_ORIGIN);
    const decoded = (response.body as { payloads: { data: string }[] }).payloads
      .map((p) => Buffer.from(p.data, 'base64').toString('utf8'))
      .join('\n');
    for (const secret of Object.values(SECRET)) expect(decoded).toContain(secret);

    // The UI summary (user metadata) decodes too.
    const described = await describeRaw(sessionId);
    const summary = payloadsOf(described.executionConfig?.userMetadata);
    expect(summary.length).toBeGreaterThan(0);
    const ui = await service.call('POST', '/codec/decode', { as: 'reader', body: { payloads: summary } });
    expect(JSON.stringify(ui.body.payloads.map((p: { data: string }) => Buffer.from(p.data, 'base64').toString('utf8')))).toContain(
      SECRET.prompt,
    );
  });

  it('the official `temporal` CLI shows the decoded prompt through the codec server, and only ciphertext without it', async () => {
    const show = (extra: string[]) =>
      temporalCli([
        'workflow',
        'show',
        '--workflow-id',
        sessionId,
        '--address',
        address,
        '--namespace',
        'default',
        '--output',
        'json',
        ...extra,
      ]);
    const decoded = await show(['--codec-endpoint', `${service.url}/codec`, '--codec-auth', `Bearer ${TOKENS.reader}`]);
    expect(readable(decoded)).toContain(SECRET.prompt);
    expect(readable(decoded)).toContain(SECRET.label);
    const raw = await show([]);
    // The same history (the session's first event is there), but no prompt in it, however read.
    expect(raw).toContain('WORKFLOW_EXECUTION_STARTED');
    expect(readable(raw)).toContain('binary/encrypted');
    expect(readable(raw)).not.toContain(SECRET.prompt);
    // A token the codec server does not know gets nothing decoded: the CLI gives up (it retries a 401 until its timeout).
    const refused = await rejectionOf(
      show(['--codec-endpoint', `${service.url}/codec`, '--codec-auth', 'Bearer not-a-token-at-all-0123456', '--command-timeout', '3s']),
    );
    expect(refused).toBeInstanceOf(Error);
    expect(readable((refused as Error).message)).not.toContain(SECRET.prompt);
  });

  it('refuses callers without a token, with a wrong token, from another namespace; encoding needs `write`', async () => {
    const body = { payloads: [] };
    const none = await service.call('POST', '/codec/decode', { as: null, body, headers: { origin: UI_ORIGIN } });
    expect(none.status).toBe(401);
    // The UI sees the refusal (CORS headers on errors too).
    expect(none.headers.get('access-control-allow-origin')).toBe(UI_ORIGIN);
    const wrong = await fetch(`${service.url}/codec/decode`, {
      method: 'POST',
      headers: { authorization: 'Bearer not-a-token-at-all-0123456', 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    expect(wrong.status).toBe(401);
    expect((await service.call('POST', '/codec/decode', { as: 'reader', body, headers: { 'x-namespace': 'other' } })).status).toBe(400);
    // The `temporal` CLI sends an empty one unless given --namespace.
    expect((await service.call('POST', '/codec/decode', { as: 'reader', body, headers: { 'x-namespace': '' } })).status).toBe(200);
    expect((await service.call('POST', '/codec/encode', { as: 'reader', body })).status).toBe(403);
    expect((await service.call('POST', '/codec/encode', { as: 'writer', body })).status).toBe(200);
    // Malformed input: a clear 4xx, never a 500.
    expect((await service.call('POST', '/codec/decode', { as: 'reader', body: { payloads: 'x' } })).status).toBe(400);
    const tampered = await service.call('POST', '/codec/decode', {
      as: 'reader',
      body: {
        payloads: [
          {
            metadata: {
              encoding: Buffer.from('binary/encrypted').toString('base64'),
              'encryption-key-id': Buffer.from('new').toString('base64'),
            },
            data: 'AAAA',
          },
        ],
      },
    });
    expect(tampered.status).toBe(422);
  });

  it.each(['decode', 'encode'])(
    'answers /codec/%s 401 before reading the body: a 10 MiB upload, and a chunked one that never ends',
    async (action) => {
      // Declared 10 MiB, 64 KiB sent: the answer comes while the rest is still unsent (and over bodyLimit it would be 413).
      const declared = await partialUpload(`${service.url}/codec/${action}`, { 'content-length': String(10 * 1024 * 1024) });
      expect(declared.status).toBe(401);
      expect(declared.body).toMatchObject({ error: { code: 'unauthorized' } });
      // No length, the body never finished: only an answer that did not wait for the body can arrive.
      const chunked = await partialUpload(`${service.url}/codec/${action}`, { 'transfer-encoding': 'chunked' });
      expect(chunked.status).toBe(401);
      // A wrong token is refused the same way.
      const wrong = await partialUpload(`${service.url}/codec/${action}`, {
        'transfer-encoding': 'chunked',
        authorization: 'Bearer not-a-token-at-all-0123456',
      });
      expect(wrong.status).toBe(401);
    },
  );

  it('signs a browser in with a cookie the UI sends with its requests (HttpOnly, SameSite=Strict, /codec only)', async () => {
    const page = await fetch(`${service.url}/codec/login`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('type="password"');
    expect((await service.call('POST', '/codec/login', { as: null })).status).toBe(401);
    const login = await service.call('POST', '/codec/login', { as: 'reader' });
    expect(login.status).toBe(204);
    const cookie = login.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/^andon_codec=[^;]+; HttpOnly; SameSite=Strict; Path=\/codec; Max-Age=28800/);
    const history = await plain.workflow.getHandle(sessionId).fetchHistory();
    const decoded = await service.call('POST', '/codec/decode', {
      as: null,
      body: { payloads: payloadsOf(history) },
      headers: { cookie: cookie.split(';')[0]!, origin: UI_ORIGIN },
    });
    expect(decoded.status).toBe(200);
    expect(JSON.stringify(decoded.body.payloads.map((p: { data: string }) => Buffer.from(p.data, 'base64').toString('utf8')))).toContain(
      SECRET.prompt,
    );
    const forged = await service.call('POST', '/codec/decode', {
      as: null,
      body: { payloads: [] },
      headers: { cookie: 'andon_codec=forged-0123456789abcdef' },
    });
    expect(forged.status).toBe(401);
  });

  it('answers the CORS preflight for the UI origin only', async () => {
    const preflight = (origin: string) =>
      fetch(`${service.url}/codec/decode`, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization,content-type,x-namespace',
        },
      });
    const ok = await preflight(UI_ORIGIN);
    expect(ok.status).toBe(204);
    expect(ok.headers.get('access-control-allow-origin')).toBe(UI_ORIGIN);
    expect(ok.headers.get('access-control-allow-headers')).toMatch(/Authorization/);
    expect(ok.headers.get('access-control-allow-headers')).toMatch(/X-Namespace/);
    const evil = await preflight('https://evil.example');
    expect(evil.status).toBe(403);
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('still reads sessions written under a key that is no longer active (rotation)', async () => {
    const before = await Andon.connect({
      connection,
      taskQueue,
      codec: AesGcmCodec.from(`${OLD_KEY},${NEW_KEY}`),
      defaults: { followUpWindowMs: 0 },
    });
    const session = await before.session({ prompt: 'written under the old key' });
    await session.waitFor('awaitingPlanApproval', { timeoutMs: 20_000 });
    const raw = strings(await plain.workflow.getHandle(session.id).fetchHistory()).join('\n');
    expect(raw).not.toContain('written under the old key');
    // The worker and this client encrypt with "new" now; the old key still decrypts what it wrote.
    await expect(andon.session(session.id).info()).resolves.toMatchObject({ prompt: 'written under the old key' });
    await andon.session(session.id).cancel('done');
  });

  it('refuses a title filter, which visibility cannot answer without the title', async () => {
    await expect(andon.sessions.list({ text: 'anything' })).rejects.toThrow('filtering by title is not available with encryption on');
  });
});
