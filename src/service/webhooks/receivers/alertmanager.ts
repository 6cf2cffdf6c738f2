/**
 * Prometheus Alertmanager's webhook receiver (payload version 4). One request carries a group of
 * alerts; each alert has its own status and fingerprint, so a group that is partly resolved
 * reaches each incident's session with the right status.
 * https://prometheus.io/docs/alerting/latest/configuration/#webhook_config
 */
import { z } from 'zod';
import { firstText, labelsFingerprint, parsePayload, StringMap, type IncomingAlert, type Receiver } from '../receiver';

const Status = z.enum(['firing', 'resolved']);

export const AlertmanagerAlert = z.object({
  status: Status,
  labels: StringMap,
  annotations: StringMap.default({}),
  startsAt: z.string().optional(),
  endsAt: z.string().optional(),
  generatorURL: z.string().optional(),
  fingerprint: z.string().optional(),
});

export const AlertmanagerPayload = z.object({
  // Only version 4 exists; a future version may move fields, so refuse it rather than misread it.
  version: z.literal('4').optional(),
  groupKey: z.string().optional(),
  truncatedAlerts: z.number().int().nonnegative().optional(),
  status: Status,
  receiver: z.string().optional(),
  groupLabels: StringMap.optional(),
  commonLabels: StringMap.optional(),
  commonAnnotations: StringMap.optional(),
  externalURL: z.string().optional(),
  alerts: z.array(AlertmanagerAlert),
});

export const alertmanager: Receiver = {
  name: 'alertmanager',
  summary: 'Prometheus Alertmanager webhook (payload version 4)',
  normalise(body) {
    const payload = parsePayload(AlertmanagerPayload, body);
    return payload.alerts.map((alert): IncomingAlert => ({
      fingerprint: firstText(alert.fingerprint) ?? labelsFingerprint(alert.labels),
      status: alert.status,
      summary:
        firstText(alert.annotations.summary, alert.annotations.description, alert.annotations.message, alert.labels.alertname) ?? 'alert',
      labels: alert.labels,
      annotations: alert.annotations,
      startsAt: alert.startsAt,
      url: firstText(alert.generatorURL),
    }));
  },
};
