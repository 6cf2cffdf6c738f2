/**
 * The PostgreSQL memory store against a real PostgreSQL: PGlite (PostgreSQL compiled to WASM)
 * served over TCP on a loopback port by pglite-socket, in a child process of its own, and reached
 * by the store's own `pg` pool over the wire, as a database server would be. No mock.
 *
 * A child process, not this one: PGlite loads Node's builtins with dynamic `import()`, which
 * jest's module sandbox refuses without --experimental-vm-modules. It also makes the restart
 * test a real one: the server process stops and a new one opens the same data directory.
 *
 * PGlite is one backend. pglite-socket multiplexes connections onto it message by message, so
 * two connections' extended-protocol queries (Parse, Bind, Execute...) could interleave; the
 * store therefore runs here with one connection (`maxConnections: 1`), and the test opens its
 * own only while no store is open. The server still allows a few connections: one just closed
 * counts until the server has seen it go, and a strict limit of 1 would drop the next one.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import pg from 'pg';
import { loadConfig } from '../../src/config';
import { createMemoryStore, PostgresMemoryStore, type PostgresMemoryStoreOptions } from '../../src/memory';
import { searchWords } from '../../src/memory/postgres';
import { contents, entry, memoryStoreContract } from '../support/memory-contract';

/** The server process: PGlite on argv[1], on 127.0.0.1:argv[2]; prints its port, stops on SIGTERM or when stdin closes. */
const SERVER = `
const { PGlite } = require('@electric-sql/pglite');
const { PGLiteSocketServer } = require('@electric-sql/pglite-socket');
(async () => {
  const db = await PGlite.create({ dataDir: process.argv[1] });
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: Number(process.argv[2]), maxConnections: 4 });
  await server.start();
  console.log(JSON.stringify({ port: Number(server.getServerConn().split(':').pop()) }));
  let stopping;
  const stop = () => (stopping ??= server.stop().then(() => db.close()).then(() => process.exit(0)));
  process.on('SIGTERM', stop);
  process.stdin.on('end', stop).resume();
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
`;

interface Postgres {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** PGlite on `dataDir` (kept across stops: a restart), listening on 127.0.0.1:`port` (0: any). */
async function startPostgres(dataDir: string, port = 0): Promise<Postgres> {
  const child = spawn(process.execPath, ['-e', SERVER, dataDir, String(port)], {
    cwd: path.resolve(__dirname, '../..'),
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const lines = createInterface({ input: child.stdout });
  const started = await new Promise<{ port: number }>((resolve, reject) => {
    lines.once('line', (line) => resolve(JSON.parse(line) as { port: number }));
    void exited.then((code) => reject(new Error(`the PGlite server exited (${code}) before listening`)));
  });
  return {
    // Credentials travel in the URL, as configured; PGlite accepts any.
    url: `postgres://andon:s3cret@127.0.0.1:${started.port}/postgres`,
    port: started.port,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

let dir: string;
let postgres: Postgres;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'andon-memory-pg-'));
  postgres = await startPostgres(path.join(dir, 'pgdata'));
});

afterAll(async () => {
  await postgres?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const open = (options: Partial<PostgresMemoryStoreOptions> = {}) =>
  new PostgresMemoryStore({ url: postgres.url, maxConnections: 1, ...options });

/** One query on a connection of the test's own (while no store holds the one PGlite serves). */
async function sql<R extends pg.QueryResultRow>(text: string, values: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: postgres.url });
  await client.connect();
  try {
    return (await client.query<R>(text, values)).rows;
  } finally {
    await client.end();
  }
}

describe('PostgresMemoryStore', () => {
  // Each test its own table: the table name is the store's place.
  memoryStoreContract((place) => open({ table: place }));
});

describe('PostgresMemoryStore on PostgreSQL', () => {
  it('creates its table, indexes and schema on first use, once', async () => {
    const store = open({ schema: 'andon_ops', table: 'team_memories' });
    await store.ready();
    await store.ready();
    await store.write(entry({ content: 'first' }));
    await store.close();
    // A second store finds the table and creates nothing; the first entry is there.
    const again = open({ schema: 'andon_ops', table: 'team_memories' });
    expect(contents(await again.recall({ sessionId: 's-1', agent: 'runbook', text: '' }))).toEqual(['first']);
    await again.close();

    const indexes = await sql<{ indexname: string; indexdef: string }>(
      `SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'andon_ops' AND tablename = 'team_memories' ORDER BY indexname`,
    );
    expect(indexes.map((index) => index.indexname)).toEqual([
      'team_memories_id_key',
      'team_memories_pkey',
      'team_memories_scope_key',
      'team_memories_search',
    ]);
    expect(indexes.find((index) => index.indexname === 'team_memories_search')?.indexdef).toMatch(/USING gin \(search\)/);
    const [row] = await sql<{ content: string; search: string }>(`SELECT content, search::text FROM andon_ops.team_memories`);
    expect(row).toEqual({ content: 'first', search: "'first':1" });
  });

  it('indexes words as the query splits them: hyphens, paths, accents, underscores', async () => {
    expect(searchWords('DB-2 /var/log/app.log Café_Crème v1.2.3')).toEqual([
      'db',
      '2',
      'var',
      'log',
      'app',
      'log',
      'cafe',
      'creme',
      'v1',
      '2',
      '3',
    ]);
    const store = open({ table: 'words' });
    try {
      await store.write(entry({ content: 'disk full on db-2: see /var/log/app.log' }));
      await store.write(entry({ content: 'Le café crème est prêt' }));
      await store.write(entry({ content: 'set max_connections higher' }));
      await store.write(entry({ content: 'nothing to see' }));
      const best = async (text: string) => contents(await store.recall({ sessionId: 's-1', agent: 'runbook', text, limit: 1 }))[0];
      expect(await best('what about DB 2?')).toBe('disk full on db-2: see /var/log/app.log');
      expect(await best('app.log')).toBe('disk full on db-2: see /var/log/app.log');
      expect(await best('CAFE creme')).toBe('Le café crème est prêt');
      expect(await best('connections')).toBe('set max_connections higher');
      expect(await best('max_connections')).toBe('set max_connections higher');
    } finally {
      await store.close();
    }
  });

  it('ranks an entry with more of the words, and more often, first; no stemming, no stop words', async () => {
    const store = open({ table: 'ranking' });
    try {
      await store.write(entry({ content: 'the queue' }));
      await store.write(entry({ content: 'queue queue queue backlog' }));
      await store.write(entry({ content: 'the the the' }));
      await store.write(entry({ content: 'queues' }));
      const ranked = contents(await store.recall({ sessionId: 's-1', agent: 'runbook', text: 'queue backlog' }));
      expect(ranked.slice(0, 2)).toEqual(['queue queue queue backlog', 'the queue']);
      expect(ranked.slice(2)).toEqual(['queues', 'the the the']); // no word shared: newest first
      expect(contents(await store.recall({ sessionId: 's-1', agent: 'runbook', text: 'the', limit: 2 }))).toEqual([
        'the the the',
        'the queue',
      ]);
    } finally {
      await store.close();
    }
  });

  it('survives a restart of the database under an open store', async () => {
    const store = open({ table: 'restart' });
    try {
      const written = await store.write(entry({ scope: 'service', key: 'payments', content: 'restart the gateway first' }));
      await postgres.stop();
      // The database is down: the call fails (the activity retries it), nothing crashes.
      await expect(store.recall({ sessionId: 's-1', agent: 'runbook', service: 'payments', text: 'gateway' })).rejects.toThrow();
      postgres = await startPostgres(path.join(dir, 'pgdata'), postgres.port);
      // Same store, a new connection: what was written before the restart is there.
      expect(await store.recall({ sessionId: 's-2', agent: 'runbook', service: 'payments', text: 'gateway' })).toEqual([written]);
      await store.write(entry({ scope: 'service', key: 'payments', content: 'after the restart' }));
      expect(contents(await store.recall({ sessionId: 's-2', agent: 'runbook', service: 'payments', text: '' }))).toEqual([
        'after the restart',
        'restart the gateway first',
      ]);
    } finally {
      await store.close();
    }
  });

  it('fails the call, not the construction, when the database cannot be reached', async () => {
    const unreachable = new PostgresMemoryStore({
      url: 'postgres://andon:pw@127.0.0.1:1/none',
      maxConnections: 1,
      connectionTimeout: 2_000,
    });
    await expect(unreachable.ready()).rejects.toThrow(/ECONNREFUSED|connect/);
    await expect(unreachable.write(entry())).rejects.toThrow(/ECONNREFUSED|connect/);
    await unreachable.close();
  });

  it('refuses a table or schema name that is not a plain SQL name', () => {
    expect(() => open({ table: 'memories; DROP TABLE x' })).toThrow(/table "memories; DROP TABLE x" is not a plain lower-case SQL name/);
    expect(() => open({ schema: 'Ops' })).toThrow(/schema/);
  });

  it('is what createMemoryStore opens for memory.kind postgres (ANDON_MEMORY_KIND, ANDON_MEMORY_URL)', async () => {
    const config = loadConfig({
      base: {
        backend: { kind: 'scripted' },
        memory: { kind: 'postgres', url: 'postgres://placeholder', table: 'configured', maxConnections: 1 },
      },
      env: { ANDON_MEMORY_KIND: 'postgres', ANDON_MEMORY_URL: postgres.url },
      root: dir,
    });
    const store = createMemoryStore(config);
    try {
      expect(store).toBeInstanceOf(PostgresMemoryStore);
      await store.write(entry({ content: 'configured' }));
      expect(contents(await store.recall({ sessionId: 's-1', agent: 'runbook', text: 'configured' }))).toEqual(['configured']);
    } finally {
      await store.close();
    }
    expect(await sql(`SELECT content FROM configured`)).toEqual([{ content: 'configured' }]);
  });
});
