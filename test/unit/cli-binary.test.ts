import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TEMPORAL_CLI_VERSION, TemporalCliError, cacheDir, findTemporalCli } from '../../src/temporal/cli-binary';

const dir = mkdtempSync(path.join(os.tmpdir(), 'andon-cli-'));
function executable(file: string): string {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, '#!/bin/sh\n');
  chmodSync(file, 0o755);
  return file;
}

describe('findTemporalCli', () => {
  it('honours TEMPORAL_CLI_PATH first', async () => {
    const binary = executable(path.join(dir, 'explicit', 'temporal'));
    await expect(findTemporalCli({ env: { TEMPORAL_CLI_PATH: binary, PATH: '' }, build: false })).resolves.toBe(binary);
  });

  it('refuses a TEMPORAL_CLI_PATH that is not an executable file', async () => {
    await expect(findTemporalCli({ env: { TEMPORAL_CLI_PATH: path.join(dir, 'missing') }, build: false })).rejects.toThrow(
      /TEMPORAL_CLI_PATH is set to .*missing, which is not an executable file/,
    );
  });

  it('uses a temporal already on PATH', async () => {
    const binary = executable(path.join(dir, 'bin', 'temporal'));
    await expect(findTemporalCli({ env: { PATH: `/nonexistent:${path.dirname(binary)}` }, build: false })).resolves.toBe(binary);
  });

  it('uses the per-user cache for the pinned version', async () => {
    const env = { XDG_CACHE_HOME: path.join(dir, 'cache'), PATH: '' };
    expect(cacheDir(env)).toBe(path.join(dir, 'cache', 'andon', 'temporal-cli', TEMPORAL_CLI_VERSION));
    const binary = executable(path.join(cacheDir(env), 'temporal'));
    await expect(findTemporalCli({ env, build: false })).resolves.toBe(binary);
  });

  it('says how to get one when there is none and Go is missing', async () => {
    const env = { XDG_CACHE_HOME: path.join(dir, 'empty-cache'), PATH: '' };
    await expect(findTemporalCli({ env, build: false })).rejects.toThrow(TemporalCliError);
    await expect(findTemporalCli({ env })).rejects.toThrow(/Go is not available to build it.*TEMPORAL_CLI_PATH/);
  });
});
