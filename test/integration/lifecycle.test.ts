import { InvalidStateError, SessionNotFoundError, StalePlanError, ValidationError, type TimelineEvent } from '../../src/client';
import { quickScript, startHarness, type Harness } from '../support/harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ agent: quickScript() });
});
afterAll(() => h.close());

describe('a session from creation to completion', () => {
  it('plans, waits for approval, executes every step and completes with a summary', async () => {
    const session = await h.andon.session({ prompt: 'disk full on db-1', title: 'db-1 disk', context: { service: 'db' } });
    const awaiting = await session.waitFor('awaitingPlanApproval', { timeoutMs: 20_000 });
    expect(awaiting.plan?.id).toBe('plan-1');
    expect(awaiting.plan?.title).toBe('Fix db-1 disk');
    expect(awaiting.plan?.steps.map((s) => s.title)).toEqual(['Look', 'Fix']);

    const approved = await session.approve({ planId: 'plan-1', comment: 'go ahead', by: 'test:alice' });
    expect(approved.state).toBe('inProgress');

    const outcome = await session.result({ timeoutMs: 20_000 });
    expect(outcome).toMatchObject({ sessionId: session.id, state: 'completed', summary: 'done: disk full on db-1' });

    const { events } = await session.timeline();
    expect(events.map((e) => e.type)).toEqual([
      'sessionCreated',
      'planGenerated',
      'planApproved',
      'progressUpdated',
      'progressUpdated',
      'sessionCompleted',
    ]);
    expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    const approval = events[2] as Extract<TimelineEvent, { type: 'planApproved' }>;
    expect(approval).toMatchObject({ planId: 'plan-1', by: 'test:alice', comment: 'go ahead', originator: 'user' });
    expect(events[3]).toMatchObject({ title: 'Look', description: 'looked', stepId: 'plan-1-step-1', originator: 'agent' });
  });

  it('keeps the state search attribute current for visibility and lists sessions by state and title', async () => {
    const session = await h.andon.session({ prompt: 'cache miss storm', title: 'zebracache storm' });
    await session.waitFor('awaitingPlanApproval', { timeoutMs: 20_000 });
    const waiting = await h.andon.sessions.list({ state: 'awaitingPlanApproval', text: 'zebracache' });
    // Visibility is eventually consistent; the search attribute is written with the transition.
    expect(waiting.map((s) => s.id)).toContain(session.id);
    expect(waiting.find((s) => s.id === session.id)).toMatchObject({
      state: 'awaitingPlanApproval',
      title: 'zebracache storm',
      status: 'RUNNING',
    });
    await session.cancel('not needed');
    const none = await h.andon.sessions.list({ state: 'awaitingPlanApproval', text: 'zebracache' });
    expect(none.map((s) => s.id)).not.toContain(session.id);
  });

  it('lists sessions by service (context.service), set once at start', async () => {
    const service = `svc-${Date.now()}`;
    const mine = await h.andon.session({ prompt: 'service filter', context: { service } });
    const other = await h.andon.session({ prompt: 'another service', context: { service: `${service}-other` } });
    const listed = await h.andon.sessions.list({ service });
    expect(listed.map((s) => s.id)).toEqual([mine.id]);
    expect(listed[0]?.service).toBe(service);
    await expect(h.andon.sessions.list({ service: "x' OR 1=1" })).rejects.toMatchObject({ name: 'ValidationError', field: 'service' });
    await Promise.all([mine.cancel('done'), other.cancel('done')]);
  });

  it('returns the existing session when started twice with the same id', async () => {
    const id = `dup-${Date.now()}`;
    const first = await h.andon.session({ id, prompt: 'first prompt' });
    const second = await h.andon.session({ id, prompt: 'second prompt' });
    expect(second.id).toBe(first.id);
    const view = await second.waitFor('awaitingPlanApproval', { timeoutMs: 20_000 });
    expect(view.prompt).toBe('first prompt');
    const runs = await h.andon.sessions.list({ text: 'first' });
    expect(runs.filter((s) => s.id === id)).toHaveLength(1);
  });

  it('run() starts a session that needs no approval', async () => {
    const session = await h.andon.run({ prompt: 'rotate logs' });
    const outcome = await session.result({ timeoutMs: 20_000 });
    expect(outcome.summary).toBe('done: rotate logs');
    const { events } = await session.timeline();
    expect(events.find((e) => e.type === 'planApproved')).toMatchObject({ originator: 'system' });
  });
});

describe('refusals', () => {
  it('refuses approval when nothing awaits it, carrying the current state, and changes nothing', async () => {
    const session = await h.andon.run({ prompt: 'noop' });
    await session.result({ timeoutMs: 20_000 });
    const before = await session.timeline();
    const error = await session.approve().catch((e: unknown) => e);
    // The workflow has closed (follow-up window 0), so the session is gone for commands.
    expect(InvalidStateError.isInstance(error) || SessionNotFoundError.isInstance(error)).toBe(true);
    expect((await session.timeline()).lastSeq).toBe(before.lastSeq);
  });

  it('refuses a second approval with InvalidStateError(inProgress or later)', async () => {
    const session = await h.andon.session({ prompt: 'twice' });
    await session.waitFor('awaitingPlanApproval', { timeoutMs: 20_000 });
    await session.approve();
    const error = await session.approve().catch((e: unknown) => e);
    expect(InvalidStateError.isInstance(error)).toBe(true);
    expect(['inProgress', 'completed', 'unspecified']).toContain((error as InvalidStateError).state);
    await session.result({ timeoutMs: 20_000 });
  });

  it('refuses a stale plan id with StalePlanError naming the current plan', async () => {
    const session = await h.andon.session({ prompt: 'stale' });
    await session.waitFor('awaitingPlanApproval', { timeoutMs: 20_000 });
    const error = await session.approve({ planId: 'plan-7' }).catch((e: unknown) => e);
    expect(StalePlanError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ state: 'awaitingPlanApproval', currentPlanId: 'plan-1' });
    expect((await session.info()).state).toBe('awaitingPlanApproval');
    await session.cancel('done testing');
  });

  it('binds an approval to the plan content it saw: a wrong planHash is a stale plan, the right one approves', async () => {
    const session = await h.andon.session({ prompt: 'hash bound' });
    const view = await session.waitFor('awaitingPlanApproval', { timeoutMs: 20_000 });
    expect(view.plan?.hash).toMatch(/^[0-9a-f]{16}$/);
    const error = await session.approve({ planHash: '0000000000000000' }).catch((e: unknown) => e);
    expect(StalePlanError.isInstance(error)).toBe(true);
    expect((await session.approve({ planId: view.plan!.id, planHash: view.plan!.hash })).state).toBe('inProgress');
    await session.result({ timeoutMs: 20_000 });
  });

  it('rejects bad input on the client, naming the field, before anything is sent', async () => {
    await expect(h.andon.session({ prompt: '' })).rejects.toMatchObject({ name: 'ValidationError', field: 'prompt' });
    await expect(h.andon.session({ prompt: 'x', id: 'has spaces' })).rejects.toMatchObject({ field: 'id' });
    const session = h.andon.session('whatever');
    const error = await session.reject('   ').catch((e: unknown) => e);
    expect(ValidationError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ field: 'reason' });
  });

  it('reports an unknown session as SessionNotFoundError', async () => {
    const ghost = h.andon.session('no-such-session');
    await expect(ghost.info()).rejects.toMatchObject({ name: 'SessionNotFoundError', sessionId: 'no-such-session' });
    await expect(ghost.approve()).rejects.toMatchObject({ name: 'SessionNotFoundError' });
    await expect(ghost.send('hello')).rejects.toMatchObject({ name: 'SessionNotFoundError' });
  });
});
