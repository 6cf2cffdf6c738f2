/**
 * The webhook receivers' pure parts, without a server: routing and templates, configuration and
 * its environment variables, each vendor's normalisation, credentials. (Kept beside the HTTP
 * tests so the receivers' tests live in one place.)
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { HttpError } from '../../src/protocol/http-errors';
import { firstIssue } from '../../src/protocol/issues';
import { checkAuthorization, safeEqual } from '../../src/service/webhooks/auth';
import { WEBHOOK_ENV, webhooksConfigSchema, type ReceiverName, type WebhooksConfigInput } from '../../src/service/webhooks/config';
import { toNotification } from '../../src/service/webhooks/notification';
import type { IncomingAlert } from '../../src/service/webhooks/receiver';
import { RECEIVERS } from '../../src/service/webhooks/receivers';
import { parseTags } from '../../src/service/webhooks/receivers/datadog';
import { matchRoute, routeAlert } from '../../src/service/webhooks/routing';
import { checkLimits, WEBHOOK_LIMITS } from '../../src/service/webhooks/limits';
import { checkFresh, deliveryId, markerId } from '../../src/service/webhooks/replay';
import { checkTemplate, renderTemplate } from '../../src/service/webhooks/template';
import { at } from '../support/at';

const FIXTURES = path.resolve(__dirname, '../fixtures/alerts');
const fixture = (vendor: string, file: string): unknown => JSON.parse(readFileSync(path.join(FIXTURES, vendor, `${file}.json`), 'utf8'));
const receiver = (name: ReceiverName) => RECEIVERS.find((r) => r.name === name)!;
const config = (input: WebhooksConfigInput = {}) => webhooksConfigSchema({}).parse(input);

function thrown(fn: () => unknown): HttpError {
  try {
    fn();
  } catch (error) {
    if (error instanceof HttpError) return error;
    throw error;
  }
  throw new Error('expected an HttpError');
}

const alert = (overrides: Partial<IncomingAlert> = {}): IncomingAlert => ({
  fingerprint: 'fp-1',
  status: 'firing',
  summary: 'checkout-api 5xx above 5%',
  labels: { service: 'checkout-api', severity: 'critical' },
  annotations: { runbook_url: 'https://runbooks.example.com/5xx' },
  ...overrides,
});

describe('routing', () => {
  const routes = config({
    routes: [
      { name: 'pd-only', match: { source: 'pagerduty' }, prompt: 'Page: {summary}' },
      {
        name: 'low',
        match: { labels: { severity: ['low', 'info'] } },
        prompt: 'Low: {summary}',
        requirePlanApproval: false,
        followUpWindow: '10m',
      },
      {
        match: { labels: { service: 'checkout-api', severity: 'critical' } },
        prompt: 'Checkout: {summary} ({labels.service}) {annotations.runbook_url}',
        title: '[{source}] {summary}',
        context: { runbook: '{annotations.runbook_url}' },
      },
    ],
  });

  it('takes the first route whose conditions all hold', () => {
    expect(matchRoute(routes.routes, 'alertmanager', { service: 'checkout-api', severity: 'critical' })?.index).toBe(2);
    expect(matchRoute(routes.routes, 'alertmanager', { service: 'checkout-api', severity: 'info' })?.route.name).toBe('low');
    expect(matchRoute(routes.routes, 'pagerduty', { service: 'checkout-api', severity: 'critical' })?.route.name).toBe('pd-only');
    expect(matchRoute(routes.routes, 'alertmanager', { service: 'checkout-api' })).toBeUndefined();
    expect(matchRoute(routes.routes, 'grafana', {})).toBeUndefined();
  });

  it('renders the route into a session configuration; labels become the context', () => {
    expect(routeAlert(alert(), 'grafana', routes)).toEqual({
      route: 'routes[2]',
      session: {
        prompt: 'Checkout: checkout-api 5xx above 5% (checkout-api) https://runbooks.example.com/5xx',
        title: '[grafana] checkout-api 5xx above 5%',
        context: { service: 'checkout-api', severity: 'critical', runbook: 'https://runbooks.example.com/5xx' },
        requirePlanApproval: undefined,
        followUpWindow: undefined,
        requestedBy: 'webhook:grafana',
      },
    });
    const low = routeAlert(alert({ labels: { severity: 'info' } }), 'generic', routes);
    expect(low).toMatchObject({
      route: 'low',
      session: { prompt: 'Low: checkout-api 5xx above 5%', requirePlanApproval: false, followUpWindow: 600_000 },
    });
  });

  it('falls back to the default route, which can be configured', () => {
    expect(routeAlert(alert(), 'datadog', config()).session).toMatchObject({
      prompt: 'Investigate the alert "checkout-api 5xx above 5%" from datadog. Labels: service=checkout-api, severity=critical',
      title: 'checkout-api 5xx above 5%',
    });
    const custom = config({ defaultRoute: { prompt: 'Look at {summary}', requirePlanApproval: false } });
    expect(routeAlert(alert(), 'datadog', custom)).toMatchObject({
      route: 'default',
      session: { prompt: 'Look at checkout-api 5xx above 5%', requirePlanApproval: false },
    });
  });

  it("a route can name the repository an alert's service lives in, and what its change becomes", () => {
    const coded = config({
      routes: [
        {
          name: 'ledger',
          match: { labels: { service: 'ledger' } },
          prompt: 'Fix {summary}',
          source: { github: 'acme/ledger', baseBranch: 'release/2' },
          publish: { mode: 'branch', approveChanges: true },
        },
        {
          name: 'infra',
          match: { labels: { service: 'db' } },
          prompt: 'Fix {summary}',
          source: { git: 'ssh://git@git.example.com/infra.git' },
        },
      ],
    });
    expect(routeAlert(alert({ labels: { service: 'ledger' } }), 'generic', coded).session).toMatchObject({
      source: { github: 'acme/ledger', branch: 'release/2' },
      publish: { mode: 'branch', approveChanges: true, draft: false },
    });
    expect(routeAlert(alert({ labels: { service: 'db' } }), 'generic', coded).session).toMatchObject({
      source: { git: 'ssh://git@git.example.com/infra.git' },
      publish: undefined,
    });
    // Routes without a source start sessions without one.
    expect(routeAlert(alert(), 'generic', coded).session.source).toBeUndefined();
  });

  it('a route with a bad source or publish policy fails when the configuration loads, naming it', () => {
    const bad = (route: Record<string, unknown>) => webhooksConfigSchema({}).safeParse({ routes: [{ prompt: 'Fix {summary}', ...route }] });
    const problem = (route: Record<string, unknown>) => {
      const parsed = bad(route);
      if (parsed.success) throw new Error('expected the configuration to be refused');
      const issue = firstIssue(parsed.error);
      return `${issue.path.join('.')}: ${issue.message}`;
    };
    expect(problem({ source: { github: 'acme' } })).toMatch(/^routes\.0\.source\.github: expected "owner\/repo"/);
    expect(problem({ source: { github: 'acme/ledger', branch: '--force' } })).toMatch(
      /^routes\.0\.source\.branch: expected a valid git branch/,
    );
    expect(problem({ source: { git: 'https://bot:pw@git.example.com/x.git' } })).toMatch(
      /^routes\.0\.source\.git: must not carry credentials/,
    );
    expect(problem({ source: { github: 'acme/ledger' }, publish: { mode: 'merge' } })).toMatch(/^routes\.0\.publish\.mode/);
  });

  it('a template that renders empty still gives the agent a task, and long values are cut', () => {
    const empty = config({ defaultRoute: { prompt: '{annotations.missing}', title: '{labels.missing}' } });
    const routed = routeAlert(alert({ labels: {} }), 'generic', empty).session;
    expect(routed.prompt).toBe('Investigate the alert "checkout-api 5xx above 5%" from generic. Labels: (none)');
    expect(routed.title).toBeUndefined();
    const long = routeAlert(alert({ summary: 'x'.repeat(5_000) }), 'generic', config()).session;
    expect(long.title).toHaveLength(200);
  });
});

describe('templates', () => {
  it('renders scalars, maps and single entries; missing values are empty', () => {
    const values = { source: 'generic', fingerprint: 'f', status: 'firing', summary: 's', labels: { b: '2', a: '1' }, annotations: {} };
    expect(renderTemplate('{summary}|{labels}|{labels.b}|{labels.zz}|{url}|{annotations}', values)).toBe('s|a=1, b=2|2|||(none)');
    expect(renderTemplate('JSON stays: {"a": 1}', values)).toBe('JSON stays: {"a": 1}');
  });

  it('refuses unknown placeholders when the configuration loads', () => {
    expect(checkTemplate('{summary} {labels.x} {annotations.y}')).toEqual([]);
    expect(checkTemplate('{sumary}')).toEqual([expect.stringContaining('unknown placeholder {sumary}')]);
    expect(checkTemplate('{summary.x}')).toHaveLength(1);
    const parsed = webhooksConfigSchema({}).safeParse({ routes: [{ prompt: 'Fix {labels.service} {titel}' }] });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.path).toEqual(['routes', 0, 'prompt']);
  });
});

describe('configuration', () => {
  it('has safe defaults: every receiver enabled, none open', () => {
    const parsed = config();
    for (const name of ['alertmanager', 'grafana', 'pagerduty', 'datadog', 'generic'] as const) {
      expect(parsed[name]).toMatchObject({ enabled: true, allowUnauthenticated: false });
      expect(parsed[name].token).toBeUndefined();
    }
    expect(parsed.routes).toEqual([]);
    expect(parsed.deliveryTimeout).toBe(8_000);
  });

  it('reads secrets from the environment, over the configured values', () => {
    const env = {
      ANDON_WEBHOOK_ALERTMANAGER_TOKEN: 'from-env\n',
      ANDON_WEBHOOK_GRAFANA_USER: 'grafana',
      ANDON_WEBHOOK_GRAFANA_PASSWORD: 'pw',
      ANDON_WEBHOOK_PAGERDUTY_SECRET: 'signing',
      ANDON_WEBHOOK_GENERIC_ALLOW_UNAUTHENTICATED: 'true',
      ANDON_WEBHOOK_DATADOG_TOKEN: '',
    };
    const parsed = webhooksConfigSchema(env).parse({ alertmanager: { token: 'from-file' }, datadog: { token: 'kept' } });
    expect(parsed.alertmanager.token).toBe('from-env');
    expect(parsed.grafana).toMatchObject({ user: 'grafana', password: 'pw' });
    expect(parsed.pagerduty.secret).toBe('signing');
    expect(parsed.generic.allowUnauthenticated).toBe(true);
    expect(parsed.datadog.token).toBe('kept');
    expect(Object.keys(WEBHOOK_ENV)).toEqual(expect.arrayContaining(['ANDON_WEBHOOK_DATADOG_PASSWORD', 'ANDON_WEBHOOK_PAGERDUTY_SECRET']));
  });

  it('refuses half a basic pair and a secret on a receiver that cannot check one', () => {
    const half = webhooksConfigSchema({}).safeParse({ grafana: { user: 'grafana' } });
    expect(half.error?.issues[0]?.path).toEqual(['grafana', 'password']);
    expect(webhooksConfigSchema({ ANDON_WEBHOOK_GRAFANA_ALLOW_UNAUTHENTICATED: 'maybe' }).safeParse({}).success).toBe(false);
    // A credential the receiver cannot check (or a typo) fails at start, not silently.
    const misplaced = webhooksConfigSchema({}).safeParse({ alertmanager: { secret: 'x' } });
    expect(misplaced.error?.issues[0]).toMatchObject({ code: 'unrecognized_keys', path: ['alertmanager'], keys: ['secret'] });
  });
});

describe('credentials', () => {
  const settings = config({
    alertmanager: { token: 'tok' },
    grafana: { user: 'u', password: 'p' },
    pagerduty: { secret: 's' },
    generic: { allowUnauthenticated: true },
  });
  const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });

  it('compares secrets without regard to where they differ, or their length', () => {
    expect(safeEqual('abc', 'abc')).toBe(true);
    expect(safeEqual('abc', 'abd')).toBe(false);
    expect(safeEqual('abc', 'abcd')).toBe(false);
  });

  it('bearer and basic', () => {
    expect(() => checkAuthorization('alertmanager', settings.alertmanager, { authorization: 'Bearer tok' })).not.toThrow();
    expect(thrown(() => checkAuthorization('alertmanager', settings.alertmanager, { authorization: 'Bearer nope' })).statusCode).toBe(401);
    expect(thrown(() => checkAuthorization('alertmanager', settings.alertmanager, basic('tok', 'tok'))).statusCode).toBe(401);
    expect(() => checkAuthorization('grafana', settings.grafana, basic('u', 'p'))).not.toThrow();
    expect(thrown(() => checkAuthorization('grafana', settings.grafana, basic('u', 'x'))).headers['www-authenticate']).toMatch(/^Basic/);
    expect(thrown(() => checkAuthorization('grafana', settings.grafana, {})).statusCode).toBe(401);
  });

  it('a signature-only receiver defers to the signature; unconfigured is closed unless opened', () => {
    expect(() => checkAuthorization('pagerduty', settings.pagerduty, {})).not.toThrow();
    const closed = thrown(() => checkAuthorization('datadog', settings.datadog, { authorization: 'Bearer anything' }));
    expect(closed).toMatchObject({ statusCode: 503, code: 'webhook_not_configured' });
    expect(closed.message).toContain('ANDON_WEBHOOK_DATADOG_TOKEN');
    expect(() => checkAuthorization('generic', settings.generic, {})).not.toThrow();
  });
});

describe('vendor payloads', () => {
  it('Alertmanager: one alert per entry, each with its own status; labels hash when no fingerprint', () => {
    const alerts = receiver('alertmanager').normalise(fixture('alertmanager', 'grouped'));
    expect(alerts.map((a) => a.fingerprint)).toEqual(['a81c3f0d27e94b15', 'c04e9b7a1f3d6e22']);
    expect(alerts[0]).toMatchObject({
      status: 'firing',
      summary: 'inventory pod inventory-7d9f8b6c5-2xkqp is crash looping',
      labels: { service: 'inventory' },
    });
    expect(alerts[0]?.url).toMatch(/^http:\/\/prometheus/);

    const [resolved] = receiver('alertmanager').normalise(fixture('alertmanager', 'resolved'));
    expect(resolved).toMatchObject({ fingerprint: '5f2a7c1e9b3d4a60', status: 'resolved' });

    const bare = fixture('alertmanager', 'firing') as { alerts: Record<string, unknown>[] };
    delete at(bare.alerts, 0).fingerprint;
    const first = at(receiver('alertmanager').normalise(bare), 0);
    const reordered = structuredClone(bare);
    at(reordered.alerts, 0).labels = Object.fromEntries(Object.entries(at(bare.alerts, 0).labels as object).reverse());
    expect(first.fingerprint).toMatch(/^[0-9a-f]{16}$/);
    expect(receiver('alertmanager').normalise(reordered)[0]?.fingerprint).toBe(first.fingerprint);

    expect(
      thrown(() => receiver('alertmanager').normalise({ ...(fixture('alertmanager', 'firing') as object), version: '5' })).details.field,
    ).toBe('version');
    expect(thrown(() => receiver('alertmanager').normalise({ status: 'firing' })).details.field).toBe('alerts');
  });

  it('Grafana: links and the panel URL', () => {
    const alert = at(receiver('grafana').normalise(fixture('grafana', 'firing')), 0);
    expect(alert).toMatchObject({ fingerprint: '57c6d9296de2ad39', status: 'firing', summary: 'checkout-api error ratio above 5%' });
    expect(alert.url).toContain('viewPanel=4');
    expect(alert.annotations.silenceURL).toContain('/alerting/silence/new');
    expect(receiver('grafana').normalise(fixture('grafana', 'grouped'))).toHaveLength(2);
  });

  it('PagerDuty: lifecycle events by incident id, everything else ignored', () => {
    const [triggered] = receiver('pagerduty').normalise(fixture('pagerduty', 'triggered'));
    expect(triggered).toMatchObject({
      fingerprint: 'Q2XZTV6Q9JQ7HN',
      status: 'firing',
      summary: 'checkout-api 5xx above 5%',
      url: 'https://acme.pagerduty.com/incidents/Q2XZTV6Q9JQ7HN',
      labels: { service: 'checkout-api', urgency: 'high', priority: 'P1', event_type: 'incident.triggered', incident_number: '4821' },
    });
    expect(receiver('pagerduty').normalise(fixture('pagerduty', 'resolved'))[0]?.status).toBe('resolved');
    expect(receiver('pagerduty').normalise(fixture('pagerduty', 'reopened'))[0]?.status).toBe('firing');
    expect(receiver('pagerduty').normalise(fixture('pagerduty', 'ping'))).toEqual([]);
    expect(thrown(() => receiver('pagerduty').normalise({ event: { data: {} } })).details.field).toBe('event.event_type');
  });

  it('Datadog: the documented template; transitions; tags become labels', () => {
    const triggered = at(receiver('datadog').normalise(fixture('datadog', 'triggered')), 0);
    expect(triggered).toMatchObject({
      fingerprint: '8e3fd4e1c0c1a2b5a3b9c4f0f3c7a0d1',
      status: 'firing',
      startsAt: '2024-05-14T09:12:31.000Z',
      labels: { service: 'checkout-api', severity: 'critical', env: 'prod', priority: 'P1', transition: 'Triggered', monitor: '' },
    });
    expect(triggered.labels).not.toHaveProperty('hostname');
    expect(receiver('datadog').normalise(fixture('datadog', 'retriggered'))[0]?.status).toBe('firing');
    expect(receiver('datadog').normalise(fixture('datadog', 'recovered'))[0]?.status).toBe('resolved');
    expect(receiver('datadog').normalise({ alert_id: 42, title: 't', transition: 'Warn', aggregate: '$AGGREG_KEY' })[0]?.fingerprint).toBe(
      '42',
    );
    expect(thrown(() => receiver('datadog').normalise({ title: 't', transition: 'Triggered', aggregate: '' })).details.field).toBe(
      'aggregate',
    );
    expect(
      thrown(() => receiver('datadog').normalise({ title: '$EVENT_TITLE', transition: 'Triggered', alert_id: '1' })).details.field,
    ).toBe('title');
    expect(parseTags('a:b:c, d ,,e:')).toEqual({ a: 'b:c', d: '', e: '' });
  });

  it('generic: one alert or an array, fields named with their index', () => {
    expect(receiver('generic').normalise(fixture('generic', 'firing'))).toHaveLength(1);
    expect(receiver('generic').normalise(fixture('generic', 'grouped'))).toHaveLength(2);
    expect(
      thrown(() =>
        receiver('generic').normalise([
          { fingerprint: 'a', status: 'firing', summary: 's' },
          { fingerprint: 'b', status: 'up', summary: 's' },
        ]),
      ).details.field,
    ).toBe('1.status');
  });
});

describe('notifications', () => {
  it('carry the receiver as source and `by`, and fit what a session accepts', () => {
    const notification = toNotification(
      alert({ fingerprint: 'f'.repeat(600), summary: 's'.repeat(3_000), labels: { big: 'v'.repeat(3_000) }, url: 'u'.repeat(3_000) }),
      'generic',
    );
    expect(notification).toMatchObject({ source: 'generic', by: 'webhook:generic', status: 'firing' });
    expect(notification.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(notification.summary).toHaveLength(2_000);
    expect(notification.labels?.big).toHaveLength(2_000);
    expect(notification.url).toBeUndefined();
  });
});

describe('replay defence and caps (pure parts)', () => {
  const now = Date.parse('2026-01-01T12:00:00Z');

  it('refuses an event older than the window, or more than a minute ahead', () => {
    expect(() => checkFresh({ occurredAt: '2026-01-01T11:56:00Z' }, 300_000, now)).not.toThrow();
    expect(thrown(() => checkFresh({ occurredAt: '2026-01-01T11:54:59Z' }, 300_000, now))).toMatchObject({
      statusCode: 422,
      code: 'stale_delivery',
    });
    expect(thrown(() => checkFresh({ occurredAt: '2026-01-01T12:02:00Z' }, 300_000, now)).statusCode).toBe(422);
    expect(() => checkFresh({}, 300_000, now)).not.toThrow();
  });

  it('reads the delivery id from the payload, else Idempotency-Key (never a vendor id header)', () => {
    expect(deliveryId({ id: 'evt-1' }, { 'idempotency-key': 'k' })).toBe('evt-1');
    expect(deliveryId({}, { 'idempotency-key': ' k ', 'x-webhook-id': 'w' })).toBe('k');
    expect(deliveryId({}, { 'x-webhook-id': 'w' })).toBeUndefined();
    expect(deliveryId({}, {})).toBeUndefined();
    expect(thrown(() => deliveryId({}, { 'idempotency-key': '   ' })).details.field).toBe('idempotency-key');
    expect(markerId('pagerduty', 'a')).not.toBe(markerId('generic', 'a'));
    expect(markerId('pagerduty', 'a')).toMatch(/^webhook-delivery-pagerduty-[0-9a-f]{40}$/);
  });

  it('PagerDuty deliveries carry their event id and time', () => {
    const body = fixture('pagerduty', 'triggered') as { event: { id: string; occurred_at: string } };
    expect(receiver('pagerduty').delivery?.(body)).toEqual({ id: body.event.id, occurredAt: body.event.occurred_at });
  });

  it('caps alerts, labels and label sizes, naming the label', () => {
    const many = Array.from({ length: WEBHOOK_LIMITS.alertsPerPayload + 1 }, () => alert());
    expect(thrown(() => checkLimits(many))).toMatchObject({ statusCode: 413, code: 'too_many_alerts' });
    expect(() => checkLimits(many.slice(1))).not.toThrow();
    const service = thrown(() => checkLimits([alert(), alert({ labels: { service: '€'.repeat(400) } })]));
    expect(service).toMatchObject({ statusCode: 422, details: { field: 'alerts.1.labels.service' } });
    expect(() => checkLimits([alert({ labels: { service: 'x'.repeat(1_024) } })])).not.toThrow();
    expect(thrown(() => checkLimits([alert({ labels: { '': 'v' } })])).statusCode).toBe(422);
  });
});
