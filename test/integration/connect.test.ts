/**
 * `Andon.connect()` takes everything it needs as options and reads no project configuration;
 * `connectOptions()` (src/config) builds those options from a project's configuration, as
 * `npm start` does.
 */
import os from 'node:os';
import { Connection } from '@temporalio/client';
import { Andon } from '../../src/client';
import { connectOptions, loadConfig } from '../../src/config';
import { quickScript, startHarness, type Harness } from '../support/harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ agent: quickScript() });
});
afterAll(() => h.close());

describe('Andon.connect', () => {
  it('reaches the worker through the address, namespace and task queue it is given, and applies its identity and session defaults', async () => {
    const andon = await Andon.connect({
      connection: { address: h.address },
      namespace: 'default',
      taskQueue: h.taskQueue,
      identity: 'test:explicit',
      defaults: { requirePlanApproval: false, followUpWindowMs: 0 },
    });
    try {
      const session = await andon.session({ prompt: 'connect with explicit options' });
      // No approval asked: the session defaults said so.
      await expect(session.result({ timeoutMs: 20_000 })).resolves.toMatchObject({ state: 'completed' });
      await expect(session.info()).resolves.toMatchObject({ requestedBy: 'test:explicit', requirePlanApproval: false });
    } finally {
      await andon.close();
    }
  });

  it('uses a connection it is given', async () => {
    const started = await h.andon.session({ prompt: 'seen through a shared connection' });
    const connection = await Connection.connect({ address: h.address });
    const andon = await Andon.connect({ connection, taskQueue: h.taskQueue });
    try {
      expect(andon.client.connection).toBe(connection);
      await expect(andon.session(started.id).waitFor('awaitingPlanApproval', { timeoutMs: 20_000 })).resolves.toMatchObject({
        id: started.id,
      });
      await andon.session(started.id).cancel('seen');
    } finally {
      await andon.close();
    }
  });

  it('reaches the sessions of a project configuration through connectOptions(): Temporal target, task queue and session defaults', async () => {
    const env = { TEMPORAL_ADDRESS: h.address };
    const config = loadConfig({
      base: { taskQueue: h.taskQueue, sessions: { followUpWindow: 0, requirePlanApproval: false } },
      env,
      root: os.tmpdir(),
    });
    const options = connectOptions(config, env);
    expect(options).toMatchObject({
      connection: { address: h.address },
      namespace: 'default',
      taskQueue: h.taskQueue,
      defaults: { followUpWindowMs: 0, requirePlanApproval: false },
    });
    const andon = await Andon.connect({ ...options, identity: 'test:configured' });
    try {
      const session = await andon.session({ prompt: 'connect as configured' });
      await expect(session.result({ timeoutMs: 20_000 })).resolves.toMatchObject({ state: 'completed' });
      await expect(session.info()).resolves.toMatchObject({ requestedBy: 'test:configured' });
    } finally {
      await andon.close();
    }
  });
});
