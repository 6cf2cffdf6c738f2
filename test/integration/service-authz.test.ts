/**
 * What a `write` token may not do over the HTTP API, against the real dev server and a worker:
 * every way to weaken an approval needs the `approve` scope. Waiving plan approval on create,
 * changing a budget on resume, deciding a failed step, and writing memories other sessions
 * recall. Each refusal is 403 naming the field and the scope, and changes nothing.
 */
import type { SessionView, TimelineEvent } from '../../src/client';
import { killAll, runCli, type Run } from '../support/cli-process';
import { quickScript, startHarness, type Harness } from '../support/harness';
import { TOKENS, startService, type TestService } from '../support/service-harness';

let h: Harness;
let api: TestService;
beforeAll(async () => {
  const fails = { attempt: 1, kind: 'stepFailed' as const, message: 'exit status 1: still unhealthy' };
  h = await startHarness({
    agent: quickScript({
      plans: [
        {
          title: 'Fix {title}',
          steps: [
            { title: 'Look', description: 'look around', result: { description: 'looked' } },
            { title: 'Fix', description: 'fix it', result: { description: 'fixed' }, failures: [fails] },
          ],
        },
      ],
    }),
  });
  api = await startService(h.andon);
});
afterAll(async () => {
  killAll();
  await api?.close();
  await h?.close();
});

const unique = (prefix: string) => `${prefix}-${Date.now()}-${Math.floor(Math.random() * 1e6)}`;
const timeline = async (id: string): Promise<TimelineEvent[]> => (await h.andon.session(id).timeline({ limit: 1000 })).events;

async function waitFor(id: string, state: string): Promise<SessionView> {
  const waited = await api.call<SessionView>('GET', `/v1/sessions/${id}/wait?state=${state}&timeout=20s`);
  expect(waited.body.state).toBe(state);
  return waited.body;
}

async function create(body: Record<string, unknown>, as: 'alice' | 'writer' = 'alice'): Promise<SessionView> {
  const created = await api.call<SessionView>('POST', '/v1/sessions', { as, body });
  expect(created.status).toBe(201);
  return created.body;
}

describe('waiving plan approval', () => {
  it('a write-only token may not create a session without plan approval: 403 naming the field, nothing started', async () => {
    const id = unique('authz-no-approval');
    const refused = await api.call('POST', '/v1/sessions', {
      as: 'writer',
      body: { id, prompt: 'run unapproved', requirePlanApproval: false },
    });
    expect(refused.status).toBe(403);
    expect(refused.body.error).toMatchObject({ code: 'forbidden', field: 'requirePlanApproval' });
    expect(refused.body.error.message).toMatch(/lacks the "approve" scope/);
    expect((await api.call('GET', `/v1/sessions/${id}`)).status).toBe(404);

    // Leaving the field out (the service's default) or asking for approval is a writer's to do.
    const plain = await create({ prompt: 'run approved' }, 'writer');
    expect(plain.requirePlanApproval).toBe(true);
    const explicit = await create({ prompt: 'run approved, explicitly', requirePlanApproval: true }, 'writer');
    expect(explicit.requirePlanApproval).toBe(true);
    // A token with `approve` may waive it.
    const waived = await create({ prompt: 'run unapproved (approver)', requirePlanApproval: false, followUpWindow: 0 });
    expect(waived.requirePlanApproval).toBe(false);
    await Promise.all(
      [plain.id, explicit.id, waived.id].map((x) =>
        h.andon
          .session(x)
          .cancel('test done')
          .catch(() => undefined),
      ),
    );
  });
});

describe('budgets', () => {
  it('a write-only token may resume, but not with a budget', async () => {
    const { id } = await create({ prompt: 'budget on resume' }, 'writer');
    await waitFor(id, 'awaitingPlanApproval');
    expect((await api.call('POST', `/v1/sessions/${id}/pause`, { as: 'writer' })).status).toBe(200);
    const refused = await api.call('POST', `/v1/sessions/${id}/resume`, { as: 'writer', body: { budget: { tokens: 1_000_000 } } });
    expect(refused.status).toBe(403);
    expect(refused.body.error).toMatchObject({ code: 'forbidden', field: 'budget' });
    expect((await api.call<SessionView>('GET', `/v1/sessions/${id}`)).body).toMatchObject({ state: 'paused' });
    expect((await api.call<SessionView>('GET', `/v1/sessions/${id}`)).body.budget).toBeUndefined();
    const resumed = await api.call<SessionView>('POST', `/v1/sessions/${id}/resume`, { as: 'writer' });
    expect(resumed.body.state).toBe('awaitingPlanApproval');
    await h.andon.session(id).cancel('test done');
  });
});

describe('failed steps', () => {
  it('a failed step is decided over POST /step-decision with approve scope; chat "skip" from a writer is just chat', async () => {
    const { id } = await create({ prompt: 'fix it' }, 'writer');
    await waitFor(id, 'awaitingPlanApproval');
    expect((await api.call('POST', `/v1/sessions/${id}/approve`)).status).toBe(200);
    const failed = await waitFor(id, 'awaitingUserFeedback');
    expect(failed.stepFailure).toMatchObject({ stepId: 'plan-1-step-2', title: 'Fix' });

    const chat = await api.call('POST', `/v1/sessions/${id}/ask`, { as: 'writer', body: { message: 'skip' } });
    expect(chat.status).toBe(200);
    expect((await api.call<SessionView>('GET', `/v1/sessions/${id}`)).body).toMatchObject({
      state: 'awaitingUserFeedback',
      stepFailure: { stepId: 'plan-1-step-2' },
    });

    const writer = await api.call('POST', `/v1/sessions/${id}/step-decision`, { as: 'writer', body: { decision: 'skip' } });
    expect(writer.status).toBe(403);
    const bad = await api.call('POST', `/v1/sessions/${id}/step-decision`, { body: { decision: 'ignore' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'invalid_argument', field: 'decision' });
    const extra = await api.call('POST', `/v1/sessions/${id}/step-decision`, { body: { decision: 'skip', by: 'someone' } });
    expect(extra.status).toBe(400);
    const wrongStep = await api.call('POST', `/v1/sessions/${id}/step-decision`, { body: { decision: 'skip', stepId: 'plan-1-step-1' } });
    expect(wrongStep.status).toBe(409);
    expect(wrongStep.body.error).toMatchObject({ code: 'invalid_state' });

    const skipped = await api.call<SessionView>('POST', `/v1/sessions/${id}/step-decision`, {
      body: { decision: 'skip', stepId: 'plan-1-step-2', reason: 'verified by hand' },
    });
    expect(skipped.status).toBe(200);
    await waitFor(id, 'completed');
    const events = await timeline(id);
    expect(events.find((e) => e.type === 'progressUpdated' && e.title === 'Skipped: Fix')).toMatchObject({
      description: expect.stringMatching(/skipped by api:alice after it failed: .*verified by hand/),
    });
    const again = await api.call('POST', `/v1/sessions/${id}/step-decision`, { body: { decision: 'retry' } });
    expect(again.status).toBe(409);
  });
});

describe('memories', () => {
  it('a write-only token writes session memories; agent and service memories need approve', async () => {
    const { id } = await create({ prompt: 'remember things', context: { service: 'checkout-api' } }, 'writer');
    await waitFor(id, 'awaitingPlanApproval');
    const path = `/v1/sessions/${id}/memories`;
    for (const scope of ['agent', 'service']) {
      const refused = await api.call('POST', path, { as: 'writer', body: { content: `planted ${scope}`, scope } });
      expect(refused.status).toBe(403);
      expect(refused.body.error).toMatchObject({ code: 'forbidden', field: 'scope' });
    }
    expect((await timeline(id)).some((e) => e.type === 'memoryWritten')).toBe(false);
    // No memory store on this worker: a permitted write gets past the scope check to the worker.
    const own = await api.call('POST', path, { as: 'writer', body: { content: 'mine', scope: 'session' } });
    expect(own.status).not.toBe(403);
    const approver = await api.call('POST', path, { body: { content: 'team knowledge', scope: 'service' } });
    expect(approver.status).not.toBe(403);
    await h.andon.session(id).cancel('test done');
  });
});

describe('andon step', () => {
  /** The CLI straight to Temporal, or through the service with a token. */
  function cli(args: string[], token?: string): Promise<Run> {
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.ANDON_SERVICE_URL;
    delete env.ANDON_TOKEN;
    const transport = token ? ['--service', api.url, '--token', token] : ['--address', h.address, '--task-queue', h.taskQueue];
    if (token) env.TEMPORAL_ADDRESS = '127.0.0.1:1';
    return runCli([...args, ...transport, '--json'], env).done;
  }

  it('decides a failed step; over the service a write-only token is refused; a bad decision is a usage error', async () => {
    const { id } = await create({ prompt: 'fix it from the cli' });
    await waitFor(id, 'awaitingPlanApproval');
    await h.andon.session(id).approve({ by: 'test:lead' });
    await waitFor(id, 'awaitingUserFeedback');

    const usage = await cli(['step', id, 'ignore']);
    expect(usage.code).toBe(2);
    expect(JSON.parse(usage.stdout)).toMatchObject({
      error: { type: 'UsageError', field: 'decision', message: expect.stringMatching(/retry, skip or abort/) },
    });
    const writer = await cli(['step', id, 'skip'], TOKENS.writer);
    expect(writer.code).not.toBe(0);
    expect(JSON.parse(writer.stdout)).toMatchObject({ error: { type: 'AuthError', message: expect.stringContaining('"approve" scope') } });
    expect((await h.andon.session(id).info()).state).toBe('awaitingUserFeedback');

    const skipped = await cli(['step', id, 'skip', '--step', 'plan-1-step-2', '--reason', 'by hand'], TOKENS.alice);
    expect(skipped.code).toBe(0);
    await waitFor(id, 'completed');
    const events = await timeline(id);
    expect(events.find((e) => e.type === 'progressUpdated' && e.title === 'Skipped: Fix')).toMatchObject({
      description: expect.stringContaining('skipped by api:alice'),
    });
    // Straight to Temporal: nothing is left to decide.
    const late = await cli(['step', id, 'retry']);
    expect(late.code).not.toBe(0);
    expect(JSON.parse(late.stdout)).toMatchObject({ error: { type: 'InvalidStateError' } });
  });
});
