/**
 * Opens a SQLite file the way andon's stores use one: its folder created, WAL so readers never
 * block the writer, and a busy timeout so two workers on one file wait instead of failing.
 *
 * SQLite is Node's own `node:sqlite` (no native module to build or download; docs/runtime.md).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { DatabaseSync } from 'node:sqlite';

export type { DatabaseSync as SqliteDatabase } from 'node:sqlite';

/** Opens `file` (or `:memory:`) and runs `setUp` on it; the handle is closed if setting up fails. */
export function openSqlite<T>(file: string, setUp: (db: DatabaseSync) => T): T {
  if (file !== ':memory:') fs.mkdirSync(path.dirname(file), { recursive: true });
  const db = new (sqlite().DatabaseSync)(file);
  try {
    db.exec('PRAGMA journal_mode = WAL');
    db.exec('PRAGMA synchronous = NORMAL');
    db.exec('PRAGMA busy_timeout = 5000');
    return setUp(db);
  } catch (error) {
    db.close();
    throw error;
  }
}

/** Runs `work` in one transaction: committed if it returns, rolled back if it throws. */
export function inTransaction<T>(db: DatabaseSync, work: () => T): T {
  db.exec('BEGIN IMMEDIATE');
  try {
    const result = work();
    db.exec('COMMIT');
    return result;
  } catch (error) {
    db.exec('ROLLBACK');
    throw error;
  }
}

let loaded: typeof import('node:sqlite') | undefined;

/** `node:sqlite`, loaded on first use (see `withoutSqliteExperimentalWarning`). */
function sqlite(): typeof import('node:sqlite') {
  loaded ??= withoutSqliteExperimentalWarning(() => process.getBuiltinModule('node:sqlite'));
  return loaded;
}

/**
 * Runs `load` with exactly one warning dropped: Node 22 (from 22.13) and Node 24 before 24.15, where
 * `node:sqlite` became a release candidate, print "ExperimentalWarning: SQLite is an experimental
 * feature" once, as the module loads. andon runs warning-free on every Node it supports; every
 * other warning passes as usual, and `process.emitWarning` is itself again once `load` returns.
 */
export function withoutSqliteExperimentalWarning<T>(load: () => T): T {
  const emitWarning = process.emitWarning;
  process.emitWarning = function (this: NodeJS.Process, warning: string | Error, ...rest: unknown[]): void {
    const type = typeof rest[0] === 'string' ? rest[0] : (rest[0] as { type?: string } | undefined)?.type;
    const text = typeof warning === 'string' ? warning : warning.message;
    if (type === 'ExperimentalWarning' && text.startsWith('SQLite is an experimental feature')) return;
    return (emitWarning as (...args: unknown[]) => void).call(process, warning, ...rest);
  } as typeof process.emitWarning;
  try {
    return load();
  } finally {
    process.emitWarning = emitWarning;
  }
}
