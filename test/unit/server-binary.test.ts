import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TEMPORAL_SERVER_VERSION, findTemporalServer, serverCacheDir } from '../../src/temporal/server-binary';

const dir = mkdtempSync(path.join(os.tmpdir(), 'andon-server-bin-'));
function executable(file: string): string {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, '#!/bin/sh\n');
  chmodSync(file, 0o755);
  return file;
}

describe('findTemporalServer', () => {
  it('pins the server version the pinned CLI embeds', () => {
    expect(TEMPORAL_SERVER_VERSION).toBe('v1.29.1');
  });

  it('honours TEMPORAL_SERVER_PATH and TEMPORAL_SQL_TOOL_PATH first', async () => {
    const server = executable(path.join(dir, 'explicit', 'my-server'));
    const sqlTool = executable(path.join(dir, 'explicit', 'my-sql-tool'));
    await expect(
      findTemporalServer({ env: { TEMPORAL_SERVER_PATH: server, TEMPORAL_SQL_TOOL_PATH: sqlTool, PATH: '' }, build: false }),
    ).resolves.toEqual({ server, sqlTool });
  });

  it('refuses a TEMPORAL_SERVER_PATH that is not an executable file', async () => {
    await expect(findTemporalServer({ env: { TEMPORAL_SERVER_PATH: path.join(dir, 'missing') }, build: false })).rejects.toThrow(
      /TEMPORAL_SERVER_PATH is set to .*missing, which is not an executable file/,
    );
  });

  it('uses temporal-server and temporal-sql-tool on PATH', async () => {
    const server = executable(path.join(dir, 'bin', 'temporal-server'));
    const sqlTool = executable(path.join(dir, 'bin', 'temporal-sql-tool'));
    await expect(findTemporalServer({ env: { PATH: `/nonexistent:${path.join(dir, 'bin')}` }, build: false })).resolves.toEqual({
      server,
      sqlTool,
    });
  });

  it('uses the per-user cache for the pinned version', async () => {
    const env = { XDG_CACHE_HOME: path.join(dir, 'cache'), PATH: '' };
    expect(serverCacheDir(env)).toBe(path.join(dir, 'cache', 'andon', 'temporal-server', TEMPORAL_SERVER_VERSION));
    const server = executable(path.join(serverCacheDir(env), 'temporal-server'));
    const sqlTool = executable(path.join(serverCacheDir(env), 'temporal-sql-tool'));
    await expect(findTemporalServer({ env, build: false })).resolves.toEqual({ server, sqlTool });
  });

  it('needs both binaries: the server alone is not enough', async () => {
    const env = { XDG_CACHE_HOME: path.join(dir, 'half-cache'), PATH: '' };
    executable(path.join(serverCacheDir(env), 'temporal-server'));
    await expect(findTemporalServer({ env, build: false })).rejects.toThrow(/no Temporal server v1\.29\.1 found/);
  });

  it('says how to get them when there are none and Go is missing', async () => {
    const env = { XDG_CACHE_HOME: path.join(dir, 'empty-cache'), PATH: '' };
    await expect(findTemporalServer({ env })).rejects.toThrow(
      /Go is not available to build it.*TEMPORAL_SERVER_PATH and TEMPORAL_SQL_TOOL_PATH/,
    );
  });
});
