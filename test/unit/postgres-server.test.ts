import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { findPostgres } from '../support/postgres-server';

const dir = mkdtempSync(path.join(os.tmpdir(), 'andon-pg-bin-'));
function executable(file: string): string {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, '#!/bin/sh\n');
  chmodSync(file, 0o755);
  return file;
}

describe('findPostgres (the test support that starts a real PostgreSQL)', () => {
  it('takes initdb and postgres from ANDON_POSTGRES_BIN first', () => {
    const bin = path.join(dir, 'explicit');
    const initdb = executable(path.join(bin, 'initdb'));
    const postgres = executable(path.join(bin, 'postgres'));
    executable(path.join(dir, 'on-path', 'initdb'));
    executable(path.join(dir, 'on-path', 'postgres'));
    expect(findPostgres({ ANDON_POSTGRES_BIN: bin, PATH: path.join(dir, 'on-path') })).toEqual({
      initdb,
      postgres,
      source: 'ANDON_POSTGRES_BIN',
    });
  });

  it('refuses an ANDON_POSTGRES_BIN without both binaries, naming it', () => {
    const bin = path.join(dir, 'half');
    executable(path.join(bin, 'initdb'));
    expect(() => findPostgres({ ANDON_POSTGRES_BIN: bin })).toThrow(
      /ANDON_POSTGRES_BIN is set to .*half, which holds no executable initdb and postgres/,
    );
  });
});
