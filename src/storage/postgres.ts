/**
 * What andon's PostgreSQL stores (memory, LLM transcripts, Slack replay protection) share: a pool
 * that neither crashes the process nor keeps it alive, and their tables created once, under an
 * advisory lock, so workers and replicas starting together do not race.
 */
import pg from 'pg';

export interface PoolOptions {
  /** `postgres://user:password@host:port/database` (`?sslmode=require` for TLS). */
  url: string;
  /** Most connections the pool opens. */
  max: number;
  /** How long a call waits for a connection, in ms. */
  connectionTimeout: number;
}

export function openPool(options: PoolOptions): pg.Pool {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.max,
    connectionTimeoutMillis: options.connectionTimeout,
    // The URL's own application_name, if any, wins (pg reads the string last).
    application_name: 'andon',
    // Idle connections do not keep a process that is shutting down alive.
    allowExitOnIdle: true,
  });
  // An idle connection the server dropped (a restart, a failover) is reported here and replaced
  // on the next call; without a listener it would crash the process.
  pool.on('error', () => {});
  return pool;
}

/**
 * Runs `create` in one transaction holding the advisory lock named `lock`, unless every table in
 * `tables` exists already (then nothing is created, so a role with only SELECT, INSERT, UPDATE and
 * DELETE on them is enough).
 */
export async function createTablesOnce(
  pool: pg.Pool,
  lock: string,
  tables: readonly string[],
  create: (client: pg.PoolClient) => Promise<void>,
): Promise<void> {
  const present = tables.map((_, i) => `to_regclass($${i + 1}) IS NOT NULL`).join(' AND ');
  const { rows } = await pool.query<{ present: boolean }>(`SELECT ${present} AS present`, [...tables]);
  if (rows[0]?.present) return;
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [lock]);
    await create(client);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch((rollback: Error) => (broken = rollback));
    throw error;
  } finally {
    client.release(broken);
  }
}
