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

  it('applies environment overrides, durations included', () => {
    const config = loadConfig({
      base,
      root,
      env: { ANDON_TASK_QUEUE: 'ops', ANDON_DEV_SERVER_PORT: '9233', ANDON_FOLLOW_UP_WINDOW: '10m', ANDON_DATA_DIR: '/var/lib/andon', ANDON_SCRIPT: 'my.json' },
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
    expect(() => loadConfig({ base, root, env: { ANDON_FOLLOW_UP_WINDOW: 'ten minutes' } })).toThrow(/sessions\.followUpWindow: expected a duration/);
    expect(() => loadConfig({ base: { ...base, taskQueue: '' }, root, env: {} })).toThrow(ConfigError);
  });

  it('reads the project file temporal.config.ts by default', () => {
    expect(loadConfig({ env: {} }).taskQueue).toBe('andon');
  });
});

describe('resolveTemporalTarget', () => {
  const config = loadConfig({ base, env: {}, root });

  it('uses the embedded dev server when no cluster is configured', () => {
    expect(resolveTemporalTarget(config, {})).toEqual({ embedded: true, namespace: 'default', connectionOptions: { address: '127.0.0.1:7233' } });
  });

  it('connects to the cluster from TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE / TEMPORAL_API_KEY and runs no server', () => {
    const target = resolveTemporalTarget(config, { TEMPORAL_ADDRESS: 'prod.tmprl.cloud:7233', TEMPORAL_NAMESPACE: 'ops.abc', TEMPORAL_API_KEY: 'k' });
    expect(target.embedded).toBe(false);
    expect(target.namespace).toBe('ops.abc');
    expect(target.connectionOptions).toMatchObject({ address: 'prod.tmprl.cloud:7233', apiKey: 'k' });
  });

  it('refuses an unknown profile clearly', () => {
    expect(() => resolveTemporalTarget({ ...config, profile: 'nope' }, {})).toThrow(/cannot read the Temporal connection profile: .*nope/);
  });
});
