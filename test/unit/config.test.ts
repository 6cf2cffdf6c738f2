import path from 'node:path';
import { ConfigError, loadConfig, resolveTemporalTarget } from '../../src/config';

const root = '/srv/andon';
const base = { taskQueue: 'andon', backend: { kind: 'scripted' as const, script: 'scripts/demo.json' } };

describe('loadConfig', () => {
  it('fills defaults and resolves paths against the project root', () => {
    const config = loadConfig({ base, env: {}, root });
    expect(config).toMatchObject({
      taskQueue: 'andon',
      dataDir: '/srv/andon/data',
      devServer: { ip: '127.0.0.1', port: 7233, uiPort: 8233, ui: true, namespace: 'default', dbFile: '/srv/andon/data/temporal.db' },
      backend: { kind: 'scripted', script: '/srv/andon/scripts/demo.json' },
      sessions: { followUpWindow: 3_600_000, requirePlanApproval: true },
    });
  });

  it("gives code sessions' workspace its defaults: trees under the data dir, the token read from GITHUB_TOKEN", () => {
    const config = loadConfig({ base, env: {}, root });
    expect(config.workspace).toMatchObject({
      dataDir: '/srv/andon/data/workspaces',
      github: { cloneUrl: 'https://github.com/{owner}/{repo}.git', apiUrl: 'https://api.github.com', tokenEnv: 'GITHUB_TOKEN' },
      allowedGitSources: [],
      allowedGitHub: [],
      limits: { maxChangeBytes: 256 * 1024 },
    });
    const custom = loadConfig({ base: { ...base, workspace: { dataDir: 'trees', allowedGitHub: ['acme'] } }, env: {}, root });
    expect(custom.workspace).toMatchObject({ dataDir: '/srv/andon/trees', allowedGitHub: ['acme'] });
    expect(() => loadConfig({ base: { ...base, workspace: { allowedGitHub: 'acme' } }, env: {}, root } as never)).toThrow(
      /workspace\.allowedGitHub/,
    );
  });

  it('applies environment overrides, durations included', () => {
    const config = loadConfig({
      base,
      root,
      env: {
        ANDON_TASK_QUEUE: 'ops',
        ANDON_DEV_SERVER_PORT: '9233',
        ANDON_FOLLOW_UP_WINDOW: '10m',
        ANDON_DATA_DIR: '/var/lib/andon',
        ANDON_SCRIPT: 'my.json',
      },
    });
    expect(config.taskQueue).toBe('ops');
    expect(config.devServer.port).toBe(9233);
    expect(config.sessions.followUpWindow).toBe(600_000);
    expect(config.devServer.dbFile).toBe(path.join('/var/lib/andon', 'temporal.db'));
    expect(config.backend).toMatchObject({ kind: 'scripted', script: '/srv/andon/my.json' });
    expect(loadConfig({ base, root, env: { ANDON_FOLLOW_UP_WINDOW: '1500' } }).sessions.followUpWindow).toBe(1500);
  });

  it('refuses bad values naming the field and the variable they came from', () => {
    expect(() => loadConfig({ base, root, env: { ANDON_DEV_SERVER_PORT: 'seventy' } })).toThrow(
      /devServer\.port: .*\(from ANDON_DEV_SERVER_PORT\)/,
    );
    expect(() => loadConfig({ base, root, env: { ANDON_FOLLOW_UP_WINDOW: 'ten minutes' } })).toThrow(
      /sessions\.followUpWindow: expected a duration/,
    );
    expect(() => loadConfig({ base: { ...base, taskQueue: '' }, root, env: {} })).toThrow(ConfigError);
  });

  it('reads the project file temporal.config.ts by default', () => {
    expect(loadConfig({ env: {} }).taskQueue).toBe('andon');
  });
});

describe('resolveTemporalTarget', () => {
  const config = loadConfig({ base, env: {}, root });

  it('uses the embedded dev server when no cluster is configured', () => {
    expect(resolveTemporalTarget(config, {})).toEqual({
      embedded: true,
      namespace: 'default',
      connectionOptions: { address: '127.0.0.1:7233' },
    });
  });

  it('connects to the cluster from TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE / TEMPORAL_API_KEY and runs no server', () => {
    const target = resolveTemporalTarget(config, {
      TEMPORAL_ADDRESS: 'prod.tmprl.cloud:7233',
      TEMPORAL_NAMESPACE: 'ops.abc',
      TEMPORAL_API_KEY: 'k',
    });
    expect(target.embedded).toBe(false);
    expect(target.namespace).toBe('ops.abc');
    expect(target.connectionOptions).toMatchObject({ address: 'prod.tmprl.cloud:7233', apiKey: 'k' });
  });

  it('refuses an unknown profile clearly', () => {
    expect(() => resolveTemporalTarget({ ...config, profile: 'nope' }, {})).toThrow(/cannot read the Temporal connection profile: .*nope/);
  });
});

describe('memory section', () => {
  const url = 'postgres://andon:pa55word@db.internal:5432/andon?sslmode=require';

  it('defaults to a SQLite file under the data directory', () => {
    expect(loadConfig({ base, env: {}, root }).memory).toEqual({ kind: 'sqlite', file: '/srv/andon/data/memory.db' });
  });

  it('takes PostgreSQL from the configuration, with defaults for the table and the pool', () => {
    expect(loadConfig({ base: { ...base, memory: { kind: 'postgres', url } }, env: {}, root }).memory).toEqual({
      kind: 'postgres',
      url,
      table: 'andon_memories',
      maxConnections: 10,
    });
    const custom = { kind: 'postgres' as const, url, schema: 'ops', table: 'team_memories', maxConnections: 4 };
    expect(loadConfig({ base: { ...base, memory: custom }, env: {}, root }).memory).toEqual(custom);
  });

  it('takes PostgreSQL from ANDON_MEMORY_URL alone, or with ANDON_MEMORY_KIND', () => {
    expect(loadConfig({ base, env: { ANDON_MEMORY_URL: url }, root }).memory).toMatchObject({ kind: 'postgres', url });
    expect(loadConfig({ base, env: { ANDON_MEMORY_KIND: 'postgres', ANDON_MEMORY_URL: url }, root }).memory).toMatchObject({
      kind: 'postgres',
      url,
    });
    // The environment's URL replaces the project's.
    const project = { ...base, memory: { kind: 'postgres' as const, url: 'postgres://localhost/dev', table: 'mem' } };
    expect(loadConfig({ base: project, env: { ANDON_MEMORY_URL: url }, root }).memory).toMatchObject({
      kind: 'postgres',
      url,
      table: 'mem',
    });
  });

  it('refuses a missing or malformed URL, an unknown kind and bad names, naming the field and the variable', () => {
    expect(() => loadConfig({ base, env: { ANDON_MEMORY_KIND: 'postgres' }, root })).toThrow(
      /memory\.url: expected a postgres:\/\/ connection string/,
    );
    expect(() => loadConfig({ base, env: { ANDON_MEMORY_URL: 'mysql://db/andon' }, root })).toThrow(
      /memory\.url: expected a postgres:\/\/ connection string \(from ANDON_MEMORY_URL\)/,
    );
    expect(() => loadConfig({ base, env: { ANDON_MEMORY_KIND: 'mongodb' }, root })).toThrow(/memory\.kind: .*\(from ANDON_MEMORY_KIND\)/);
    expect(() => loadConfig({ base: { ...base, memory: { kind: 'postgres', url, table: 'Memories' } }, env: {}, root })).toThrow(
      /memory\.table: expected a lower-case SQL name/,
    );
    expect(() => loadConfig({ base: { ...base, memory: { kind: 'postgres', url, schema: 'a-b' } }, env: {}, root })).toThrow(
      /memory\.schema:/,
    );
    expect(() => loadConfig({ base: { ...base, memory: { kind: 'postgres', url, maxConnections: 0 } }, env: {}, root })).toThrow(
      /memory\.maxConnections:/,
    );
  });

  it("refuses the other kind's settings rather than ignoring them", () => {
    expect(() => loadConfig({ base: { ...base, memory: { kind: 'sqlite' } }, env: { ANDON_MEMORY_URL: url }, root })).toThrow(
      /memory\.url: only for kind 'postgres' .*\(from ANDON_MEMORY_URL\)/,
    );
    expect(() => loadConfig({ base, env: { ANDON_MEMORY_URL: url, ANDON_MEMORY_FILE: 'm.db' }, root })).toThrow(
      /memory\.file: only for kind 'sqlite' .*\(from ANDON_MEMORY_FILE\)/,
    );
  });

  it('never repeats the URL, which holds the password, in its errors', () => {
    const secret = 'postgres://andon:pa55word@db.internal/andon';
    for (const env of [
      { ANDON_MEMORY_KIND: 'sqlite', ANDON_MEMORY_URL: secret },
      { ANDON_MEMORY_URL: secret.replace('postgres:', 'pg:') },
    ]) {
      expect(() => loadConfig({ base, env, root })).toThrow(ConfigError);
      expect(() => loadConfig({ base, env, root })).not.toThrow(/pa55word/);
    }
  });
});

describe('LLM transcripts location', () => {
  const llm = { kind: 'llm' as const, provider: 'openai' as const, model: 'gpt-4o-mini' };

  it('resolves a SQLite file under the data dir, keeps a postgres:// URL (shared by workers) as it is', () => {
    expect(loadConfig({ base: { ...base, backend: llm }, env: {}, root }).backend).toMatchObject({
      transcripts: '/srv/andon/data/transcripts.db',
    });
    const shared = 'postgres://andon:pw@db.internal:5432/andon';
    expect(loadConfig({ base: { ...base, backend: llm }, env: { ANDON_LLM_TRANSCRIPTS: shared }, root }).backend).toMatchObject({
      transcripts: shared,
    });
    expect(
      loadConfig({ base: { ...base, backend: { ...llm, transcripts: 'postgresql://db/andon' } }, env: {}, root }).backend,
    ).toMatchObject({
      transcripts: 'postgresql://db/andon',
    });
  });

  it('refuses a URL of another database, naming the field', () => {
    expect(() => loadConfig({ base: { ...base, backend: { ...llm, transcripts: 'mysql://db/andon' } }, env: {}, root })).toThrow(
      /backend\.transcripts: expected a SQLite file path or a postgres:\/\/ URL/,
    );
  });
});
