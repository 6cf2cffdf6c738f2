/**
 * Opens a SQLite file the way andon's stores use one: its folder created, WAL so readers never
 * block the writer, and a busy timeout so two workers on one file wait instead of failing.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';

/** Opens `file` (or `:memory:`) and runs `setUp` on it; the handle is closed if setting up fails. */
export function openSqlite<T>(file: string, setUp: (db: Database.Database) => T): T {
  if (file !== ':memory:') fs.mkdirSync(path.dirname(file), { recursive: true });
  const db = new Database(file);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('busy_timeout = 5000');
    return setUp(db);
  } catch (error) {
    db.close();
    throw error;
  }
}
