/**
 * Where the project configuration comes from: the nearest temporal.config file from the working
 * directory up (an installed andon must read its user's project, never its own folder), or the
 * defaults when there is none.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, findProjectRoot, loadConfig } from '../../src/config';

const ROOT = path.resolve(__dirname, '../..');
let dir: string;
beforeEach(() => {
  dir = realpathSync(mkdtempSync(path.join(os.tmpdir(), 'andon-config-')));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('findProjectRoot', () => {
  it('is the nearest folder up with a temporal.config file', () => {
    writeFileSync(path.join(dir, 'temporal.config.js'), 'module.exports = { taskQueue: "found" };');
    const nested = path.join(dir, 'a', 'b');
    mkdirSync(nested, { recursive: true });
    expect(findProjectRoot(nested)).toBe(dir);
    expect(findProjectRoot(dir)).toBe(dir);
  });

  it('is the starting folder when no folder up has one', () => {
    const nested = path.join(dir, 'plain');
    mkdirSync(nested);
    expect(findProjectRoot(nested)).toBe(nested);
  });

  it('is this repository for its own programs and tests (they run from its root)', () => {
    expect(findProjectRoot()).toBe(ROOT);
  });
});

describe('loadConfig from a project folder', () => {
  it('reads the default export of an ES module config and resolves paths against its folder', () => {
    // In a child process: Node require()s ES modules, jest's module system does not.
    writeFileSync(path.join(dir, 'temporal.config.mjs'), 'export default { taskQueue: "esm", dataDir: "state" };');
    const code = `const { loadConfig } = require(${JSON.stringify(path.join(ROOT, 'src/config'))}); const c = loadConfig({ env: {} }); console.log(JSON.stringify([c.taskQueue, c.dataDir]));`;
    const run = spawnSync(process.execPath, [require.resolve('tsx/cli'), '-e', code], { cwd: path.join(dir), encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toEqual(['esm', path.join(dir, 'state')]);
  });

  it('reads a CommonJS config (module.exports)', () => {
    writeFileSync(path.join(dir, 'temporal.config.cjs'), 'module.exports = { taskQueue: "cjs" };');
    expect(loadConfig({ root: dir, env: {} }).taskQueue).toBe('cjs');
  });

  it('takes the defaults when the project has no config file', () => {
    const config = loadConfig({ root: dir, env: { ANDON_TASK_QUEUE: 'from-env' } });
    expect(config.taskQueue).toBe('from-env');
    expect(config.devServer).toMatchObject({ ip: '127.0.0.1', port: 7233, namespace: 'default' });
    expect(config.dataDir).toBe(path.join(dir, 'data'));
  });

  it('names the file when it cannot be loaded or exports no configuration', () => {
    writeFileSync(path.join(dir, 'temporal.config.js'), 'throw new Error("boom");');
    expect(() => loadConfig({ root: dir, env: {} })).toThrow(ConfigError);
    expect(() => loadConfig({ root: dir, env: {} })).toThrow(`cannot load ${path.join(dir, 'temporal.config.js')}: boom`);
    writeFileSync(path.join(dir, 'temporal.config.cjs'), 'module.exports = 42;');
    rmSync(path.join(dir, 'temporal.config.js'));
    expect(() => loadConfig({ root: dir, env: {} })).toThrow(/temporal\.config\.cjs: expected the configuration as its default export/);
  });
});
