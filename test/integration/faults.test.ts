/**
 * Faults over a fleet: the worker is SIGKILLed in the middle of steps (twice, by two different
 * worker processes) and the dev server is SIGKILLed mid-step and restarted on the same SQLite file.
 * Every session still completes, each step reports once, and nothing a user sent is lost: every
 * approval, every message and every question is on the timeline and answered.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DevServer } from '../../src/temporal/dev-server';
import { freePort } from '../support/ports';
import { devServer, processesMentioning, startWorkerProcess } from '../support/processes';
import { quickScript, startHarness, type Harness } from '../support/harness';

const dir = mkdtempSync(path.join(os.tmpdir(), 'andon-faults-'));

const FLEET = 8;
const STEPS = 3;
const STEP_MS = 1500;

async function kill9(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

it('kill -9 of workers mid-step and of the dev server: every session completes, nothing sent is lost', async () => {
  const dbFile = path.join(dir, 'faults.db');
  const port = await freePort();
  const taskQueue = `faults-${randomUUID()}`;
  const steps = Array.from({ length: STEPS }, (_, i) => ({
    title: `Step ${i + 1}`,
    result: { description: `did ${i + 1}` },
    delayMs: STEP_MS,
  }));
  const scriptFile = path.join(dir, 'slow.json');
  writeFileSync(scriptFile, JSON.stringify(quickScript({ plans: [{ steps }] })));

  const servers: DevServer[] = [];
  const workers: ChildProcess[] = [];
  let h: Harness | undefined;
  const worker = async () => {
    const child = await startWorkerProcess(servers.at(-1)!.address, taskQueue, scriptFile);
    workers.push(child);
    return child;
  };
  try {
    servers.push(await devServer(dbFile, port));
    h = await startHarness({ address: servers[0]!.address, taskQueue, worker: false });
    const first = await worker();

    const sessions = await Promise.all(Array.from({ length: FLEET }, (_, i) => h!.andon.session({ prompt: `fleet ${i}` })));
    await Promise.all(sessions.map((s) => s.waitFor('awaitingPlanApproval', { timeoutMs: 30_000 })));
    const sent = new Map<string, string[]>(sessions.map((s) => [s.id, []]));
    const send = async (i: number, text: string) => sent.get(sessions[i]!.id)!.push((await sessions[i]!.send(text)).messageId);
    const approved = new Set<number>();
    const approve = (group: number[], by: string) =>
      Promise.all(
        group.map(async (i) => {
          await sessions[i]!.approve({ by, timeoutMs: 30_000 });
          approved.add(i);
        }),
      );

    // Wave 1: half the fleet approved; kill the worker while their first steps run.
    await approve([0, 1, 2, 3], 'test:before-kill');
    await Promise.all(sessions.map((_, i) => send(i, `before ${i}`)));
    await sleep(STEP_MS / 2);
    await kill9(first);

    // Wave 2: a new worker; the rest approved after the kill; kill that worker mid-step too.
    const second = await worker();
    await approve([4, 5], 'test:after-kill');
    await Promise.all(sessions.map((_, i) => send(i, `between ${i}`)));
    await sleep(STEP_MS / 2);
    await kill9(second);

    // Wave 3: a third worker runs the last approvals' steps while the server is killed under it.
    await worker();
    await approve([6, 7], 'test:before-server-kill');
    const asked = await Promise.all(sessions.map((s) => s.ask('status?', { timeoutMs: 30_000 })));
    expect(asked.map((a) => a.reply)).toEqual(sessions.map(() => 'all good'));
    await sleep(STEP_MS / 2);
    await kill9(servers[0]!.process);
    servers.push(await devServer(dbFile, port));
    expect(approved.size).toBe(FLEET);

    // After the restart: the clients reconnect on their own; talk to every session once more.
    await Promise.all(sessions.map((_, i) => send(i, `after restart ${i}`)));
    const late = await Promise.all(sessions.map((s, i) => s.ask(`late ${i}`, { timeoutMs: 60_000 })));
    expect(late.map((a) => a.reply)).toEqual(sessions.map((_, i) => `echo: late ${i}`));

    const outcomes = await Promise.all(sessions.map((s) => s.result({ timeoutMs: 90_000 })));
    expect(outcomes.map((o) => o.summary)).toEqual(sessions.map((_, i) => `done: fleet ${i}`));

    let retried = 0;
    for (const [i, session] of sessions.entries()) {
      const { events } = await session.timeline({ limit: 1000 });
      expect(events.map((e) => e.seq)).toEqual(events.map((_, n) => n + 1));
      // A step re-run after losing its worker reports once: the workflow records the one result it accepts.
      const progress = events.filter((e) => e.type === 'progressUpdated');
      expect(progress.map((e) => e.title)).toEqual(steps.map((s) => s.title));
      expect(events.filter((e) => e.type === 'planApproved')).toHaveLength(1);
      expect(events.filter((e) => e.type === 'sessionCompleted')).toHaveLength(1);
      // Every message sent is on the timeline once, and answered.
      const messaged = events.flatMap((e) => (e.type === 'userMessaged' ? [e.messageId] : []));
      expect([...messaged].sort()).toEqual([...sent.get(session.id)!, ...[asked[i], late[i]].map((a) => a!.messageId)].sort());
      const replies = new Set(events.flatMap((e) => (e.type === 'agentMessaged' && e.inReplyTo ? [e.inReplyTo] : [])));
      for (const id of messaged) expect(replies.has(id)).toBe(true);

      const history = await h.client.workflow.getHandle(session.id).fetchHistory();
      // A retried activity keeps one started event, written with its last attempt number.
      retried += history.events!.filter((e) => (e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1).length;
    }
    // The kills landed mid-step: some steps were lost with their worker and run again.
    expect(retried).toBeGreaterThan(0);
  } finally {
    for (const child of workers) await kill9(child);
    await h?.close();
    for (const server of servers) {
      await kill9(server.process);
      await server.stop();
    }
  }
  // Nothing this test started outlives it.
  expect(processesMentioning(taskQueue)).toEqual([]);
  expect(processesMentioning(dbFile)).toEqual([]);
}, 150_000);
