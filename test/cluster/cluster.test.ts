/**
 * andon on a real cluster: the Temporal server as its own process on a real PostgreSQL server
 * process (not the suite's dev server), its schema set up by temporal-sql-tool, the namespace and
 * andon's search attributes registered through the gRPC operator API as a production cluster
 * needs. Sessions run on it end to end, visibility lists them by AndonState from PostgreSQL, they
 * survive a restart of the server, two workers and two HTTP service replicas share a fleet of
 * sessions through a worker's SIGKILL, and the memory store runs on the same PostgreSQL server.
 *
 * The first run builds temporal-server and temporal-sql-tool with Go into the per-user cache
 * (several minutes; src/temporal/server-binary.ts); later runs reuse them.
 */
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { NativeConnection } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import type { SessionView } from '../../src/client';
import { PostgresMemoryStore } from '../../src/memory';
import { SEARCH_ATTRIBUTES } from '../../src/session/search-attributes';
import { clusterConfig, startTemporalCluster, type ClusterOptions, type TemporalCluster } from '../../src/temporal/cluster';
import { findTemporalServer, type ServerBinaries } from '../../src/temporal/server-binary';
import { quickScript, startHarness, type Harness } from '../support/harness';
import { contents, entry, memoryStoreContract } from '../support/memory-contract';
import { startPostgres, type PostgresServer } from '../support/postgres-server';
import { processesMentioning, startWorkerProcess } from '../support/processes';
import { startService, TOKENS, type TestService } from '../support/service-harness';

// A cold run builds the server with Go (minutes, on 2 shared cores); a warm one starts in seconds.
jest.setTimeout(120_000);

let dir: string;
let binaries: ServerBinaries;
let postgres: PostgresServer;
let cluster: TemporalCluster;
let h: Harness;

const clusterOptions = (): ClusterOptions => ({
  binaries,
  postgres,
  dir: path.join(dir, 'temporal'),
  log: (line) => process.stderr.write(`[cluster] ${line}\n`),
});

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'andon-cluster-'));
  [binaries, postgres] = await Promise.all([
    findTemporalServer({ log: (line) => process.stderr.write(`${line}\n`) }),
    startPostgres(path.join(dir, 'postgres')),
  ]);
  cluster = await startTemporalCluster(clusterOptions());
  h = await startHarness({ agent: quickScript(), address: cluster.address });
}, 30 * 60_000);

afterAll(async () => {
  await h?.close();
  await cluster?.stop();
  await postgres?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Visibility on SQL is written by the history service after the transition: poll, bounded. */
async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function sql<R extends pg.QueryResultRow>(database: string, text: string, values: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: postgres.url(database) });
  await client.connect();
  try {
    return (await client.query<R>(text, values)).rows;
  } finally {
    await client.end();
  }
}

describe('the cluster', () => {
  it('keeps its state in PostgreSQL: both schemas set up by temporal-sql-tool', async () => {
    const databases = await sql<{ datname: string }>(
      'postgres',
      `SELECT datname FROM pg_database WHERE datname LIKE 'temporal%' ORDER BY datname`,
    );
    expect(databases.map((row) => row.datname)).toEqual(['temporal', 'temporal_visibility']);
    const [version] = await sql<{ curr_version: string }>('temporal', `SELECT curr_version FROM schema_version`);
    expect(version?.curr_version).toMatch(/^1\.\d+$/);
    // The namespace was registered through the API and written to the store, not configured.
    const namespaces = await sql<{ name: string }>('temporal', `SELECT name FROM namespaces`);
    expect(namespaces.map((row) => row.name)).toContain('default');
  });

  it("has andon's search attributes, registered through the operator API with their types", async () => {
    const connection = await NativeConnection.connect({ address: cluster.address });
    try {
      const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace: 'default' });
      const types = temporal.api.enums.v1.IndexedValueType;
      const expected = {
        Keyword: types.INDEXED_VALUE_TYPE_KEYWORD,
        Text: types.INDEXED_VALUE_TYPE_TEXT,
        Int: types.INDEXED_VALUE_TYPE_INT,
      };
      for (const [name, type] of Object.entries(SEARCH_ATTRIBUTES))
        expect([name, customAttributes?.[name]]).toEqual([name, expected[type]]);
    } finally {
      await connection.close();
    }
  });

  it('writes no database password into its config file: the server reads it from its environment', () => {
    const text = clusterConfig(clusterOptions(), cluster.ports);
    expect(text).not.toContain(postgres.password);
    expect(text).toMatch(/^# enable-template/);
    expect(text).toContain('password: \'{{ env "ANDON_TEMPORAL_SQL_PASSWORD" }}\'');
  });
});

describe('sessions on the cluster', () => {
  it('starts a session, lists it by AndonState, approves it and sees it complete', async () => {
    const session = await h.andon.session({ prompt: 'disk full on pg-1', title: 'clusterdisk pg-1', context: { service: 'pg' } });
    const awaiting = await session.waitFor('awaitingPlanApproval', { timeoutMs: 30_000 });
    expect(awaiting.plan?.steps.map((step) => step.title)).toEqual(['Look', 'Fix']);

    const waiting = await eventually(
      () => h.andon.sessions.list({ state: 'awaitingPlanApproval', text: 'clusterdisk' }),
      (list) => list.some((s) => s.id === session.id),
    );
    expect(waiting.find((s) => s.id === session.id)).toMatchObject({
      state: 'awaitingPlanApproval',
      title: 'clusterdisk pg-1',
      service: 'pg',
    });

    await session.approve({ planId: awaiting.plan!.id, by: 'test:alice' });
    const outcome = await session.result({ timeoutMs: 30_000 });
    expect(outcome).toMatchObject({ sessionId: session.id, state: 'completed', summary: 'done: disk full on pg-1' });
    const types = (await session.timeline()).events.map((event) => event.type);
    expect(types).toEqual(['sessionCreated', 'planGenerated', 'planApproved', 'progressUpdated', 'progressUpdated', 'sessionCompleted']);

    const completed = await eventually(
      () => h.andon.sessions.list({ state: 'completed', service: 'pg' }),
      (list) => list.some((s) => s.id === session.id),
    );
    expect(completed.map((s) => s.id)).toContain(session.id);
    const stillWaiting = await eventually(
      () => h.andon.sessions.list({ state: 'awaitingPlanApproval', text: 'clusterdisk' }),
      (list) => !list.some((s) => s.id === session.id),
    );
    expect(stillWaiting.map((s) => s.id)).not.toContain(session.id);
  });

  it('keeps a waiting session across a restart of the Temporal server on the same database', async () => {
    const session = await h.andon.session({ prompt: 'restart me', title: 'clusterrestart' });
    const awaiting = await session.waitFor('awaitingPlanApproval', { timeoutMs: 30_000 });
    await h.stopWorker();
    await cluster.stop();

    // A new server process (same ports, as a restarted deployment) on the same PostgreSQL: the schema step finds it current,
    // the namespace and search attributes are already there.
    cluster = await startTemporalCluster({ ...clusterOptions(), ports: cluster.ports });
    await h.close();
    h = await startHarness({ agent: quickScript(), address: cluster.address, taskQueue: h.taskQueue });
    const again = h.andon.session(session.id);
    expect((await again.info()).state).toBe('awaitingPlanApproval');
    await again.approve({ planId: awaiting.plan!.id, by: 'test:bob' });
    expect(await again.result({ timeoutMs: 30_000 })).toMatchObject({ state: 'completed', summary: 'done: restart me' });
  });
});

interface Frame {
  id?: string;
  event: string;
  data: string;
}

/** A minimal Server-Sent Events reader over fetch: frames as they come, until the server closes the stream. */
async function* sseFrames(url: string, headers: Record<string, string>, signal: AbortSignal): AsyncGenerator<Frame> {
  const response = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal });
  expect(response.status).toBe(200);
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const frame: Frame = { event: 'message', data: '' };
      for (const line of block.split('\n')) {
        const [field, ...rest] = line.split(':');
        const value = rest.join(':').replace(/^ /, '');
        if (field === 'id') frame.id = value;
        else if (field === 'event') frame.event = value;
        else if (field === 'data') frame.data += value;
      }
      if (block.split('\n').some((line) => /^(id|event|data):/.test(line))) yield frame;
    }
  }
}

describe('two workers and two service replicas on the cluster', () => {
  const FLEET = 10;
  const STEPS = 3;
  const STEP_MS = 1500;

  async function kill9(child: ChildProcess): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  it('spreads sessions over both workers; one SIGKILLed mid-step, every session completes once; a watcher resumes on the other replica', async () => {
    const taskQueue = `fleet-${randomUUID()}`;
    const steps = Array.from({ length: STEPS }, (_, i) => ({
      title: `Step ${i + 1}`,
      result: { description: `did ${i + 1}` },
      delayMs: STEP_MS,
    }));
    const scriptFile = path.join(dir, 'fleet.json');
    writeFileSync(scriptFile, JSON.stringify(quickScript({ plans: [{ steps }] })));

    const workers: ChildProcess[] = [];
    const replicas: { harness: Harness; api: TestService }[] = [];
    try {
      workers.push(...(await Promise.all([0, 1].map(() => startWorkerProcess(cluster.address, taskQueue, scriptFile)))));
      // Each replica its own client connection and HTTP server, as two service processes behind a load balancer.
      for (let i = 0; i < 2; i++) {
        const harness = await startHarness({ address: cluster.address, taskQueue, worker: false });
        replicas.push({ harness, api: await startService(harness.andon) });
      }
      const replica = (i: number) => replicas[i % 2]!.api;
      const auth = { authorization: `Bearer ${TOKENS.reader}` };

      // Created through alternate replicas, read and approved through the other one.
      const created = await Promise.all(
        Array.from({ length: FLEET }, async (_, i) => {
          const response = await replica(i).call<SessionView>('POST', '/v1/sessions', {
            body: { prompt: `fleet ${i}`, title: `fleet ${i}` },
          });
          expect(response.status).toBe(201);
          return response.body.id;
        }),
      );
      await Promise.all(
        created.map(async (id, i) => {
          const waited = await replica(i + 1).call<SessionView>('GET', `/v1/sessions/${id}/wait?state=awaitingPlanApproval&timeout=30s`);
          expect(waited.body.state).toBe('awaitingPlanApproval');
          const approved = await replica(i + 1).call<SessionView>('POST', `/v1/sessions/${id}/approve`, { body: {} });
          expect(approved.status).toBe(200);
        }),
      );

      // A watcher of the first session on the first replica, caught up to the approval.
      const watched = created[0]!;
      const seen: Frame[] = [];
      const first = sseFrames(`${replica(0).url}/v1/sessions/${watched}/events`, auth, AbortSignal.timeout(60_000));
      for (let frame = await first.next(); !frame.done; frame = await first.next()) {
        seen.push(frame.value);
        if (frame.value.event === 'planApproved') break;
      }

      // Half-way through everyone's first step: kill the first worker, then stop the first replica
      // under the watcher, which reads what it sent before the stream ended (an error frame, no id).
      await sleep(STEP_MS / 2);
      await kill9(workers[0]!);
      const closed = replicas[0]!.api.close();
      try {
        for await (const frame of first) if (frame.id) seen.push(frame);
      } catch {
        // The connection cut mid-frame: what arrived whole is in `seen`.
      }
      await closed;

      // The survivors finish every session: the lost steps run again after their heartbeat timeout.
      const survivor = replicas[1]!;
      const done = await Promise.all(
        created.map(async (id) => {
          for (;;) {
            const waited = await survivor.api.call<SessionView>(
              'GET',
              `/v1/sessions/${id}/wait?state=completed,failed,cancelled&timeout=60s`,
            );
            if (['completed', 'failed', 'cancelled'].includes(waited.body.state as string)) return waited.body;
          }
        }),
      );
      expect(done.map((view) => [view.state, view.summary])).toEqual(created.map((_, i) => ['completed', `done: fleet ${i}`]));

      // The watcher resumes on the other replica from its last event id: the rest, no gap, no repeat.
      const resumed = sseFrames(
        `${survivor.api.url}/v1/sessions/${watched}/events`,
        { ...auth, 'last-event-id': seen.at(-1)!.id! },
        AbortSignal.timeout(30_000),
      );
      for await (const frame of resumed) {
        if (frame.event === 'end') break;
        seen.push(frame);
      }
      expect(seen.map((frame) => Number(frame.id))).toEqual(seen.map((_, n) => n + 1));
      expect(seen.map((frame) => frame.event)).toEqual(
        (await survivor.harness.andon.session(watched).timeline()).events.map((event) => event.type),
      );
      expect(seen.at(-1)!.event).toBe('sessionCompleted');

      const identities = new Set<string>();
      let retried = 0;
      for (const id of created) {
        const session = survivor.harness.andon.session(id);
        const { events } = await session.timeline({ limit: 1000 });
        expect(events.map((event) => event.seq)).toEqual(events.map((_, n) => n + 1));
        // A step re-run after losing its worker reports once: the workflow records the one result it accepts.
        expect(events.filter((event) => event.type === 'progressUpdated').map((event) => event.title)).toEqual(
          steps.map((step) => step.title),
        );
        expect(events.filter((event) => event.type === 'planApproved')).toHaveLength(1);
        expect(events.filter((event) => event.type === 'sessionCompleted')).toHaveLength(1);
        const history = await survivor.harness.client.workflow.getHandle(id).fetchHistory();
        for (const event of history.events ?? []) {
          const identity = event.workflowTaskStartedEventAttributes?.identity ?? event.activityTaskStartedEventAttributes?.identity;
          if (identity) identities.add(identity.split('@')[0]!);
        }
        retried += (history.events ?? []).filter((event) => (event.activityTaskStartedEventAttributes?.attempt ?? 1) > 1).length;
      }
      // Both workers did work (identity is pid@host), and the kill landed mid-step: some step ran again.
      expect([...identities].sort()).toEqual(expect.arrayContaining(workers.map((worker) => String(worker.pid)).sort()));
      expect(retried).toBeGreaterThan(0);
    } finally {
      for (const worker of workers) await kill9(worker);
      for (const { harness, api } of replicas) {
        await api.close().catch(() => undefined);
        await harness.close();
      }
    }
    expect(processesMentioning(taskQueue)).toEqual([]);
  }, 180_000);
});

describe('PostgresMemoryStore on the PostgreSQL server', () => {
  beforeAll(async () => {
    await sql('postgres', 'CREATE DATABASE andon');
  });

  // Each test its own table: the table name is the store's place. Several connections, as workers open.
  memoryStoreContract((place) => new PostgresMemoryStore({ url: postgres.url('andon'), table: place, maxConnections: 4 }));

  it('serves concurrent writers from several stores (as several workers would) with nothing lost', async () => {
    const stores = [0, 1, 2].map(() => new PostgresMemoryStore({ url: postgres.url('andon'), table: 'shared', maxConnections: 4 }));
    try {
      await Promise.all(
        stores.flatMap((store, worker) =>
          Array.from({ length: 10 }, (_, i) => store.write(entry({ scope: 'service', key: 'payments', content: `note ${worker}-${i}` }))),
        ),
      );
      const all = contents(await stores[0]!.recall({ sessionId: 's-1', agent: 'runbook', service: 'payments', text: '', limit: 50 }));
      expect(all).toHaveLength(30);
      expect(new Set(all).size).toBe(30);
    } finally {
      await Promise.all(stores.map((store) => store.close()));
    }
  });
});
