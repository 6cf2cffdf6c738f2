/**
 * The Slack replay guard shared by service replicas (`service.slack.replayUrl`): one PostgreSQL
 * table, `andon_slack_replays`, where accepting a signature is one insert-if-absent, so of two
 * replicas given the same signed request at the same moment exactly one accepts it.
 *
 * Rows expire with the signature window (./replay.ts); each replica deletes expired rows at most
 * once a minute, a bounded batch at a time, so the table holds about five minutes of Slack's
 * requests. The table is created on first use under an advisory lock; if it exists nothing is
 * created, so SELECT, INSERT, UPDATE and DELETE on it are enough.
 */
import pg from 'pg';
import { createTablesOnce, openPool } from '../storage/postgres';
import type { ReplayGuard } from './replay';

export interface PostgresReplayGuardOptions {
  /** `postgres://user:password@host:port/database` (`?sslmode=require` for TLS). */
  url: string;
  /** Most connections the pool opens (default 4). */
  maxConnections?: number;
  /** How long a check waits for a connection, in ms (default 5 s: Slack gives up after 3 s anyway). */
  connectionTimeout?: number;
}

const TABLE = 'andon_slack_replays';
/** How often a replica deletes expired rows, and the most it deletes at once. */
const PRUNE_EVERY_MS = 60_000;
const PRUNE_BATCH = 10_000;

export class PostgresReplayGuard implements ReplayGuard {
  private readonly pool: pg.Pool;
  private schemaReady?: Promise<void>;
  private nextPrune = 0;
  private pruning?: Promise<void>;

  constructor(options: PostgresReplayGuardOptions) {
    this.pool = openPool({ url: options.url, max: options.maxConnections ?? 4, connectionTimeout: options.connectionTimeout ?? 5_000 });
  }

  async claim(signature: string, expiresAtMs: number, nowMs: number): Promise<boolean> {
    await this.ready();
    // Inserted if absent; a row left from an expired claim (not yet pruned) is taken over.
    const { rowCount } = await this.pool.query(
      `INSERT INTO ${TABLE} (signature, expires_at) VALUES ($1, to_timestamp($2 / 1000.0))
       ON CONFLICT (signature) DO UPDATE SET expires_at = EXCLUDED.expires_at
         WHERE ${TABLE}.expires_at < to_timestamp($3 / 1000.0)`,
      [signature, expiresAtMs, nowMs],
    );
    this.prune(nowMs);
    return rowCount === 1;
  }

  async close(): Promise<void> {
    await this.pruning;
    await this.schemaReady?.catch(() => {});
    await this.pool.end();
  }

  /** Rows whose signatures the window refuses anyway; in the background, a failure only delays it. */
  private prune(nowMs: number): void {
    if (nowMs < this.nextPrune || this.pruning) return;
    this.nextPrune = nowMs + PRUNE_EVERY_MS;
    this.pruning = this.pool
      .query(
        `DELETE FROM ${TABLE} WHERE signature IN
           (SELECT signature FROM ${TABLE} WHERE expires_at < to_timestamp($1 / 1000.0) LIMIT ${PRUNE_BATCH})`,
        [nowMs],
      )
      .then(
        () => undefined,
        () => undefined,
      )
      .finally(() => (this.pruning = undefined));
  }

  private ready(): Promise<void> {
    this.schemaReady ??= this.createSchema().catch((error: unknown) => {
      this.schemaReady = undefined; // a database that was down may be up at the next request
      throw error;
    });
    return this.schemaReady;
  }

  private async createSchema(): Promise<void> {
    await createTablesOnce(this.pool, 'andon slack replays', [TABLE], async (client) => {
      await client.query(`CREATE TABLE IF NOT EXISTS ${TABLE} (signature text PRIMARY KEY, expires_at timestamptz NOT NULL)`);
      await client.query(`CREATE INDEX IF NOT EXISTS ${TABLE}_expires_at ON ${TABLE} (expires_at)`);
    });
  }
}
