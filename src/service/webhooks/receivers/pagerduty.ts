/**
 * PagerDuty v3 webhook subscriptions. The incident id is the incident's identity; lifecycle
 * events of an open incident are firing notifications, `incident.resolved` resolves it, and
 * events that say nothing about the incident's state (notes, responders, pings) are ignored.
 * https://developer.pagerduty.com/docs/webhooks/v3-overview/
 */
import { createHmac } from 'node:crypto';
import { z } from 'zod';
import { safeEqual } from '../auth';
import { firstText, parsePayload, type IncomingAlert, type Receiver } from '../receiver';

const OPEN_EVENTS = new Set([
  'incident.triggered',
  'incident.reopened',
  'incident.acknowledged',
  'incident.unacknowledged',
  'incident.escalated',
  'incident.reassigned',
  'incident.delegated',
  'incident.priority_updated',
]);
const RESOLVED_EVENT = 'incident.resolved';

export const PagerDutyEnvelope = z.object({
  event: z.object({
    id: z.string().optional(),
    event_type: z.string().min(1),
    resource_type: z.string().optional(),
    occurred_at: z.string().optional(),
    // Its shape depends on the event type: read below, once the type is known.
    data: z.unknown(),
  }),
});

const Reference = z.object({ id: z.string().optional(), summary: z.string().optional(), html_url: z.string().optional() }).nullish();

export const PagerDutyIncident = z.object({
  id: z.string().trim().min(1),
  type: z.string().optional(),
  title: z.string().optional(),
  html_url: z.string().optional(),
  number: z.number().int().optional(),
  status: z.string().optional(),
  incident_key: z.string().nullish(),
  created_at: z.string().optional(),
  urgency: z.string().optional(),
  service: Reference,
  priority: Reference,
  escalation_policy: Reference,
});

export const pagerduty: Receiver = {
  name: 'pagerduty',
  summary: 'PagerDuty v3 webhook subscription (signed with X-PagerDuty-Signature)',
  normalise(body) {
    const { event } = parsePayload(PagerDutyEnvelope, body);
    const status = event.event_type === RESOLVED_EVENT ? 'resolved' : OPEN_EVENTS.has(event.event_type) ? 'firing' : undefined;
    if (!status) return [];
    const incident = parsePayload(PagerDutyIncident, event.data, ['event', 'data']);
    const labels: Record<string, string> = { event_type: event.event_type };
    if (incident.service?.summary) labels.service = incident.service.summary;
    if (incident.urgency) labels.urgency = incident.urgency;
    if (incident.priority?.summary) labels.priority = incident.priority.summary;
    if (incident.escalation_policy?.summary) labels.escalation_policy = incident.escalation_policy.summary;
    if (incident.number !== undefined) labels.incident_number = String(incident.number);
    if (incident.incident_key) labels.incident_key = incident.incident_key;
    const alert: IncomingAlert = {
      fingerprint: incident.id,
      status,
      summary: firstText(incident.title) ?? `PagerDuty incident ${incident.number ?? incident.id}`,
      labels,
      annotations: {},
      startsAt: incident.created_at,
      url: firstText(incident.html_url),
    };
    return [alert];
  },
  delivery(body) {
    // Read leniently: normalise() refuses a malformed envelope with the field named.
    const parsed = PagerDutyEnvelope.safeParse(body);
    return parsed.success ? { id: parsed.data.event.id, occurredAt: parsed.data.event.occurred_at } : {};
  },
  verifySignature(secret, rawBody, headers) {
    const header = headers['x-pagerduty-signature'];
    if (typeof header !== 'string') return false;
    const expected = `v1=${createHmac('sha256', secret).update(rawBody).digest('hex')}`;
    // While a secret is rotated PagerDuty signs with each: one match is enough.
    return header
      .split(',')
      .map((signature) => signature.trim())
      .some((signature) => safeEqual(signature, expected));
  },
};
