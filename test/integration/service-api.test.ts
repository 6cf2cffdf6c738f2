/**
 * The session API over real HTTP on loopback, against the real dev server and a real worker:
 * every route's success path, and who did what recorded as `api:<token name>`.
 */
import type { SessionView, TimelineEvent, TimelinePage } from '../../src/client';
import { quickScript, startHarness, type Harness } from '../support/harness';
import { startService, type TestService } from '../support/service-harness';

let h: Harness;
let api: TestService;
beforeAll(async () => {
  h = await startHarness({ agent: quickScript() });
  api = await startService(h.andon);
});
afterAll(async () => {
  await api?.close();
  await h?.close();
});

const unique = (prefix: string) => `${prefix}-${Date.now()}-${Math.floor(Math.random() * 1e6)}`;

async function createAwaiting(body: Record<string, unknown>): Promise<SessionView> {
  const created = await api.call<SessionView>('POST', '/v1/sessions', { body });
  expect(created.status).toBe(201);
  const waited = await api.call<SessionView>('GET', `/v1/sessions/${created.body.id}/wait?state=awaitingPlanApproval&timeout=20s`);
  expect(waited.status).toBe(200);
  expect(waited.body.state).toBe('awaitingPlanApproval');
  return waited.body;
}

describe('creating and reading sessions', () => {
  it('creates a session (201, Location) and returns the existing one for the same id (200)', async () => {
    const id = unique('api-create');
    const created = await api.call<SessionView>('POST', '/v1/sessions', {
      body: { id, prompt: 'disk full on db-1', title: 'db-1 disk', context: { service: 'db' } },
    });
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe(`/v1/sessions/${id}`);
    expect(created.body).toMatchObject({
      id,
      title: 'db-1 disk',
      prompt: 'disk full on db-1',
      context: { service: 'db' },
      requestedBy: 'api:alice',
    });

    const again = await api.call<SessionView>('POST', '/v1/sessions', { body: { id, prompt: 'another prompt' } });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ id, prompt: 'disk full on db-1' });
  });

  it('creates a session with a generated id and the configured approval default', async () => {
    const created = await api.call<SessionView>('POST', '/v1/sessions', {
      body: { prompt: 'rotate logs', requirePlanApproval: false, followUpWindow: '1m' },
    });
    expect(created.status).toBe(201);
    expect(created.body.id).toMatch(/^session-/);
    expect(created.body.requirePlanApproval).toBe(false);
    const done = await api.call<SessionView>('GET', `/v1/sessions/${created.body.id}/wait?state=completed,failed&timeout=20000`);
    expect(done.body).toMatchObject({ state: 'completed', summary: 'done: rotate logs' });
  });

  it('gets the view, pages the timeline and lists sessions by state, text and age', async () => {
    const title = `quokka${Date.now()}`;
    const view = await createAwaiting({ prompt: 'cache miss storm', title, context: { service: `${title}-svc` } });

    const got = await api.call<SessionView>('GET', `/v1/sessions/${view.id}`, { as: 'reader' });
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({ id: view.id, state: 'awaitingPlanApproval', plan: { id: 'plan-1' } });

    const first = await api.call<TimelinePage>('GET', `/v1/sessions/${view.id}/timeline?limit=1`, { as: 'reader' });
    expect(first.status).toBe(200);
    expect(first.body.events.map((e) => e.type)).toEqual(['sessionCreated']);
    const rest = await api.call<TimelinePage>('GET', `/v1/sessions/${view.id}/timeline?after=1`, { as: 'reader' });
    expect(rest.body.events.map((e) => e.seq)).toEqual([2]);
    expect(rest.body).toMatchObject({ lastSeq: 2, state: 'awaitingPlanApproval' });

    for (const query of [
      `state=awaitingPlanApproval&text=${title}`,
      `state=completed,awaitingPlanApproval&text=${title}&since=1h`,
      `state=completed&state=awaitingPlanApproval&text=${title}&limit=5`,
    ]) {
      const listed = await api.call<{ sessions: Array<{ id: string; state: string; title: string; status: string }> }>(
        'GET',
        `/v1/sessions?${query}`,
        { as: 'reader' },
      );
      expect(listed.status).toBe(200);
      expect(listed.body.sessions).toEqual([
        expect.objectContaining({ id: view.id, state: 'awaitingPlanApproval', title, status: 'RUNNING' }),
      ]);
    }
    const none = await api.call(
      'GET',
      `/v1/sessions?text=${title}&since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`,
      { as: 'reader' },
    );
    expect(none.body.sessions).toEqual([]);

    const byService = await api.call<{ sessions: Array<{ id: string; service?: string }> }>('GET', `/v1/sessions?service=${title}-svc`, {
      as: 'reader',
    });
    expect(byService.body.sessions).toEqual([expect.objectContaining({ id: view.id, service: `${title}-svc` })]);

    await api.call('POST', `/v1/sessions/${view.id}/cancel`, { body: { reason: 'done testing' } });
  });

  it('answers /healthz without a token', async () => {
    const health = await api.call('GET', '/healthz', { as: null });
    expect(health).toMatchObject({ status: 200, body: { status: 'ok' } });
  });
});

describe('commands, with the caller recorded as api:<token name>', () => {
  it('asks, sends, approves with a plan id and completes; the timeline names who did each thing', async () => {
    const view = await createAwaiting({ prompt: 'checkout-api 5xx' });

    const asked = await api.call<{ messageId: string; reply: string }>('POST', `/v1/sessions/${view.id}/ask`, {
      as: 'writer',
      body: { message: 'status?', messageId: 'm-ask-1' },
    });
    expect(asked.status).toBe(200);
    expect(asked.body).toEqual({ messageId: 'm-ask-1', reply: 'all good' });

    const sent = await api.call<{ messageId: string }>('POST', `/v1/sessions/${view.id}/messages`, {
      as: 'writer',
      body: { message: 'fyi: deploy frozen' },
    });
    expect(sent.status).toBe(202);
    expect(sent.body.messageId).toEqual(expect.any(String));

    const approved = await api.call<SessionView>('POST', `/v1/sessions/${view.id}/approve`, {
      as: 'approver',
      body: { planId: 'plan-1', comment: 'go' },
    });
    expect(approved.status).toBe(200);
    expect(approved.body.state).toBe('inProgress');

    const done = await api.call<SessionView>('GET', `/v1/sessions/${view.id}/wait?state=completed&timeout=20s`, { as: 'reader' });
    expect(done.body.state).toBe('completed');

    const { body: page } = await api.call<TimelinePage>('GET', `/v1/sessions/${view.id}/timeline`, { as: 'reader' });
    const byType = (type: TimelineEvent['type']) => page.events.filter((e) => e.type === type);
    expect(byType('sessionCreated')[0]).toMatchObject({ requestedBy: 'api:alice' });
    expect(byType('userMessaged')).toEqual([
      expect.objectContaining({ messageId: 'm-ask-1', by: 'api:writer' }),
      expect.objectContaining({ message: 'fyi: deploy frozen', by: 'api:writer' }),
    ]);
    expect(byType('planApproved')).toEqual([expect.objectContaining({ planId: 'plan-1', comment: 'go', by: 'api:approver' })]);
  });

  it('approves with no body at all, and with an empty JSON body', async () => {
    const one = await createAwaiting({ prompt: 'no body' });
    const bare = await api.call<SessionView>('POST', `/v1/sessions/${one.id}/approve`, { as: 'approver' });
    expect(bare.status).toBe(200);

    const two = await createAwaiting({ prompt: 'empty body' });
    const empty = await api.call<SessionView>('POST', `/v1/sessions/${two.id}/approve`, {
      as: 'approver',
      body: '',
      headers: { 'content-type': 'application/json' },
    });
    expect(empty.status).toBe(200);
  });

  it('rejects to re-plan, then rejects to end the session', async () => {
    const view = await createAwaiting({ prompt: 'replan me' });
    const replanned = await api.call<SessionView>('POST', `/v1/sessions/${view.id}/reject`, {
      as: 'approver',
      body: { reason: 'too risky', replan: true },
    });
    expect(replanned.status).toBe(200);
    const again = await api.call<SessionView>('GET', `/v1/sessions/${view.id}/wait?state=awaitingPlanApproval&timeout=20s`);
    expect(again.body.plan?.id).toBe('plan-2');

    const ended = await api.call<SessionView>('POST', `/v1/sessions/${view.id}/reject`, {
      as: 'approver',
      body: { reason: 'not now', planId: 'plan-2' },
    });
    expect(ended.status).toBe(200);
    expect(ended.body.state).toBe('cancelled');

    const { body: page } = await api.call<TimelinePage>('GET', `/v1/sessions/${view.id}/timeline`);
    expect(page.events.filter((e) => e.type === 'planRejected')).toEqual([
      expect.objectContaining({ planId: 'plan-1', reason: 'too risky', replan: true, by: 'api:approver' }),
      expect.objectContaining({ planId: 'plan-2', reason: 'not now', replan: false, by: 'api:approver' }),
    ]);
  });

  it('pauses, resumes and cancels', async () => {
    const view = await createAwaiting({ prompt: 'pause me' });
    const paused = await api.call<SessionView>('POST', `/v1/sessions/${view.id}/pause`, { as: 'writer', body: { reason: 'lunch' } });
    expect(paused.status).toBe(200);
    expect(paused.body.state).toBe('paused');

    const resumed = await api.call<SessionView>('POST', `/v1/sessions/${view.id}/resume`, { as: 'writer' });
    expect(resumed.status).toBe(200);
    expect(resumed.body.state).toBe('awaitingPlanApproval');

    const cancelled = await api.call<SessionView>('POST', `/v1/sessions/${view.id}/cancel`, {
      as: 'writer',
      body: { reason: 'pulled the cord' },
    });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ state: 'cancelled', reason: 'pulled the cord' });

    const { body: page } = await api.call<TimelinePage>('GET', `/v1/sessions/${view.id}/timeline`);
    expect(page.events.filter((e) => ['sessionPaused', 'sessionResumed', 'sessionCancelled'].includes(e.type))).toEqual([
      expect.objectContaining({ type: 'sessionPaused', by: 'api:writer', reason: 'lunch' }),
      expect.objectContaining({ type: 'sessionResumed', by: 'api:writer' }),
      expect.objectContaining({ type: 'sessionCancelled', by: 'api:writer', reason: 'pulled the cord' }),
    ]);
  });
});
