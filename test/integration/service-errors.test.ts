/**
 * Every error status of the HTTP API, over real HTTP on loopback: each answer has the one error
 * shape, the right status and the fields a caller needs (field, state, currentPlanId,
 * Retry-After, WWW-Authenticate), and never a stack trace.
 */
import { Client, Connection, makeGrpcRetryInterceptor } from '@temporalio/client';
import { Andon, InvalidStateError, type SessionView } from '../../src/client';
import { freePort } from '../support/ports';
import { SERVICE_ATTRIBUTE } from '../../src/session/search-attributes';
import { toHttpError } from '../../src/service/error-handler';
import { isRefused } from '../../src/service/webhooks/deliver';
import { quickScript, startHarness, type Harness } from '../support/harness';
import { TOKENS, startService, type HttpResponse, type TestService } from '../support/service-harness';

let h: Harness;
let api: TestService;
beforeAll(async () => {
  h = await startHarness({ agent: quickScript() });
  api = await startService(h.andon, { bodyLimit: 2_048 });
});
afterAll(async () => {
  await api?.close();
  await h?.close();
});

function expectError(response: HttpResponse, status: number, error: Record<string, unknown>): void {
  expect({ status: response.status, body: response.body }).toEqual({
    status,
    body: { error: expect.objectContaining({ message: expect.any(String), ...error }) },
  });
  expect(JSON.stringify(response.body)).not.toMatch(/\n\s+at /);
}

async function awaitingSession(): Promise<SessionView> {
  const created = await api.call<SessionView>('POST', '/v1/sessions', { body: { prompt: 'errors test' } });
  const waited = await api.call<SessionView>('GET', `/v1/sessions/${created.body.id}/wait?state=awaitingPlanApproval&timeout=20s`);
  expect(waited.body.state).toBe('awaitingPlanApproval');
  return waited.body;
}

describe('400: malformed JSON or a schema violation, naming the field', () => {
  it('a NUL or other control character in a list filter is a 400 naming the filter, at once', async () => {
    for (const [query, field] of [
      ['text=%00', 'text'],
      ['text=a%00b', 'text'],
      ['service=%00', 'service'],
      ['service=db%0A7', 'service'],
      ['text=%7F', 'text'],
    ] as const) {
      const started = Date.now();
      expectError(await api.call('GET', `/v1/sessions?${query}`), 400, { code: 'invalid_argument', field });
      expect(Date.now() - started).toBeLessThan(2_000);
    }
    expectError(await api.call('GET', '/v1/sessions?since=99999999999d'), 400, { field: 'since' });
    expectError(await api.call('GET', '/v1/sessions?since=9999999d'), 400, { field: 'since' });
    expectError(await api.call('GET', '/v1/sessions?since=%2B012345-01-01T00:00:00Z'), 400, { field: 'since' });
  });

  it('root cause: Temporal refuses a search attribute value over 2 KiB (INVALID_ARGUMENT), which maps to 422, not 500', async () => {
    const refused = await h.client.workflow
      .start('andonSession', {
        workflowId: `too-big-attribute-${Date.now()}`,
        taskQueue: 'nobody-polls-this',
        args: [],
        typedSearchAttributes: [{ key: SERVICE_ATTRIBUTE, value: 's'.repeat(2_100) }],
      })
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    expect(refused).toBeDefined();
    expect(isRefused(refused)).toBe(true);
    expect(toHttpError(refused, { retryAfterSeconds: 1 })).toMatchObject({ statusCode: 422, code: 'rejected_by_temporal' });
  });

  it('a context.service over the search attribute limit is a 400 naming it, not a 500', async () => {
    const roomy = await startService(h.andon, {});
    try {
      const response = await roomy.call('POST', '/v1/sessions', { body: { prompt: 'x', context: { service: 's'.repeat(2_100) } } });
      expectError(response, 400, { code: 'invalid_argument', field: 'context.service' });
      const multibyte = await roomy.call('POST', '/v1/sessions', { body: { prompt: 'x', context: { service: 'é'.repeat(600) } } });
      expectError(multibyte, 400, { field: 'context.service' });
    } finally {
      await roomy.close();
    }
  });

  it('refuses malformed JSON', async () => {
    const response = await api.call('POST', '/v1/sessions', { body: '{"prompt": "x",' });
    expectError(response, 400, { code: 'invalid_argument', field: '(body)' });
  });

  it('names the bad field of a body, a query and a path parameter', async () => {
    expectError(await api.call('POST', '/v1/sessions', { body: { prompt: '   ' } }), 400, { code: 'invalid_argument', field: 'prompt' });
    expectError(await api.call('POST', '/v1/sessions', { body: { prompt: 'x', context: { service: 7 } } }), 400, {
      field: 'context.service',
    });
    expectError(await api.call('POST', '/v1/sessions', { body: { prompt: 'x', followUpWindow: 'soon' } }), 400, {
      field: 'followUpWindow',
    });
    expectError(await api.call('POST', '/v1/sessions/any-id/reject', { body: { replan: true } }), 400, { field: 'reason' });
    // A misspelt planId must not approve whatever plan is current.
    expectError(await api.call('POST', '/v1/sessions/any-id/approve', { body: { planid: 'plan-1' } }), 400, { field: 'planid' });
    expectError(await api.call('GET', '/v1/sessions?limit=0'), 400, { field: 'limit' });
    expectError(await api.call('GET', '/v1/sessions?state=sleeping'), 400, { field: 'state.0' });
    expectError(await api.call('GET', '/v1/sessions?since=yesterday'), 400, { field: 'since' });
    expectError(await api.call('GET', '/v1/sessions/has%20spaces'), 400, { field: 'id' });
  });

  it('a bad code-session source or publish policy is a 400 naming the field and what is wrong; no session starts', async () => {
    const cases: Array<[source: unknown, field: string, message: RegExp]> = [
      [{ github: 'acme' }, 'source.github', /owner\/repo/],
      [{ github: 'acme/api', branch: 'feature x' }, 'source.branch', /valid git branch name/],
      [{ github: 'acme/api', branch: '-upload-pack=evil' }, 'source.branch', /valid git branch name/],
      [{ git: 'https://bot:s3cret@git.example.com/acme/api.git' }, 'source.git', /must not carry credentials/],
      [{ git: '--upload-pack=touch /tmp/pwned' }, 'source.git', /must not start with "-"/],
      [{ repo: 'acme/api' }, 'source', /"github" or "git"/],
    ];
    for (const [source, field, message] of cases) {
      const id = `bad-source-${field.replace(/\W/g, '-')}-${Math.random().toString(36).slice(2, 8)}`;
      const response = await api.call('POST', '/v1/sessions', { body: { id, prompt: 'fix it', source } });
      expectError(response, 400, { code: 'invalid_argument', field, message: expect.stringMatching(message) });
      // The credentials are never echoed back.
      expect(JSON.stringify(response.body)).not.toContain('s3cret');
      await expect(h.client.workflow.getHandle(id).describe()).rejects.toThrow(/not found/i);
    }
    expectError(
      await api.call('POST', '/v1/sessions', { body: { prompt: 'x', source: { github: 'acme/api' }, publish: { mode: 'merge' } } }),
      400,
      { field: 'publish.mode' },
    );
  });

  it('a good source and publish policy reach the workflow input as given', async () => {
    const id = `good-source-${Math.random().toString(36).slice(2, 8)}`;
    const response = await api.call<SessionView>('POST', '/v1/sessions', {
      body: {
        id,
        prompt: 'fix it',
        source: { github: 'acme/api', baseBranch: 'release/1.2' },
        publish: { mode: 'branch', approveChanges: true },
      },
    });
    expect(response.status).toBe(201);
    const history = await h.client.workflow.getHandle(id).fetchHistory();
    const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
    const payload = started?.input?.payloads?.[0]?.data;
    const input = JSON.parse(Buffer.from(payload ?? new Uint8Array()).toString('utf8')) as { config: Record<string, unknown> };
    expect(input.config).toMatchObject({
      source: { github: 'acme/api', branch: 'release/1.2' },
      publish: { mode: 'branch', approveChanges: true, draft: false },
    });
    // A worker that runs code sessions may have failed it already (not a source it may use).
    await h.andon
      .session(id)
      .cancel('test done')
      .catch((error: unknown) => {
        if (!InvalidStateError.isInstance(error)) throw error;
      });
  });

  it('refuses a body that is not JSON', async () => {
    const response = await api.call('POST', '/v1/sessions', {
      body: 'prompt=x',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expectError(response, 415, { code: 'unsupported_media_type' });
  });
});

describe('422 unknown_agent', () => {
  it('refuses an agent the worker lacks, naming the field and the known agents, and starts nothing', async () => {
    const beside = await startService(h.andon, {}, { agents: ['default', 'runbooks'] });
    try {
      const id = `unknown-agent-${Date.now()}`;
      const response = await beside.call('POST', '/v1/sessions', { body: { id, prompt: 'x', agent: 'nope' } });
      expectError(response, 422, { code: 'unknown_agent', field: 'agent' });
      expect(response.body.error.message).toContain('known agents: default, runbooks');
      await expect(h.client.workflow.getHandle(id).describe()).rejects.toThrow(/not found/i);
      // A known agent, or none (the default), starts as before.
      const known = await beside.call<SessionView>('POST', '/v1/sessions', { body: { prompt: 'x', agent: 'default' } });
      expect(known.status).toBe(201);
      await api.call('POST', `/v1/sessions/${known.body.id}/cancel`, { body: { reason: 'done testing' } });
    } finally {
      await beside.close();
    }
  });

  it('passes any name on when the service does not know the worker (run on its own)', async () => {
    const created = await api.call<SessionView>('POST', '/v1/sessions', { body: { prompt: 'x', agent: 'nope' } });
    expect(created.status).toBe(201);
    expect(created.body.agent).toBe('nope');
    await api.call('POST', `/v1/sessions/${created.body.id}/cancel`, { body: { reason: 'done testing' } });
  });
});

describe('429 too_many_waits: long polls are bounded, and a caller that hangs up frees its slot', () => {
  it('answers the wait over the bound 429 with Retry-After, and takes it once a waiter disconnects', async () => {
    const bounded = await startService(h.andon, { maxConcurrentWaits: 2, retryAfterSeconds: 3 });
    const hangUps = [new AbortController(), new AbortController()];
    try {
      const view = await awaitingSession();
      const waitPath = `/v1/sessions/${view.id}/wait?state=completed&timeout=60s`;
      // Two callers wait for an end that will not come within the test.
      const open = hangUps.map((c) =>
        fetch(`${bounded.url}${waitPath}`, { headers: { authorization: `Bearer ${TOKENS.alice}` }, signal: c.signal }).catch(
          (error: Error) => error,
        ),
      );
      // Both are being served once a third is refused.
      const full = await eventually(async () => {
        const third = await bounded.call('GET', `/v1/sessions/${view.id}/wait?state=completed&timeout=1s`);
        return third.status === 429 ? third : undefined;
      });
      expectError(full, 429, { code: 'too_many_waits' });
      expect(full.headers.get('retry-after')).toBe('3');

      // One caller hangs up: its wait ends on the server, and the next wait is served (200 after its 1 s timeout).
      hangUps[0]!.abort();
      expect(await open[0]).toMatchObject({ name: 'AbortError' });
      const served = await eventually(async () => {
        const next = await bounded.call<SessionView>('GET', `/v1/sessions/${view.id}/wait?state=completed&timeout=1s`);
        return next.status === 200 ? next : undefined;
      });
      expect(served.body).toMatchObject({ id: view.id, state: 'awaitingPlanApproval' });
      // Still one slot taken by the other caller, one free: a wait that ends frees its slot too.
      const again = await bounded.call('GET', `/v1/sessions/${view.id}/wait?state=awaitingPlanApproval&timeout=1s`);
      expect(again.status).toBe(200);
      await api.call('POST', `/v1/sessions/${view.id}/cancel`, { body: { reason: 'done testing' } });
      expect((await open[1]) as Response).toMatchObject({ status: 200 });
    } finally {
      for (const c of hangUps) c.abort();
      await bounded.close();
    }
  });
});

/** Polls `probe` until it gives a value (10 s at most). */
async function eventually<T>(probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('404, 409 and 413', () => {
  it('404 for an unknown session and an unknown route', async () => {
    expectError(await api.call('GET', '/v1/sessions/no-such-session'), 404, { code: 'not_found' });
    expectError(await api.call('POST', '/v1/sessions/no-such-session/approve'), 404, { code: 'not_found' });
    expectError(await api.call('POST', '/v1/sessions/no-such-session/messages', { body: { message: 'hi' } }), 404, { code: 'not_found' });
    expectError(await api.call('GET', '/v1/nothing-here'), 404, { code: 'not_found' });
  });

  it('409 with the state when nothing awaits approval', async () => {
    const created = await api.call<SessionView>('POST', '/v1/sessions', {
      body: { prompt: 'no approval', requirePlanApproval: false, followUpWindow: '1m' },
    });
    const done = await api.call<SessionView>('GET', `/v1/sessions/${created.body.id}/wait?state=completed&timeout=20s`);
    expect(done.body.state).toBe('completed');
    expectError(await api.call('POST', `/v1/sessions/${created.body.id}/approve`), 409, { code: 'invalid_state', state: 'completed' });
    expectError(await api.call('POST', `/v1/sessions/${created.body.id}/resume`), 409, { code: 'invalid_state', state: 'completed' });
  });

  it('409 with the state and the current plan for a stale plan; the refusal is recorded and nothing else changes', async () => {
    const view = await awaitingSession();
    const response = await api.call('POST', `/v1/sessions/${view.id}/approve`, { body: { planId: 'plan-9' } });
    expectError(response, 409, { code: 'stale_plan', state: 'awaitingPlanApproval', currentPlanId: 'plan-1' });
    const after = await api.call<SessionView>('GET', `/v1/sessions/${view.id}`);
    // The one new event is the refused attempt, with the caller's identity.
    expect(after.body).toMatchObject({ state: 'awaitingPlanApproval', lastSeq: view.lastSeq + 1 });
    const events = await api.call<{ events: Array<Record<string, unknown>> }>(
      'GET',
      `/v1/sessions/${view.id}/timeline?after=${view.lastSeq}`,
    );
    expect(events.body.events).toEqual([
      expect.objectContaining({ type: 'approvalRefused', decision: 'approve', planId: 'plan-9', by: 'api:alice', code: 'StalePlan' }),
    ]);
    await api.call('POST', `/v1/sessions/${view.id}/cancel`, { body: { reason: 'done testing' } });
  });

  it('413 for a body over the limit', async () => {
    const response = await api.call('POST', '/v1/sessions', { body: { prompt: 'x'.repeat(4_000) } });
    expectError(response, 413, { code: 'payload_too_large' });
  });
});

describe('401 and 403', () => {
  it('401 with WWW-Authenticate for a missing or unknown token, before anything else', async () => {
    const missing = await api.call('POST', '/v1/sessions', { as: null, body: { prompt: 'x' } });
    expectError(missing, 401, { code: 'unauthorized' });
    expect(missing.headers.get('www-authenticate')).toMatch(/^Bearer realm="andon"/);

    const wrong = await fetch(`${api.url}/v1/sessions`, { headers: { authorization: 'Bearer not-a-real-token-at-all' } });
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toContain('error="invalid_token"');

    const basic = await fetch(`${api.url}/v1/sessions/x`, { headers: { authorization: 'Basic YWxpY2U6c2VjcmV0' } });
    expect(basic.status).toBe(401);
    // Credentials are checked before the body is read: a bad body still gets 401.
    expectError(await api.call('POST', '/v1/sessions', { as: null, body: '{oops' }), 401, { code: 'unauthorized' });
  });

  it('403 naming the missing scope', async () => {
    const view = await awaitingSession();
    const cases: Array<[Parameters<TestService['call']>[2], string, string, string]> = [
      [{ as: 'reader', body: { prompt: 'x' } }, 'POST', '/v1/sessions', 'write'],
      [{ as: 'reader' }, 'POST', `/v1/sessions/${view.id}/approve`, 'approve'],
      [{ as: 'writer' }, 'POST', `/v1/sessions/${view.id}/approve`, 'approve'],
      [{ as: 'writer', body: { reason: 'no' } }, 'POST', `/v1/sessions/${view.id}/reject`, 'approve'],
      [{ as: 'approver', body: { message: 'hi' } }, 'POST', `/v1/sessions/${view.id}/messages`, 'write'],
      [{ as: 'approver', body: { reason: 'no' } }, 'POST', `/v1/sessions/${view.id}/cancel`, 'write'],
    ];
    for (const [options, method, path, scope] of cases) {
      const response = await api.call(method, path, options);
      expectError(response, 403, { code: 'forbidden' });
      expect(response.body.error.message).toContain(`"${scope}"`);
    }
    expect((await api.call<SessionView>('GET', `/v1/sessions/${view.id}`)).body.state).toBe('awaitingPlanApproval');
    await api.call('POST', `/v1/sessions/${view.id}/cancel`, { body: { reason: 'done testing' } });
  });
});

describe('403 not_allowed: the approval policy refuses the caller', () => {
  it('names why, carries the state, and records the refused attempt', async () => {
    // The service's configured policy: only the approver token may decide, and not on its own sessions.
    const andon = new Andon({
      client: h.client,
      taskQueue: h.taskQueue,
      identity: 'test:policy',
      defaults: { followUpWindowMs: 0, approval: { approvers: ['api:approver'], allowRequester: false } },
    });
    const service = await startService(andon);
    try {
      const created = await service.call<SessionView>('POST', '/v1/sessions', { body: { prompt: 'policy errors test' } });
      expect(created.status).toBe(201);
      const waited = await service.call<SessionView>('GET', `/v1/sessions/${created.body.id}/wait?state=awaitingPlanApproval&timeout=20s`);
      expect(waited.body).toMatchObject({ state: 'awaitingPlanApproval', requestedBy: 'api:alice' });

      const refused = await service.call('POST', `/v1/sessions/${created.body.id}/approve`);
      expectError(refused, 403, { code: 'not_allowed', state: 'awaitingPlanApproval' });
      expect(refused.body.error.message).toContain('api:alice is not an approver');
      const rejected = await service.call('POST', `/v1/sessions/${created.body.id}/reject`, { body: { reason: 'no' } });
      expectError(rejected, 403, { code: 'not_allowed', state: 'awaitingPlanApproval' });

      const events = await service.call<{ events: Array<Record<string, unknown>> }>(
        'GET',
        `/v1/sessions/${created.body.id}/timeline?after=${waited.body.lastSeq}`,
      );
      expect(events.body.events).toEqual([
        expect.objectContaining({
          type: 'approvalRefused',
          decision: 'approve',
          by: 'api:alice',
          code: 'NotAllowed',
          reason: refused.body.error.message,
        }),
        expect.objectContaining({ type: 'approvalRefused', decision: 'reject', by: 'api:alice', code: 'NotAllowed' }),
      ]);

      const approved = await service.call<SessionView>('POST', `/v1/sessions/${created.body.id}/approve`, { as: 'approver' });
      expect(approved.status).toBe(200);
      expect(approved.body.state).toBe('inProgress');
    } finally {
      await service.close();
    }
  });
});

describe('503 with Retry-After, within a bounded time', () => {
  it('when no worker polls the task queue', async () => {
    const idle = await startHarness({ worker: false });
    const service = await startService(idle.andon, { requestTimeout: '1s' });
    try {
      const id = `no-worker-${Date.now()}`;
      const started = Date.now();
      const created = await service.call('POST', '/v1/sessions', { body: { id, prompt: 'nobody home' } });
      expectError(created, 503, { code: 'unavailable' });
      expect(created.headers.get('retry-after')).toBe('5');
      for (const [method, path] of [
        ['GET', `/v1/sessions/${id}`],
        ['POST', `/v1/sessions/${id}/approve`],
      ] as const) {
        const response = await service.call(method, path);
        expectError(response, 503, { code: 'unavailable' });
        expect(response.headers.get('retry-after')).toBe('5');
      }
      expect(Date.now() - started).toBeLessThan(8_000);
      // Durably created all the same: a worker that comes later picks the session up.
      await idle.startWorker(quickScript());
      const waited = await service.call<SessionView>('GET', `/v1/sessions/${id}/wait?state=awaitingPlanApproval&timeout=20s`);
      expect(waited.body.state).toBe('awaitingPlanApproval');
      await service.call('POST', `/v1/sessions/${id}/cancel`, { body: { reason: 'done testing' } });
    } finally {
      await service.close();
      await idle.close();
    }
  });

  it('when Temporal is unreachable, even while the client keeps retrying', async () => {
    // The SDK retries UNAVAILABLE in the background and does not stop when its call is aborted;
    // these retries outlast the service's deadline (so the deadline is what answers) but end
    // soon after, so closing the connection afterwards leaves no retry timer behind.
    const RETRY_FOR_MS = 2_500;
    const connection = Connection.lazy({
      address: `127.0.0.1:${await freePort()}`,
      interceptors: [makeGrpcRetryInterceptor({ delayFunction: () => 100, retryableDecider: (attempt) => attempt * 100 < RETRY_FOR_MS })],
    });
    const andon = new Andon({ client: new Client({ connection }), taskQueue: 'nowhere' });
    const service = await startService(andon, { requestTimeout: '1s' });
    const started = Date.now();
    try {
      const calls = [
        ['GET', '/v1/sessions', undefined],
        ['POST', '/v1/sessions', { prompt: 'x' }],
        ['GET', '/v1/sessions/some-id', undefined],
        ['POST', '/v1/sessions/some-id/cancel', { reason: 'x' }],
      ] as const;
      const responses = await Promise.all(calls.map(([method, path, body]) => service.call(method, path, { body })));
      expect(Date.now() - started).toBeLessThan(2_000);
      for (const response of responses) {
        expectError(response, 503, { code: 'unavailable' });
        expect(response.headers.get('retry-after')).toBe('5');
      }
    } finally {
      await service.close();
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, started + RETRY_FOR_MS + 1_000 - Date.now())));
      await connection.close();
    }
  });
});

describe('500', () => {
  it('answers an unexpected failure with a generic message and no details', async () => {
    const broken = Object.create(h.andon) as Andon;
    broken.session = (() => {
      throw new Error('secret internal detail');
    }) as Andon['session'];
    const service = await startService(broken);
    try {
      const response = await service.call('GET', '/v1/sessions/some-id');
      expectError(response, 500, { code: 'internal' });
      expect(JSON.stringify(response.body)).not.toContain('secret internal detail');
    } finally {
      await service.close();
    }
  });
});
