/**
 * Datadog's webhook integration. Datadog sends whatever payload the integration defines, so andon
 * documents one (docs/alerts.md, "Datadog") and reads it here:
 *
 *   {"id":"$ID","alert_id":"$ALERT_ID","aggregate":"$AGGREG_KEY","title":"$EVENT_TITLE",
 *    "transition":"$ALERT_TRANSITION","status":"$ALERT_STATUS","priority":"$ALERT_PRIORITY",
 *    "alert_type":"$ALERT_TYPE","tags":"$TAGS","hostname":"$HOSTNAME","scope":"$ALERT_SCOPE",
 *    "link":"$LINK","date":"$DATE"}
 *
 * The aggregation key groups a monitor's notifications for one group (triggered, re-triggered,
 * recovered), so it is the incident's identity; the monitor id is the fallback.
 * https://docs.datadoghq.com/integrations/webhooks/
 */
import { z } from 'zod';
import { parsePayload, type IncomingAlert, type Receiver } from '../receiver';

/**
 * A template variable's value. Datadog leaves a variable that does not apply empty; a "$NAME"
 * that was never substituted (the template posted by hand) means the same.
 */
const Variable = z.preprocess(
  (value) =>
    typeof value === 'number'
      ? String(value)
      : typeof value === 'string' && (value.trim() === '' || /^\$[A-Z_]+$/.test(value.trim()))
        ? undefined
        : value,
  z.string().trim().optional(),
);

export const DatadogPayload = z
  .object({
    id: Variable,
    alert_id: Variable,
    aggregate: Variable,
    title: Variable.pipe(z.string({ error: 'expected the event title ($EVENT_TITLE)' })),
    transition: Variable.pipe(z.string({ error: 'expected the alert transition ($ALERT_TRANSITION)' })),
    status: Variable,
    priority: Variable,
    alert_type: Variable,
    tags: Variable,
    hostname: Variable,
    scope: Variable,
    link: Variable,
    date: Variable,
    body: Variable,
  })
  .superRefine((payload, ctx) => {
    if (!payload.aggregate && !payload.alert_id) {
      ctx.addIssue({
        code: 'custom',
        path: ['aggregate'],
        message: 'expected the aggregation key ($AGGREG_KEY) or the alert id ($ALERT_ID)',
      });
    }
  });

export const datadog: Receiver = {
  name: 'datadog',
  summary: 'Datadog webhook (the payload template in docs/alerts.md)',
  normalise(body) {
    const payload = parsePayload(DatadogPayload, body);
    const labels: Record<string, string> = {};
    for (const [name, value] of Object.entries({
      alert_id: payload.alert_id,
      priority: payload.priority,
      transition: payload.transition,
      alert_type: payload.alert_type,
      hostname: payload.hostname,
      scope: payload.scope,
    })) {
      if (value) labels[name] = value;
    }
    // Tags carry the service, env and team, the labels routes match on; they win over the rest.
    Object.assign(labels, parseTags(payload.tags));
    const alert: IncomingAlert = {
      fingerprint: (payload.aggregate ?? payload.alert_id)!,
      status: isRecovery(payload.transition, payload.alert_type) ? 'resolved' : 'firing',
      summary: payload.title,
      labels,
      annotations: definedOnly({ body: payload.body, status: payload.status }),
      startsAt: isoDate(payload.date),
      url: payload.link,
    };
    return [alert];
  },
};

/** "Recovered" (and "Warn Recovered"), or the event type Datadog gives recoveries. */
function isRecovery(transition: string, alertType: string | undefined): boolean {
  return /recover/i.test(transition) || alertType === 'success';
}

/** "env:prod,service:checkout-api,critical" → { env: "prod", service: "checkout-api", critical: "" }. */
export function parseTags(tags: string | undefined): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const tag of (tags ?? '').split(',')) {
    const text = tag.trim();
    if (!text) continue;
    const colon = text.indexOf(':');
    if (colon < 0) labels[text] = '';
    else labels[text.slice(0, colon)] = text.slice(colon + 1);
  }
  return labels;
}

/** $DATE is epoch milliseconds; the session records times as ISO 8601. */
function isoDate(date: string | undefined): string | undefined {
  if (date === undefined || !/^\d{13}$/.test(date)) return date;
  const time = new Date(Number(date));
  return Number.isNaN(time.getTime()) ? date : time.toISOString();
}

function definedOnly(values: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(values).filter((entry): entry is [string, string] => entry[1] !== undefined));
}
