/**
 * The `memory` section of andon's configuration: which store keeps memories (./index).
 *
 * - `{ kind: 'sqlite', file? }`, the default: a SQLite file, `<dataDir>/memory.db` unless set.
 * - `{ kind: 'postgres', url, schema?, table?, maxConnections? }`: a PostgreSQL table.
 *
 * `kind` may be left out: a `url` means postgres, anything else sqlite, so ANDON_MEMORY_FILE or
 * ANDON_MEMORY_URL alone is enough. A setting of the other kind is refused rather than ignored
 * (a `url` beside `kind: 'sqlite'` is a mistake someone would want to hear about).
 */
import { z } from 'zod';

/** Names andon creates in Postgres: plain lower-case names, short enough for the index names built on them. */
export const SQL_NAME = /^[a-z_][a-z0-9_]{0,39}$/;
const SqlName = z.string().regex(SQL_NAME, 'expected a lower-case SQL name: letters, digits and "_", at most 40');

export const SqliteMemoryConfig = z.object({
  kind: z.literal('sqlite'),
  /** The SQLite file; defaults to `<dataDir>/memory.db`. Relative to the project root. */
  file: z.string().min(1).optional(),
});

export const PostgresMemoryConfig = z.object({
  kind: z.literal('postgres'),
  /**
   * `postgres://user:password@host:5432/database` (`postgresql://` too; `?sslmode=require` for
   * TLS). What it leaves out comes from the libpq variables (PGPASSWORD, PGHOST...).
   */
  url: z
    .string({ error: 'expected a postgres:// connection string' })
    .regex(/^postgres(ql)?:\/\//, 'expected a postgres:// connection string'),
  /** The table's schema, created if missing; unset: the connection's search_path (usually `public`). */
  schema: SqlName.optional(),
  table: SqlName.default('andon_memories'),
  /** Most connections the worker opens to the database. */
  maxConnections: z.coerce.number().int().positive().default(10),
});

/** The other kind's settings, to refuse beside a kind. */
const FOREIGN: Record<string, { fields: string[]; kind: string }> = {
  sqlite: { fields: ['url', 'schema', 'table', 'maxConnections'], kind: 'postgres' },
  postgres: { fields: ['file'], kind: 'sqlite' },
};

export const MemoryConfig = z.preprocess(
  (value, ctx) => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
    const section = value as Record<string, unknown>;
    const kind = section.kind ?? (section.url !== undefined ? 'postgres' : 'sqlite');
    const foreign = typeof kind === 'string' ? FOREIGN[kind] : undefined;
    for (const field of foreign?.fields ?? []) {
      if (section[field] !== undefined) {
        ctx.addIssue({ code: 'custom', path: [field], message: `only for kind '${foreign!.kind}' (this store is '${kind as string}')` });
      }
    }
    return { ...section, kind };
  },
  z.discriminatedUnion('kind', [SqliteMemoryConfig, PostgresMemoryConfig]),
);
export type MemoryConfig = z.output<typeof MemoryConfig>;
