/**
 * Tool-call reviews and budget resumes over the HTTP API, against the real dev server, a worker
 * running the LLM agent and a loopback model server: pending reviews across sessions and per
 * session, approve / deny / edit with the caller recorded as `api:<token name>`, the refusals
 * (400 with the field, 409, 404, 403), and resuming a session that spent its budget.
 */
import type { SessionView, TimelineEvent } from '../../src/client';
import type { Review } from '../../src/session/schema';
import { planReply, sessionAwaitingReview, startLlmHarness, type LlmHarness } from '../support/llm-harness';
import { startService, type TestService } from '../support/service-harness';

const T = { timeoutMs: 30_000 };

let h: LlmHarness;
let api: TestService;
beforeAll(async () => {
  h = await startLlmHarness();
  api = await startService(h.andon);
});
afterAll(async () => {
  await api?.close();
  await h?.close();
});

type PendingReview = Review & { sessionId: string; sessionTitle: string };

const reviewPath = (sessionId: string, reviewId: string) => `/v1/sessions/${sessionId}/reviews/${reviewId}`;

async function events(sessionId: string): Promise<TimelineEvent[]> {
  return (await h.andon.session(sessionId).timeline({ limit: 1000 })).events;
}

/** Visibility (AndonPendingReviews) may trail the workflow by a moment: ask again until the review is listed. */
async function listedAcrossSessions(reviewId: string, sessionId: string): Promise<PendingReview[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const listed = await api.call<{ reviews: PendingReview[] }>('GET', '/v1/reviews', { as: 'reader' });
    expect(listed.status).toBe(200);
    if (listed.body.reviews.some((r) => r.id === reviewId && r.sessionId === sessionId) || Date.now() > deadline)
      return listed.body.reviews;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe('reviews over HTTP', () => {
  it('lists pending reviews across sessions and per session, with read scope', async () => {
    const { session, review } = await sessionAwaitingReview(h, { prompt: 'restart checkout-api (listed)' });

    const across = await listedAcrossSessions(review.id, session.id);
    expect(across).toContainEqual({ ...review, sessionId: session.id, sessionTitle: 'restart checkout-api (listed)' });
    const limited = await api.call<{ reviews: PendingReview[] }>('GET', '/v1/reviews?limit=1', { as: 'reader' });
    expect(limited.status).toBe(200);
    expect(limited.body.reviews).toHaveLength(1);
    const badLimit = await api.call('GET', '/v1/reviews?limit=0', { as: 'reader' });
    expect(badLimit.status).toBe(400);
    expect(badLimit.body.error).toMatchObject({ code: 'invalid_argument', field: 'limit' });

    const own = await api.call<{ reviews: Review[] }>('GET', `/v1/sessions/${session.id}/reviews`, { as: 'reader' });
    expect(own.status).toBe(200);
    expect(own.body.reviews).toEqual([review]);
    expect(review).toMatchObject({ tool: 'restart', arguments: { service: 'payments' }, reason: 'outsidePlan' });
    const view = await api.call<SessionView>('GET', `/v1/sessions/${session.id}`, { as: 'reader' });
    expect(view.body.pendingReviews).toEqual([review]);

    const unknown = await api.call('GET', '/v1/sessions/no-such-session-reviews/reviews', { as: 'reader' });
    expect(unknown.status).toBe(404);
    expect((await api.call('GET', '/v1/reviews', { as: null })).status).toBe(401);

    await session.review(review.id, { decision: 'approve' });
    await session.result(T);
    const after = await api.call<{ reviews: Review[] }>('GET', `/v1/sessions/${session.id}/reviews`, { as: 'reader' });
    expect(after.body.reviews).toEqual([]);
  });

  it('edits a call through the API: bad arguments are 400 with the field, the caller needs the approve scope', async () => {
    const { session, review } = await sessionAwaitingReview(h, { prompt: 'restart checkout-api (edited)' });
    const path = reviewPath(session.id, review.id);

    // Deciding what a tool may do is an approval: read and write tokens may not.
    for (const as of ['reader', 'writer'] as const) {
      const forbidden = await api.call('POST', path, { as, body: { decision: 'approve' } });
      expect(forbidden.status).toBe(403);
      expect(forbidden.body.error).toMatchObject({ code: 'forbidden', message: expect.stringContaining('"approve" scope') });
    }

    const refusals: Array<[body: unknown, field: string, message: RegExp]> = [
      [
        { decision: 'edit', arguments: { service: '-rf' } },
        'arguments.service',
        /invalid arguments for restart: service: expected one plain word/,
      ],
      [{ decision: 'edit' }, 'arguments', /an edit needs the new arguments/],
      [{ decision: 'deny' }, 'reason', /a denial needs a reason/],
      [{ decision: 'approve', arguments: { service: 'x' } }, 'arguments', /only with decision "edit"/],
      [{ decision: 'maybe' }, 'decision', /decision/],
      [{ decision: 'approve', by: 'someone-else' }, 'by', /by/],
    ];
    for (const [body, field, message] of refusals) {
      const refused = await api.call('POST', path, { as: 'approver', body });
      expect({ body, status: refused.status, error: refused.body.error }).toEqual({
        body,
        status: 400,
        error: expect.objectContaining({ code: 'invalid_argument', field, message: expect.stringMatching(message) }),
      });
    }

    const unknownReview = await api.call('POST', reviewPath(session.id, 'review-404'), { as: 'approver', body: { decision: 'approve' } });
    expect(unknownReview.status).toBe(409);
    expect(unknownReview.body.error).toMatchObject({ code: 'invalid_state', state: 'awaitingUserFeedback' });
    const unknownSession = await api.call('POST', reviewPath('no-such-session-review', review.id), {
      as: 'approver',
      body: { decision: 'approve' },
    });
    expect(unknownSession.status).toBe(404);
    expect(unknownSession.body.error.code).toBe('not_found');
    // Nothing of that changed the review.
    expect((await session.reviews()).map((r) => r.id)).toEqual([review.id]);

    const edited = await api.call<SessionView>('POST', path, {
      as: 'approver',
      body: { decision: 'edit', arguments: { service: 'checkout-api' }, reason: 'wrong service' },
    });
    expect(edited.status).toBe(200);
    expect(edited.body.id).toBe(session.id);
    expect(edited.body.pendingReviews).toEqual([]);

    await session.result(T);
    const timeline = await events(session.id);
    expect(timeline.find((e) => e.type === 'reviewDecided')).toMatchObject({
      reviewId: review.id,
      decision: 'edit',
      by: 'api:approver',
      arguments: { service: 'checkout-api' },
      reason: 'wrong service',
    });
    expect(timeline.find((e) => e.type === 'toolCalled')).toMatchObject({
      tool: 'restart',
      arguments: { service: 'checkout-api' },
      status: 'ok',
      reviewedBy: 'api:approver',
    });

    // Decided once: the same decision again finds no review.
    const again = await api.call('POST', path, { as: 'approver', body: { decision: 'approve' } });
    expect(again.status).toBe(409);
  });

  it('denies a call with a reason, and approves one', async () => {
    const denied = await sessionAwaitingReview(h, { prompt: 'restart checkout-api (denied)' });
    const deny = await api.call<SessionView>('POST', reviewPath(denied.session.id, denied.review.id), {
      body: { decision: 'deny', reason: 'payments is not ours to restart' },
    });
    expect(deny.status).toBe(200);
    await denied.session.result(T);
    const deniedEvents = await events(denied.session.id);
    expect(deniedEvents.find((e) => e.type === 'reviewDecided')).toMatchObject({
      decision: 'deny',
      by: 'api:alice',
      reason: 'payments is not ours to restart',
    });
    expect(deniedEvents.find((e) => e.type === 'toolCalled')).toMatchObject({ tool: 'restart', status: 'denied', reviewedBy: 'api:alice' });

    const approved = await sessionAwaitingReview(h, { prompt: 'restart checkout-api (approved)' });
    const approve = await api.call<SessionView>('POST', reviewPath(approved.session.id, approved.review.id), {
      as: 'approver',
      body: { decision: 'approve' },
    });
    expect(approve.status).toBe(200);
    await approved.session.result(T);
    const approvedEvents = await events(approved.session.id);
    expect(approvedEvents.find((e) => e.type === 'toolCalled')).toMatchObject({
      tool: 'restart',
      arguments: { service: 'payments' },
      status: 'ok',
      reviewedBy: 'api:approver',
    });
  });
});

describe('budgets over HTTP', () => {
  it('resumes a session that spent its budget only with a higher budget', async () => {
    h.script(
      planReply([{ title: 'Look', tools: [{ tool: 'searchLog' }] }]),
      { text: 'Nothing alarming in the log.', usage: { promptTokens: 50, completionTokens: 10 } },
      { text: 'Looked; nothing to fix.' },
    );
    // Budgets come from the service's configuration or the SDK, never from an API caller.
    const session = await h.andon.session({ prompt: 'look around (budget)', budget: { tokens: 300 } });
    await session.waitFor('awaitingPlanApproval', T);
    await session.approve();
    const paused = await session.waitFor('paused', T);
    expect(paused).toMatchObject({ budget: { tokens: 300 }, usage: { inputTokens: 300, outputTokens: 100 } });
    const path = `/v1/sessions/${session.id}/resume`;

    const noBudget = await api.call('POST', path);
    expect(noBudget.status).toBe(400);
    expect(noBudget.body.error).toMatchObject({
      code: 'invalid_argument',
      field: 'budget',
      message: expect.stringMatching(/spent its budget/),
    });
    const zero = await api.call('POST', path, { body: { budget: { tokens: 0 } } });
    expect(zero.status).toBe(400);
    expect(zero.body.error.field).toBe('budget.tokens');
    const empty = await api.call('POST', path, { body: { budget: {} } });
    expect(empty.status).toBe(400);
    expect(empty.body.error.field).toBe('budget');
    expect((await api.call('POST', path, { as: 'reader', body: { budget: { tokens: 10_000 } } })).status).toBe(403);

    // A new budget is an approver's decision: a write-only token may resume, not raise the budget.
    const writer = await api.call('POST', path, { as: 'writer', body: { budget: { tokens: 10_000, costUsd: 5 } } });
    expect(writer.status).toBe(403);
    expect(writer.body.error).toMatchObject({ code: 'forbidden', field: 'budget', message: expect.stringContaining('"approve" scope') });
    expect((await api.call<SessionView>('GET', `/v1/sessions/${session.id}`)).body).toMatchObject({
      state: 'paused',
      budget: { tokens: 300 },
    });

    const resumed = await api.call<SessionView>('POST', path, { body: { budget: { tokens: 10_000, costUsd: 5 } } });
    expect(resumed.status).toBe(200);
    expect(resumed.body.budget).toEqual({ tokens: 10_000, costUsd: 5 });
    const done = await api.call<SessionView>('GET', `/v1/sessions/${session.id}/wait?state=completed,failed&timeout=30s`);
    expect(done.body).toMatchObject({ state: 'completed', summary: 'Looked; nothing to fix.', budget: { tokens: 10_000, costUsd: 5 } });
    expect((await events(session.id)).find((e) => e.type === 'sessionResumed')).toMatchObject({ by: 'api:alice' });
  });

  it('refuses budget and review policies from API callers on creation', async () => {
    for (const [field, value] of [
      ['budget', { tokens: 1_000_000 }],
      ['review', { expireAfter: '1m' }],
      ['approval', { approvers: [] }],
    ] as const) {
      const refused = await api.call('POST', '/v1/sessions', { body: { prompt: 'no policies from callers', [field]: value } });
      expect({ field, status: refused.status, error: refused.body.error }).toEqual({
        field,
        status: 400,
        error: expect.objectContaining({ code: 'invalid_argument', field }),
      });
    }
  });
});
