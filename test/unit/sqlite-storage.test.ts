import { inTransaction, openSqlite, withoutSqliteExperimentalWarning } from '../../src/storage/sqlite';

describe('node:sqlite storage', () => {
  it('has FTS5 in the SQLite that Node bundles', () => {
    const rows = openSqlite(':memory:', (db) => {
      db.exec(`CREATE VIRTUAL TABLE t USING fts5(x); INSERT INTO t VALUES ('disk full on db-1'), ('all quiet')`);
      const found = db.prepare(`SELECT x FROM t WHERE t MATCH 'disk' ORDER BY bm25(t)`).all();
      db.close();
      return found;
    });
    expect(rows.map((row) => row.x)).toEqual(['disk full on db-1']);
  });

  it('commits a transaction that returns and rolls back one that throws', () => {
    openSqlite(':memory:', (db) => {
      db.exec('CREATE TABLE t (x INTEGER)');
      inTransaction(db, () => db.prepare('INSERT INTO t VALUES (?)').run(1));
      expect(() =>
        inTransaction(db, () => {
          db.prepare('INSERT INTO t VALUES (?)').run(2);
          throw new Error('half done');
        }),
      ).toThrow('half done');
      expect(
        db
          .prepare('SELECT x FROM t')
          .all()
          .map((row) => row.x),
      ).toEqual([1]);
      db.close();
    });
  });

  it("drops only node:sqlite's ExperimentalWarning while loading, and restores emitWarning", () => {
    // A recorder in place of process.emitWarning: the filter passes on to whatever it replaced.
    const passed: unknown[][] = [];
    const original = process.emitWarning;
    const recorder = ((...args: unknown[]) => void passed.push(args)) as typeof process.emitWarning;
    process.emitWarning = recorder;
    try {
      const value = withoutSqliteExperimentalWarning(() => {
        process.emitWarning('SQLite is an experimental feature and might change at any time', 'ExperimentalWarning');
        process.emitWarning('VM Modules is an experimental feature', 'ExperimentalWarning');
        process.emitWarning('SQLite is an experimental feature and might change at any time', { type: 'DeprecationWarning' });
        return 42;
      });
      expect(value).toBe(42);
      expect(process.emitWarning).toBe(recorder);
      expect(passed).toEqual([
        ['VM Modules is an experimental feature', 'ExperimentalWarning'],
        ['SQLite is an experimental feature and might change at any time', { type: 'DeprecationWarning' }],
      ]);
    } finally {
      process.emitWarning = original;
    }
  });
});
