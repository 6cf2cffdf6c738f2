/**
 * Hibernate/resume is workflow durability: a waiting session holds no process, survives a
 * worker killed outright and a server restarted on the same database, and carries its whole
 * view across continue-as-new.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { freePort } from '../support/ports';
import { devServer, processesMentioning, startWorkerProcess } from '../support/processes';
import { quickScript, startHarness } from '../support/harness';

const dir = mkdtempSync(path.join(os.tmpdir(), 'andon-durability-'));

it('a worker killed while the session waits: a new worker finishes it', async () => {
  const scriptFile = path.join(dir, 'quick.json');
  writeFileSync(scriptFile, JSON.stringify(quickScript()));
  const h = await startHarness({ worker: false });
  const child = await startWorkerProcess(h.address, h.taskQueue, scriptFile);
  try {
    const session = await h.andon.session({ prompt: 'survive a crash' });
    await session.waitFor('awaitingPlanApproval', { timeoutMs: 30_000 });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    // Killed means gone: no process of this worker survives it (the suite must not leak workers).
    expect(processesMentioning(h.taskQueue)).toEqual([]);

    // Nothing is running now; the session is only history on the server.
    expect((await h.client.workflow.getHandle(session.id).describe()).status.name).toBe('RUNNING');
    await h.startWorker(quickScript());
    await session.approve({ by: 'test:after-crash' });
    const outcome = await session.result({ timeoutMs: 30_000 });
    expect(outcome.summary).toBe('done: survive a crash');
    const { events } = await session.timeline();
    expect(events.filter((e) => e.type === 'progressUpdated')).toHaveLength(2);
  } finally {
    child.kill('SIGKILL');
    await h.close();
  }
});

it('a dev server restarted on the same database file: the session continues', async () => {
  const dbFile = path.join(dir, 'restart.db');
  const port = await freePort();
  let server = await devServer(dbFile, port);
  const taskQueue = `restart-${randomUUID()}`;
  let h = await startHarness({ address: server.address, taskQueue, agent: quickScript() });
  let id: string;
  try {
    const session = await h.andon.session({ prompt: 'survive a restart' });
    id = session.id;
    await session.waitFor('awaitingPlanApproval', { timeoutMs: 30_000 });
    await session.send('remember me');
    await session.waitFor('awaitingPlanApproval', { timeoutMs: 30_000 });
  } finally {
    await h.close();
    await server.stop();
  }

  server = await devServer(dbFile, port);
  h = await startHarness({ address: server.address, taskQueue, agent: quickScript() });
  try {
    const session = h.andon.session(id);
    const view = await session.info();
    expect(view.state).toBe('awaitingPlanApproval');
    await session.approve();
    await session.result({ timeoutMs: 30_000 });
    const { events } = await session.timeline();
    expect(events.find((e) => e.type === 'userMessaged')).toMatchObject({ message: 'remember me' });
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
  } finally {
    await h.close();
    await server.stop();
  }
});

it('continues as new before the history grows too long, carrying the full session', async () => {
  // Ask the server to suggest continue-as-new early, so an ordinary session crosses it several times.
  const server = await devServer(path.join(dir, 'can.db'), await freePort(), [
    '--dynamic-config-value',
    'limit.historyCount.suggestContinueAsNew=20',
  ]);
  const steps = Array.from({ length: 8 }, (_, i) => ({ title: `Step ${i + 1}`, result: { description: `did ${i + 1}` } }));
  const h = await startHarness({ address: server.address, agent: quickScript({ plans: [{ steps }] }), followUpWindowMs: 10_000 });
  try {
    const session = await h.andon.session({ prompt: 'a long one' });
    const seen: number[] = [];
    const streaming = (async () => {
      for await (const event of session.stream()) seen.push(event.seq);
    })();
    await session.waitFor('awaitingPlanApproval', { timeoutMs: 30_000 });
    expect((await session.ask('status?')).reply).toBe('all good');
    await session.approve();
    const outcome = await session.result({ timeoutMs: 60_000 });
    expect(outcome.summary).toBe('done: a long one');
    // Follow-ups still work in the latest run.
    expect((await session.ask('still there?')).reply).toBe('echo: still there?');
    await streaming;

    const runs: string[] = [];
    for await (const execution of h.client.workflow.list({ query: `WorkflowId = '${session.id}'` })) runs.push(execution.runId);
    expect(runs.length).toBeGreaterThan(1);

    const { events } = await session.timeline({ limit: 1000 });
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(events.filter((e) => e.type === 'progressUpdated')).toHaveLength(8);
    expect(events[0]).toMatchObject({ type: 'sessionCreated', prompt: 'a long one' });
    // The stream followed the runs without gaps or duplicates, up to completion.
    const completedSeq = events.find((e) => e.type === 'sessionCompleted')!.seq;
    expect(seen).toEqual(events.filter((e) => e.seq <= completedSeq).map((e) => e.seq));
  } finally {
    await h.close();
    await server.stop();
  }
});
