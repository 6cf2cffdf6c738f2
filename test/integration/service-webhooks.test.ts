/**
 * The alert receivers over real HTTP on loopback, against the suite's dev server: a fastify app
 * with only the webhooks plugin, each vendor's documented payloads (test/fixtures/alerts), and
 * the question that matters: one session per incident, whatever the sender re-delivers.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Connection, Client, WorkflowNotFoundError } from '@temporalio/client';
import Fastify, { type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import { Andon, InvalidStateError } from '../../src/client';
import { alertSessionId, legacyAlertSessionId } from '../../src/client/andon';
import type { SessionView, TimelineEvent } from '../../src/session/schema';
import { HttpError } from '../../src/protocol/http-errors';
import { webhooksConfigSchema, webhooksPlugin, type WebhooksConfigInput } from '../../src/service/webhooks';
import type { ReceiverName } from '../../src/service/webhooks/config';
import { WEBHOOK_LIMITS } from '../../src/service/webhooks/limits';
import { markerId } from '../../src/service/webhooks/replay';
import { quickScript, startHarness, type Harness } from '../support/harness';

const FIXTURES = path.resolve(__dirname, '../fixtures/alerts');
const T = { timeoutMs: 20_000 };

const SECRETS = {
  alertmanagerToken: 'am-token-0123456789abcdef',
  grafana: { user: 'grafana', password: 'gr-pass-0123456789' },
  pagerdutySecret: 'pd-signing-secret-0123456789abcdef',
  datadog: { user: 'datadog', password: 'dd-pass-0123456789' },
  genericToken: 'generic-token-0123456789abcdef',
};

const CONFIG: WebhooksConfigInput = {
  alertmanager: { token: SECRETS.alertmanagerToken },
  grafana: SECRETS.grafana,
  pagerduty: { secret: SECRETS.pagerdutySecret },
  datadog: SECRETS.datadog,
  generic: { token: SECRETS.genericToken },
  routes: [
    {
      // The ledger service lives in acme/ledger: its alerts start code sessions on that repository.
      name: 'ledger-code',
      match: { labels: { service: 'ledger' } },
      prompt: 'Ledger alert "{summary}": find the cause in the code and fix it.',
      source: { github: 'acme/ledger', branch: 'main' },
      publish: { mode: 'pullRequest', approveChanges: true },
    },
    {
      name: 'low-severity',
      match: { labels: { severity: ['low', 'info'] } },
      prompt: 'Low-severity alert "{summary}" on {labels.service}: look, fix, report.',
      requirePlanApproval: false,
    },
    {
      name: 'checkout-critical',
      match: { labels: { service: 'checkout-api', severity: 'critical' } },
      prompt: 'Checkout is failing: {summary}. Runbook: {annotations.runbook_url}',
      title: 'checkout-api: {summary}',
      context: { team: 'payments' },
    },
  ],
};

// ---------------------------------------------------------------------------------------------
// How each vendor's fixtures are named, where its incident identity sits, how it authenticates

type Payload = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- vendor payloads, edited by path

interface Vendor {
  name: ReceiverName;
  files: { firing: string; refired: string; resolved: string; grouped?: string };
  /** Gives every alert in the payload a fresh identity: `incident`, then `incident-1`, ... */
  identify(payload: Payload, incident: string): void;
  headers(): Record<string, string>;
  wrongHeaders(): Record<string, string>;
  /** A payload the vendor's schema refuses, and the field the 400 must name. */
  broken(payload: Payload): string;
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });
const eachAlert = (payload: Payload, incident: string) =>
  (payload.alerts as Payload[]).forEach((alert, i) => (alert.fingerprint = i === 0 ? incident : `${incident}-${i}`));

const VENDORS: Vendor[] = [
  {
    name: 'alertmanager',
    files: { firing: 'firing', refired: 'refired', resolved: 'resolved', grouped: 'grouped' },
    identify: eachAlert,
    headers: () => bearer(SECRETS.alertmanagerToken),
    wrongHeaders: () => bearer('not-the-token'),
    broken(payload) {
      payload.alerts[0].status = 'burning';
      return 'alerts.0.status';
    },
  },
  {
    name: 'grafana',
    files: { firing: 'firing', refired: 'refired', resolved: 'resolved', grouped: 'grouped' },
    identify: eachAlert,
    headers: () => basic(SECRETS.grafana.user, SECRETS.grafana.password),
    wrongHeaders: () => basic(SECRETS.grafana.user, 'wrong-password'),
    broken(payload) {
      payload.alerts[0].labels = 'service=checkout-api';
      return 'alerts.0.labels';
    },
  },
  {
    name: 'pagerduty',
    files: { firing: 'triggered', refired: 'reopened', resolved: 'resolved' },
    identify: (payload, incident) => (payload.event.data.id = incident),
    headers: () => ({}), // signed per body in post()
    wrongHeaders: () => ({ 'x-pagerduty-signature': `v1=${'0'.repeat(64)}` }),
    broken(payload) {
      delete payload.event.data.id;
      return 'event.data.id';
    },
  },
  {
    name: 'datadog',
    files: { firing: 'triggered', refired: 'retriggered', resolved: 'recovered' },
    identify: (payload, incident) => (payload.aggregate = incident),
    headers: () => basic(SECRETS.datadog.user, SECRETS.datadog.password),
    wrongHeaders: () => basic('someone', SECRETS.datadog.password),
    broken(payload) {
      delete payload.transition;
      return 'transition';
    },
  },
  {
    name: 'generic',
    files: { firing: 'firing', refired: 'refired', resolved: 'resolved', grouped: 'grouped' },
    identify: (payload, incident) => {
      if (Array.isArray(payload)) payload.forEach((alert, i) => (alert.fingerprint = i === 0 ? incident : `${incident}-${i}`));
      else payload.fingerprint = incident;
    },
    headers: () => bearer(SECRETS.genericToken),
    wrongHeaders: () => bearer(SECRETS.alertmanagerToken),
    broken(payload) {
      delete payload.summary;
      return 'summary';
    },
  },
];

function fixture(vendor: ReceiverName, file: string, incident?: string): Payload {
  const payload = JSON.parse(readFileSync(path.join(FIXTURES, vendor, `${file}.json`), 'utf8')) as Payload;
  if (incident) VENDORS.find((v) => v.name === vendor)!.identify(payload, incident);
  // A PagerDuty event is its own delivery: a fresh id and time, or it is a replay (stale or seen).
  if (vendor === 'pagerduty') Object.assign(payload.event as Payload, { id: randomUUID(), occurred_at: new Date().toISOString() });
  return payload;
}

let seq = 0;
const incidentId = (label: string) => `${label}-${Date.now().toString(36)}-${seq++}`;

// ---------------------------------------------------------------------------------------------
// The app under test

let h: Harness;
let app: FastifyInstance;
let base: string;

/** What the core's error handler does for HttpError and fastify's client errors. */
function minimalErrors(instance: FastifyInstance): void {
  instance.setErrorHandler((error, _request, reply) => {
    if (error instanceof HttpError) return reply.code(error.statusCode).headers(error.headers).send(error.body());
    const status = (error as { statusCode?: number }).statusCode;
    if (status && status < 500) return reply.code(status).send({ error: { code: 'bad_request', message: (error as Error).message } });
    return reply.code(500).send({ error: { code: 'internal', message: 'internal error' } });
  });
}

async function listen(andon: Andon, config: WebhooksConfigInput): Promise<{ app: FastifyInstance; base: string }> {
  const instance = Fastify({ bodyLimit: 256 * 1024 });
  instance.setValidatorCompiler(validatorCompiler);
  instance.setSerializerCompiler(serializerCompiler);
  minimalErrors(instance);
  await instance.register(webhooksPlugin, { andon, config: webhooksConfigSchema({}).parse(config) });
  await instance.listen({ port: 0, host: '127.0.0.1' });
  const address = instance.server.address();
  if (!address || typeof address === 'string') throw new Error('no TCP address');
  return { app: instance, base: `http://127.0.0.1:${address.port}` };
}

beforeAll(async () => {
  h = await startHarness({ agent: quickScript() });
  ({ app, base } = await listen(h.andon, CONFIG));
});
afterAll(async () => {
  await app?.close();
  await h?.close();
});

interface Answer {
  status: number;
  headers: Headers;
  body: {
    sessions?: { id: string; fingerprint: string; status: string; delivered: boolean; route: string }[];
    error?: { code: string; message: string; field?: string };
  };
}

async function post(
  vendor: ReceiverName,
  payload: unknown,
  options: { headers?: Record<string, string>; raw?: string; to?: string } = {},
): Promise<Answer> {
  const body = options.raw ?? JSON.stringify(payload);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    ...(options.headers ?? VENDORS.find((v) => v.name === vendor)!.headers()),
  };
  if (vendor === 'pagerduty' && !options.headers) headers['x-pagerduty-signature'] = sign(body);
  const response = await fetch(`${options.to ?? base}/v1/webhooks/${vendor}`, { method: 'POST', headers, body });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : {} };
}

function sign(body: string, secret = SECRETS.pagerdutySecret): string {
  return `v1=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** The session's workflow runs. Visibility lags a little behind, so wait for the first. */
async function runs(sessionId: string): Promise<string[]> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const ids: string[] = [];
    for await (const execution of h.client.workflow.list({ query: `WorkflowId = '${sessionId}'` })) ids.push(execution.runId);
    if (ids.length > 0 || Date.now() > deadline) return ids;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function exists(sessionId: string): Promise<boolean> {
  try {
    await h.client.workflow.getHandle(sessionId).describe();
    return true;
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return false;
    throw error;
  }
}

/** Signals delivered with signal-with-start are applied by the next workflow task: wait for the count. */
async function deliveries(sessionId: string, count: number): Promise<SessionView> {
  const deadline = Date.now() + T.timeoutMs;
  for (;;) {
    const view = await h.andon.session(sessionId).info();
    if ((view.alert?.deliveries ?? 0) >= count || Date.now() > deadline) return view;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const alertEvents = (events: TimelineEvent[]) =>
  events.filter((e): e is Extract<TimelineEvent, { type: 'alertReceived' }> => e.type === 'alertReceived');

// ---------------------------------------------------------------------------------------------

describe.each(VENDORS)('$name receiver', (vendor) => {
  it('a firing notification creates the incident session', async () => {
    const incident = incidentId(`${vendor.name}-fire`);
    const answer = await post(vendor.name, fixture(vendor.name, vendor.files.firing, incident));
    expect(answer.status).toBe(202);
    const id = alertSessionId(vendor.name, incident);
    expect(answer.body.sessions).toEqual([expect.objectContaining({ id, fingerprint: incident, status: 'firing', delivered: true })]);

    const session = h.andon.session(id);
    const view = await session.waitFor('awaitingPlanApproval', T);
    expect(view.alert).toMatchObject({ source: vendor.name, fingerprint: incident, status: 'firing', deliveries: 1 });
    expect(view.requestedBy).toBe(`webhook:${vendor.name}`);
    expect(Object.keys(view.context).length).toBeGreaterThan(0);
    const { events } = await session.timeline();
    expect(events[0]?.type).toBe('sessionCreated');
    expect(alertEvents(events)).toEqual([
      expect.objectContaining({ source: vendor.name, fingerprint: incident, status: 'firing', by: `webhook:${vendor.name}` }),
    ]);
    await session.cancel('test done');
  });

  it('duplicate and re-fired notifications fold into the same session', async () => {
    const incident = incidentId(`${vendor.name}-fold`);
    const id = alertSessionId(vendor.name, incident);
    for (const file of [vendor.files.firing, vendor.files.firing, vendor.files.refired]) {
      const answer = await post(vendor.name, fixture(vendor.name, file, incident));
      expect(answer.status).toBe(202);
      expect(answer.body.sessions?.map((s) => s.id)).toEqual([id]);
    }
    expect(await runs(id)).toHaveLength(1);
    const view = await deliveries(id, 3);
    expect(view.alert).toMatchObject({ status: 'firing', deliveries: 3 });
    const { events } = await h.andon.session(id).timeline();
    expect(alertEvents(events)).toHaveLength(3);
    await h.andon.session(id).cancel('test done');
  });

  it('exactly one session under 10 concurrent duplicate deliveries', async () => {
    const incident = incidentId(`${vendor.name}-dup`);
    const id = alertSessionId(vendor.name, incident);
    const payload = fixture(vendor.name, vendor.files.firing, incident);
    const answers = await Promise.all(Array.from({ length: 10 }, () => post(vendor.name, payload)));
    expect(answers.map((a) => a.status)).toEqual(Array(10).fill(202));
    expect(new Set(answers.map((a) => a.body.sessions?.[0]?.id))).toEqual(new Set([id]));
    expect(await runs(id)).toHaveLength(1);
    expect((await deliveries(id, 10)).alert?.deliveries).toBe(10);
    await h.andon.session(id).cancel('test done');
  });

  it('a resolve cancels the session while its plan awaits approval', async () => {
    const incident = incidentId(`${vendor.name}-resolve`);
    const id = alertSessionId(vendor.name, incident);
    expect((await post(vendor.name, fixture(vendor.name, vendor.files.firing, incident))).status).toBe(202);
    await h.andon.session(id).waitFor('awaitingPlanApproval', T);

    const answer = await post(vendor.name, fixture(vendor.name, vendor.files.resolved, incident));
    expect(answer.status).toBe(202);
    expect(answer.body.sessions).toEqual([expect.objectContaining({ id, status: 'resolved', delivered: true })]);
    const view = await h.andon.session(id).waitFor('cancelled', T);
    expect(view.reason).toMatch(/the alert resolved before the plan was carried out/);
    expect(view.alert).toMatchObject({ status: 'resolved', deliveries: 2 });

    // Senders re-deliver resolves too: one for an ended session must not start a new run.
    const { runId } = await h.client.workflow.getHandle(id).describe();
    expect((await post(vendor.name, fixture(vendor.name, vendor.files.resolved, incident))).status).toBe(202);
    expect((await h.client.workflow.getHandle(id).describe()).runId).toBe(runId);
    expect(await runs(id)).toHaveLength(1);
  });

  it('a resolve for an incident with no session starts none', async () => {
    const incident = incidentId(`${vendor.name}-stray`);
    const answer = await post(vendor.name, fixture(vendor.name, vendor.files.resolved, incident));
    expect(answer.status).toBe(202);
    expect(answer.body.sessions).toEqual([expect.objectContaining({ status: 'resolved', delivered: false })]);
    expect(await exists(alertSessionId(vendor.name, incident))).toBe(false);
  });

  it('wrong or missing credentials: 401 and no session', async () => {
    const incident = incidentId(`${vendor.name}-auth`);
    const payload = fixture(vendor.name, vendor.files.firing, incident);
    const wrong = await post(vendor.name, payload, { headers: vendor.wrongHeaders() });
    expect(wrong.status).toBe(401);
    expect(wrong.body.error?.code).toBe('unauthorized');
    expect(wrong.headers.get('www-authenticate')).toBeTruthy();
    const missing = await post(vendor.name, payload, { headers: {} });
    expect(missing.status).toBe(401);
    expect(await exists(alertSessionId(vendor.name, incident))).toBe(false);
  });

  it('a payload that does not match the vendor schema: 400 naming the field, no session', async () => {
    const incident = incidentId(`${vendor.name}-bad`);
    const payload = fixture(vendor.name, vendor.files.firing, incident);
    const field = vendor.broken(payload);
    const answer = await post(vendor.name, payload);
    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatchObject({ code: 'invalid_argument', field });
    expect(answer.body.error?.message).toContain(field);
    expect(await exists(alertSessionId(vendor.name, incident))).toBe(false);
  });

  if (vendor.files.grouped) {
    const grouped = vendor.files.grouped;
    it('a grouped payload reaches one session per alert', async () => {
      const incident = incidentId(`${vendor.name}-group`);
      const answer = await post(vendor.name, fixture(vendor.name, grouped, incident));
      expect(answer.status).toBe(202);
      const ids = [alertSessionId(vendor.name, incident), alertSessionId(vendor.name, `${incident}-1`)];
      expect(answer.body.sessions?.map((s) => s.id)).toEqual(ids);
      for (const id of ids) {
        const view = await h.andon.session(id).waitFor('awaitingPlanApproval', T);
        expect(view.alert).toMatchObject({ source: vendor.name, status: 'firing', deliveries: 1 });
        await h.andon.session(id).cancel('test done');
      }
    });
  }
});

describe('PagerDuty signatures', () => {
  it('a bad signature is refused with 401 and a good one accepted', async () => {
    const incident = incidentId('pd-sig');
    const body = JSON.stringify(fixture('pagerduty', 'triggered', incident));
    const headers = (signature: string) => ({ 'content-type': 'application/json', 'x-pagerduty-signature': signature });

    expect((await post('pagerduty', undefined, { raw: body, headers: headers(sign(body, 'another-secret')) })).status).toBe(401);
    // Signed over other bytes: the same JSON, re-serialised with different spacing.
    expect(
      (await post('pagerduty', undefined, { raw: JSON.stringify(JSON.parse(body), null, 2), headers: headers(sign(body)) })).status,
    ).toBe(401);
    expect(await exists(alertSessionId('pagerduty', incident))).toBe(false);

    // While a secret is rotated PagerDuty sends one signature per secret.
    const answer = await post('pagerduty', undefined, { raw: body, headers: headers(`${sign(body, 'old-secret')}, ${sign(body)}`) });
    expect(answer.status).toBe(202);
    await h.andon.session(alertSessionId('pagerduty', incident)).cancel('test done');
  });

  it('answers a ping, and events that do not change the incident, without a session', async () => {
    const ping = await post('pagerduty', fixture('pagerduty', 'ping'));
    expect(ping).toMatchObject({ status: 202, body: { sessions: [] } });
    const annotated = fixture('pagerduty', 'triggered', incidentId('pd-note'));
    annotated.event.event_type = 'incident.annotated';
    expect(await post('pagerduty', annotated)).toMatchObject({ status: 202, body: { sessions: [] } });
    expect(await exists(alertSessionId('pagerduty', annotated.event.data.id))).toBe(false);
  });

  it('an acknowledgement folds into the incident session', async () => {
    const incident = incidentId('pd-ack');
    const id = alertSessionId('pagerduty', incident);
    expect((await post('pagerduty', fixture('pagerduty', 'triggered', incident))).status).toBe(202);
    expect((await post('pagerduty', fixture('pagerduty', 'acknowledged', incident))).status).toBe(202);
    const { events } = await h.andon.session(id).timeline();
    expect(alertEvents(events).map((e) => e.labels.event_type)).toEqual(['incident.triggered', 'incident.acknowledged']);
    expect(await runs(id)).toHaveLength(1);
    await h.andon.session(id).cancel('test done');
  });
});

describe('routing', () => {
  it('a matching route sets prompt, title and context', async () => {
    const incident = incidentId('route-critical');
    const answer = await post('alertmanager', fixture('alertmanager', 'firing', incident));
    expect(answer.body.sessions?.[0]?.route).toBe('checkout-critical');
    const view = await h.andon.session(alertSessionId('alertmanager', incident)).waitFor('awaitingPlanApproval', T);
    expect(view.prompt).toBe('Checkout is failing: checkout-api 5xx above 5%. Runbook: https://runbooks.example.com/checkout-api/5xx');
    expect(view.title).toBe('checkout-api: checkout-api 5xx above 5%');
    expect(view.context).toMatchObject({
      service: 'checkout-api',
      severity: 'critical',
      alertname: 'CheckoutHighErrorRate',
      team: 'payments',
    });
    expect(view.requirePlanApproval).toBe(true);
    await h.andon.session(view.id).cancel('test done');
  });

  it('a low-severity route without plan approval runs to completion', async () => {
    const incident = incidentId('route-low');
    const payload = {
      ...fixture('generic', 'firing', incident),
      labels: { service: 'search', severity: 'low' },
      summary: 'search p95 slightly up',
    };
    const answer = await post('generic', payload);
    expect(answer.body.sessions?.[0]?.route).toBe('low-severity');
    const session = h.andon.session(alertSessionId('generic', incident));
    const outcome = await session.result(T);
    expect(outcome.summary).toBe('done: Low-severity alert "search p95 slightly up" on search: look, fix, report.');
    expect((await session.info()).requirePlanApproval).toBe(false);
  });

  it("a route naming a repository starts a code session on it, with the route's publish policy", async () => {
    const incident = incidentId('route-code');
    const payload = {
      ...fixture('generic', 'firing', incident),
      labels: { service: 'ledger', severity: 'critical' },
      summary: 'ledger drift',
    };
    const answer = await post('generic', payload);
    expect(answer.body.sessions?.[0]?.route).toBe('ledger-code');
    const id = alertSessionId('generic', incident);
    const history = await h.client.workflow.getHandle(id).fetchHistory();
    const data = history.events?.[0]?.workflowExecutionStartedEventAttributes?.input?.payloads?.[0]?.data;
    const { config } = JSON.parse(Buffer.from(data ?? new Uint8Array()).toString('utf8')) as { config: Record<string, unknown> };
    expect(config).toMatchObject({
      prompt: 'Ledger alert "ledger drift": find the cause in the code and fix it.',
      source: { github: 'acme/ledger', branch: 'main' },
      publish: { mode: 'pullRequest', approveChanges: true, draft: false },
    });
    // A worker that runs code sessions may have failed it already (not a source it may use).
    await h.andon
      .session(id)
      .cancel('test done')
      .catch((error: unknown) => {
        if (!InvalidStateError.isInstance(error)) throw error;
      });
  });

  it('an alert no route matches gets the default prompt', async () => {
    const incident = incidentId('route-default');
    const answer = await post('generic', fixture('generic', 'firing', incident));
    expect(answer.body.sessions?.[0]?.route).toBe('default');
    const view = await h.andon.session(alertSessionId('generic', incident)).waitFor('awaitingPlanApproval', T);
    expect(view.prompt).toBe(
      'Investigate the alert "disk 95% full on db-7" from generic. Labels: host=db-7, service=db, severity=critical',
    );
    expect(view.title).toBe('disk 95% full on db-7');
    await h.andon.session(view.id).cancel('test done');
  });
});

describe('requests the receivers refuse', () => {
  it('malformed JSON: 400', async () => {
    const answer = await post('generic', undefined, { raw: '{"fingerprint": ' });
    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatchObject({ code: 'invalid_argument', field: '(body)' });
  });

  it('authentication comes before reading the payload', async () => {
    expect((await post('generic', undefined, { raw: 'not json', headers: { 'content-type': 'application/json' } })).status).toBe(401);
    expect((await post('pagerduty', undefined, { raw: 'not json', headers: { 'content-type': 'application/json' } })).status).toBe(401);
  });

  it('a receiver with no credentials configured refuses everything (503), unless explicitly opened', async () => {
    const other = await listen(h.andon, { generic: { allowUnauthenticated: true }, datadog: { enabled: false } });
    try {
      const closed = await post('alertmanager', fixture('alertmanager', 'firing', incidentId('unconfigured')), {
        to: other.base,
        headers: {},
      });
      expect(closed.status).toBe(503);
      expect(closed.body.error?.code).toBe('webhook_not_configured');
      expect(closed.body.error?.message).toContain('ANDON_WEBHOOK_ALERTMANAGER_TOKEN');
      expect(closed.headers.get('retry-after')).toBeTruthy();
      const pd = await post('pagerduty', fixture('pagerduty', 'triggered', incidentId('unconfigured')), {
        to: other.base,
        headers: { 'x-pagerduty-signature': 'v1=00' },
      });
      expect(pd.status).toBe(503);
      expect((await post('datadog', fixture('datadog', 'triggered'), { to: other.base, headers: {} })).status).toBe(404);

      const incident = incidentId('open');
      const open = await post('generic', fixture('generic', 'firing', incident), { to: other.base, headers: {} });
      expect(open.status).toBe(202);
      await h.andon.session(alertSessionId('generic', incident)).cancel('test done');
    } finally {
      await other.app.close();
    }
  });

  it('Temporal unreachable: 503 with Retry-After, within the delivery timeout', async () => {
    // Nothing listens on port 1: every call retries until the receiver's deadline answers for it.
    const connection = Connection.lazy({ address: '127.0.0.1:1' });
    const andon = new Andon({ client: new Client({ connection, namespace: 'default' }), taskQueue: h.taskQueue });
    const other = await listen(andon, { ...CONFIG, deliveryTimeout: 1_500, retryAfterSeconds: 7 });
    try {
      const started = Date.now();
      const answer = await post('generic', fixture('generic', 'firing', incidentId('down')), { to: other.base });
      expect(answer.status).toBe(503);
      expect(answer.headers.get('retry-after')).toBe('7');
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      await other.app.close();
      // Not closed: grpc-js throws from a pending retry timer once its channel is shut down; the
      // lazy connection holds no socket, and the SDK's own 30 s deadline ends the retries.
      void connection;
    }
  });
});

describe('caps: 413 and 422, nothing delivered', () => {
  it('a service label over the search attribute limit: 422 naming the label, not 503 forever', async () => {
    const incident = incidentId('big-service');
    const payload = fixture('generic', 'firing', incident);
    payload.labels = { ...payload.labels, service: 's'.repeat(2_100) };
    const answer = await post('generic', payload);
    expect(answer.status).toBe(422);
    expect(answer.body.error).toMatchObject({ code: 'label_too_large', field: 'alerts.0.labels.service' });
    expect(await exists(alertSessionId('generic', incident))).toBe(false);
    // Multi-byte: under 2,000 characters, over 1,024 bytes.
    payload.labels.service = 'é'.repeat(600);
    expect((await post('generic', payload)).status).toBe(422);
  });

  it('too many alerts: 413; too many or too long labels: 422 naming the label', async () => {
    const many = Array.from({ length: WEBHOOK_LIMITS.alertsPerPayload + 1 }, (_, i) => ({
      fingerprint: `${incidentId('many')}-${i}`,
      status: 'firing',
      summary: 'x',
    }));
    const tooMany = await post('generic', many);
    expect(tooMany.status).toBe(413);
    expect(tooMany.body.error?.code).toBe('too_many_alerts');

    const base = fixture('generic', 'firing', incidentId('labels'));
    const labels = Object.fromEntries(Array.from({ length: WEBHOOK_LIMITS.labelsPerAlert + 1 }, (_, i) => [`l${i}`, 'v']));
    const wide = await post('generic', { ...base, labels });
    expect(wide.status).toBe(422);
    expect(wide.body.error?.field).toBe('alerts.0.labels');

    const long = await post('generic', { ...base, labels: { note: 'v'.repeat(WEBHOOK_LIMITS.labelValueChars + 1) } });
    expect(long.status).toBe(422);
    expect(long.body.error?.field).toBe('alerts.0.labels.note');
    const name = await post('generic', { ...base, labels: { ['k'.repeat(WEBHOOK_LIMITS.labelNameChars + 1)]: 'v' } });
    expect(name.status).toBe(422);
    expect(await exists(alertSessionId('generic', base.fingerprint as string))).toBe(false);
  });

  it("a body over the receivers' limit: 413", async () => {
    const answer = await post('generic', undefined, { raw: JSON.stringify({ pad: 'x'.repeat(WEBHOOK_LIMITS.bodyBytes) }) });
    expect(answer.status).toBe(413);
  });
});

describe('replay defence', () => {
  it('a stale signed PagerDuty triggered is refused with 422 and starts nothing', async () => {
    const incident = incidentId('pd-stale');
    const payload = fixture('pagerduty', 'triggered', incident);
    payload.event.occurred_at = new Date(Date.now() - 6 * 60_000).toISOString();
    const answer = await post('pagerduty', payload);
    expect(answer.status).toBe(422);
    expect(answer.body.error?.code).toBe('stale_delivery');
    expect(await exists(alertSessionId('pagerduty', incident))).toBe(false);
  });

  it('a captured signed triggered does not restart the closed session, even after a service restart', async () => {
    const incident = incidentId('pd-replay');
    const body = JSON.stringify(fixture('pagerduty', 'triggered', incident));
    const first = await post('pagerduty', undefined, { raw: body });
    expect(first.status).toBe(202);
    const id = alertSessionId('pagerduty', incident);
    await h.andon.session(id).waitFor('awaitingPlanApproval', T);
    await h.andon.session(id).cancel('closed by the on-call');
    const { runId } = await h.client.workflow.getHandle(id).describe();

    // Another service process (a restart, or a second replica) shares nothing with the first but Temporal.
    const other = await listen(h.andon, CONFIG);
    try {
      const replay = await post('pagerduty', undefined, { raw: body, to: other.base });
      expect(replay.status).toBe(200);
      expect(replay.body).toMatchObject({ sessions: [], duplicate: true });
    } finally {
      await other.app.close();
    }
    expect(await runs(id)).toHaveLength(1);
    expect((await h.client.workflow.getHandle(id).describe()).runId).toBe(runId);
  });

  it('Idempotency-Key: a delivery acted on once; a retry after a failure is not a replay', async () => {
    const incident = incidentId('idem');
    const headers = { ...bearer(SECRETS.genericToken), 'idempotency-key': `key-${incident}` };
    // A delivery that failed (503) left no marker: the sender's retry goes through.
    const unreachable = new Andon({
      client: new Client({ connection: Connection.lazy({ address: '127.0.0.1:1' }) }),
      taskQueue: h.taskQueue,
    });
    const down = await listen(unreachable, { ...CONFIG, deliveryTimeout: 500 });
    try {
      expect((await post('generic', fixture('generic', 'firing', incident), { headers, to: down.base })).status).toBe(503);
    } finally {
      await down.app.close();
    }
    const first = await post('generic', fixture('generic', 'firing', incident), { headers });
    expect(first.status).toBe(202);
    // The marker has closed (timed out) by now: its closed record still holds the id.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const marker = await h.client.workflow.getHandle(markerId('generic', `key-${incident}`)).describe();
    expect(marker.status.name).not.toBe('RUNNING');
    const again = await post('generic', fixture('generic', 'firing', incident), { headers });
    expect(again).toMatchObject({ status: 200, body: { duplicate: true } });
    const view = await deliveries(alertSessionId('generic', incident), 1);
    expect(view.alert?.deliveries).toBe(1);
    const bad = await post('generic', fixture('generic', 'firing', incident), {
      headers: { ...headers, 'idempotency-key': 'k'.repeat(300) },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error?.field).toBe('idempotency-key');
    await h.andon.session(view.id).cancel('test done');
  });
});

describe('session ids', () => {
  it('fingerprints the old scheme collided (db/7, db 7) get one session each', async () => {
    const stamp = incidentId('db');
    const a = await post('generic', { ...fixture('generic', 'firing'), fingerprint: `${stamp}/7` });
    const b = await post('generic', { ...fixture('generic', 'firing'), fingerprint: `${stamp} 7` });
    expect(a.status).toBe(202);
    expect(b.status).toBe(202);
    expect(a.body.sessions?.[0]?.id).not.toBe(b.body.sessions?.[0]?.id);
    for (const answer of [a, b]) await h.andon.session(answer.body.sessions![0]!.id).cancel('test done');
  });

  it('a running session started under the old id keeps receiving its incident', async () => {
    const incident = `${incidentId('legacy')}/x`;
    const legacy = legacyAlertSessionId('generic', incident);
    const payload = fixture('generic', 'firing', incident);
    await h.andon.alert(
      { ...(payload as { summary: string }), source: 'generic', fingerprint: incident, status: 'firing' },
      {
        prompt: 'old',
        id: legacy,
      },
    );
    const answer = await post('generic', payload);
    expect(answer.status).toBe(202);
    expect(answer.body.sessions?.[0]?.id).toBe(legacy);
    expect((await deliveries(legacy, 2)).alert?.deliveries).toBe(2);
    const resolved = await post('generic', fixture('generic', 'resolved', incident));
    expect(resolved.body.sessions?.[0]).toMatchObject({ id: legacy, delivered: true });
  });
});
