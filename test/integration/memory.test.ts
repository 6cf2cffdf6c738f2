/**
 * Memory: written in one session (writeMemory, on the timeline), recalled when the next session
 * about the same service plans (memoryRecalled, and in the agent's request), and still there
 * after the store is reopened on the same file.
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ValidationError } from '../../src/client';
import { SqliteMemoryStore } from '../../src/memory';
import { quickScript, startHarness, type Harness } from '../support/harness';
import { startService } from '../support/service-harness';
import { TestAgent } from '../support/test-agent';

const T = { timeoutMs: 20_000 };
const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'andon-memory-')), 'memory.db');
const service = `payments-${Date.now()}`;

async function withWorker<T>(run: (h: Harness, agent: TestAgent) => Promise<T>): Promise<T> {
  const memory = SqliteMemoryStore.open(file);
  const agent = new TestAgent({ default: quickScript() });
  const h = await startHarness({ agent, memory });
  try {
    return await run(h, agent);
  } finally {
    await h.close();
    await memory.close();
  }
}

it('a memory written in one session is recalled when the next one plans, also after a restart', async () => {
  await withWorker(async (h) => {
    const first = await h.andon.session({ prompt: 'payments latency high', context: { service } });
    await first.waitFor('awaitingPlanApproval', T);
    const { memoryId } = await first.writeMemory('Last time a payments-gateway restart fixed the latency', {
      scope: 'service',
      by: 'test:alice',
    });
    const { events } = await first.timeline();
    expect(events.at(-1)).toMatchObject({ type: 'memoryWritten', memoryId, scope: 'service', by: 'test:alice' });
    await first.writeMemory('only for this session');
    await first.cancel('done');

    const second = await h.andon.session({ prompt: 'payments latency high again', context: { service } });
    await second.waitFor('awaitingPlanApproval', T);
    const recalled = (await second.timeline()).events.find((e) => e.type === 'memoryRecalled');
    expect(recalled).toMatchObject({
      memories: [{ id: memoryId, scope: 'service', content: 'Last time a payments-gateway restart fixed the latency' }],
    });
    await second.cancel('done');
  });

  // A new worker and a new store on the same file: what was learned is still there.
  await withWorker(async (h, agent) => {
    const third = await h.andon.session({ prompt: 'payments latency, third time', context: { service } });
    await third.waitFor('awaitingPlanApproval', T);
    const request = agent.planRequests.find((r) => r.sessionId === third.id);
    expect(request?.memories?.map((m) => m.content)).toEqual(['Last time a payments-gateway restart fixed the latency']);
    const other = await h.andon.session({ prompt: 'unrelated', context: { service: `${service}-other` } });
    await other.waitFor('awaitingPlanApproval', T);
    expect((await other.timeline()).events.some((e) => e.type === 'memoryRecalled')).toBe(false);
    await Promise.all([third.cancel('done'), other.cancel('done')]);
  });
});

it('refuses a service memory for a session with no service, naming the field', async () => {
  await withWorker(async (h) => {
    const session = await h.andon.session({ prompt: 'no service here' });
    await session.waitFor('awaitingPlanApproval', T);
    const error = await session.writeMemory('x', { scope: 'service' }).catch((e: unknown) => e);
    expect(ValidationError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ field: 'scope' });
    await session.cancel('done');
  });
});

it('writes a memory over the HTTP API, recorded as the token that wrote it', async () => {
  await withWorker(async (h) => {
    const api = await startService(h.andon);
    try {
      const session = await h.andon.session({ prompt: 'over http', context: { service } });
      await session.waitFor('awaitingPlanApproval', T);
      const written = await api.call<{ memoryId: string }>('POST', `/v1/sessions/${session.id}/memories`, {
        body: { content: 'remember this', scope: 'session' },
      });
      expect(written.status).toBe(201);
      const { events } = await session.timeline();
      expect(events.at(-1)).toMatchObject({
        type: 'memoryWritten',
        memoryId: written.body.memoryId,
        by: 'api:alice',
        content: 'remember this',
      });
      const refused = await api.call('POST', `/v1/sessions/${session.id}/memories`, { body: { content: '' } });
      expect(refused).toMatchObject({ status: 400, body: { error: { field: 'content' } } });
      await session.cancel('done');
    } finally {
      await api.close();
    }
  });
});
