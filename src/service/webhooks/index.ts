/**
 * The alert receivers: POST /v1/webhooks/<receiver> for Alertmanager, Grafana, PagerDuty,
 * Datadog and andon's generic form. Each request is authenticated with that receiver's own
 * credentials, read into alerts, routed to a session configuration and delivered; 202 means
 * every alert in it reached its session durably, 503 means retry (re-delivery is harmless).
 *
 * Register it unwrapped (not through fastify-plugin): the raw-body JSON parser it installs must
 * stay inside this scope.
 */
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Andon } from '../../client';
import { alertSessionId } from '../../client/andon';
import { SessionConfig } from '../../session/schema';
import { badRequest, errorResponses } from '../../protocol/http-errors';
import { checkAuthorization, checkSignature } from './auth';
import type { ReceiverSettings, WebhooksConfig } from './config';
import { beforeDeadline, deliverAll, type Delivery } from './deliver';
import { toNotification } from './notification';
import { parsePayload, type IncomingAlert, type Receiver } from './receiver';
import { RECEIVERS } from './receivers';
import { routeAlert } from './routing';
import { checkLimits, WEBHOOK_LIMITS } from './limits';
import { checkFresh, deliveryId, remember, seen } from './replay';

export { WebhooksConfig, WEBHOOK_ENV, webhooksConfigSchema, type WebhooksConfigInput } from './config';

/** The answer to a delivery: one entry per alert in the payload, in payload order. */
export const WebhookAnswer = z.object({
  sessions: z.array(
    z.object({
      id: z.string(),
      fingerprint: z.string(),
      status: z.enum(['firing', 'resolved']),
      delivered: z.boolean().describe('false: a resolve for an incident with no running session; nothing was started'),
      route: z.string().describe('the configured route that chose the session settings, or "default"'),
    }),
  ),
  duplicate: z.boolean().optional().describe('true: a delivery with this id was already acted on; nothing was done again'),
});

const DESCRIPTION = [
  '200 with `duplicate: true` when a delivery with the same id (PagerDuty event id, or an Idempotency-Key header) was already acted on: nothing is done again.',
  '202 once every alert in the payload reached its session durably (the first firing notification of an incident starts it; later ones, resolves included, fold into it).',
  '503 with Retry-After: retry the whole payload; a repeated delivery is harmless.',
  '413: the body or its alert count is over a cap; 422: a label is over a cap, or a signed event is older than the replay window (docs/alerts.md).',
  'Authenticates itself with the credentials configured for this receiver (bearer token or HTTP basic; PagerDuty also its X-PagerDuty-Signature), not with API tokens.',
].join('\n\n');

export interface WebhooksPluginOptions {
  andon: Andon;
  config: WebhooksConfig;
}

export const webhooksPlugin: FastifyPluginAsync<WebhooksPluginOptions> = async (app, { andon, config }) => {
  keepRawJson(app);
  for (const receiver of RECEIVERS) {
    const settings: ReceiverSettings = config[receiver.name];
    if (!settings.enabled) continue;
    app.post(
      `/v1/webhooks/${receiver.name}`,
      {
        bodyLimit: WEBHOOK_LIMITS.bodyBytes,
        // The receiver authenticates itself, with credentials of its own (auth.ts here).
        config: { scope: 'none' },
        schema: {
          operationId: `${receiver.name}Webhook`,
          summary: receiver.summary,
          description: DESCRIPTION,
          tags: ['webhooks'],
          response: { 200: WebhookAnswer, 202: WebhookAnswer, ...errorResponses },
        },
        onRequest: async (request) => checkAuthorization(receiver.name, settings, request.headers),
      },
      async (request, reply) => {
        const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
        if (receiver.verifySignature && settings.secret !== undefined) {
          checkSignature(receiver.name, receiver.verifySignature(settings.secret, raw, request.headers));
        }
        const body = parseJson(raw);
        const alerts = receiver.normalise(body);
        checkLimits(alerts);
        const meta = receiver.delivery?.(body) ?? {};
        checkFresh(meta, config.replayWindow);
        const delivery = deliveryId(meta, request.headers);
        const options = {
          timeoutMs: config.deliveryTimeout,
          retryAfterSeconds: config.retryAfterSeconds,
          onFailure: (failed: Delivery, error: unknown) => logFailure(request, failed, error),
        };
        // One deadline for everything that waits on Temporal: the sender hears back in bounded time.
        const deadline = Date.now() + config.deliveryTimeout;
        const left = () => deadline - Date.now();
        if (delivery !== undefined && (await beforeDeadline(seen(andon.client, receiver.name, delivery), left(), options))) {
          return reply.code(200).send({ sessions: [], duplicate: true });
        }
        const deliveries: Delivery[] = [];
        for (const alert of alerts) deliveries.push(prepare(receiver, alert, config));
        await beforeDeadline(resolveIds(andon, deliveries), left(), options);
        const sessions = await deliverAll(andon, deliveries, { ...options, timeoutMs: Math.max(1, left()) });
        if (delivery !== undefined) await beforeDeadline(remember(andon.client, receiver.name, delivery), Math.max(left(), 1_000), options);
        return reply.code(202).send({ sessions });
      },
    );
  }
};

/**
 * JSON bodies stay raw bytes until the route has checked the sender: a vendor signature covers
 * the exact bytes, and nobody unauthenticated learns how their payload was read.
 */
function keepRawJson(app: FastifyInstance): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
}

function parseJson(raw: Buffer): unknown {
  if (raw.length === 0) throw badRequest('request body is empty: send the alert payload as JSON', '(body)');
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    throw badRequest('request body is not valid JSON', '(body)');
  }
}

function prepare(receiver: Receiver, alert: IncomingAlert, config: WebhooksConfig): Delivery {
  const notification = toNotification(alert, receiver.name);
  const { route, session } = routeAlert(alert, receiver.name, config);
  const id = alertSessionId(notification.source, notification.fingerprint);
  // A route whose template renders something a session refuses is refused before anything is sent.
  parsePayload(SessionConfig, { ...session, id });
  return { id, route, notification, session };
}

/** Sessions started under the old id scheme keep their incident while they run (andon.alertSessionFor). */
async function resolveIds(andon: Andon, deliveries: Delivery[]): Promise<void> {
  const ids = new Map<string, Promise<string>>();
  for (const delivery of deliveries) {
    const { source, fingerprint } = delivery.notification;
    const key = JSON.stringify([source, fingerprint]);
    if (!ids.has(key)) ids.set(key, andon.alertSessionFor(source, fingerprint));
  }
  for (const delivery of deliveries) {
    delivery.id = await ids.get(JSON.stringify([delivery.notification.source, delivery.notification.fingerprint]))!;
  }
}

function logFailure(request: FastifyRequest, delivery: Delivery, error: unknown): void {
  request.log.warn({ err: error, sessionId: delivery.id, status: delivery.notification.status }, `alert delivery to ${delivery.id} failed`);
}
