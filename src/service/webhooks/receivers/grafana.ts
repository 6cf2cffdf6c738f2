/**
 * Grafana unified alerting's webhook contact point. Like Alertmanager's, with Grafana's links
 * (panel, dashboard, silence) and a rendered title and message for the whole group.
 * https://grafana.com/docs/grafana/latest/alerting/configure-notifications/manage-contact-points/integrations/webhook-notifier/
 */
import { z } from 'zod';
import { firstText, labelsFingerprint, parsePayload, StringMap, type IncomingAlert, type Receiver } from '../receiver';
import { AlertmanagerAlert } from './alertmanager';

const Status = z.enum(['firing', 'resolved']);

// Grafana's webhook follows Alertmanager's format and adds its own links.
const GrafanaAlert = AlertmanagerAlert.extend({
  silenceURL: z.string().optional(),
  dashboardURL: z.string().optional(),
  panelURL: z.string().optional(),
  imageURL: z.string().optional(),
  valueString: z.string().optional(),
});

export const GrafanaPayload = z.object({
  receiver: z.string().optional(),
  status: Status,
  orgId: z.number().int().optional(),
  alerts: z.array(GrafanaAlert),
  groupLabels: StringMap.optional(),
  commonLabels: StringMap.optional(),
  commonAnnotations: StringMap.optional(),
  externalURL: z.string().optional(),
  version: z.string().optional(),
  groupKey: z.string().optional(),
  truncatedAlerts: z.number().int().nonnegative().optional(),
  title: z.string().optional(),
  /** The legacy group state ("alerting", "ok", ...): each alert's own status is what counts. */
  state: z.string().optional(),
  message: z.string().optional(),
});

export const grafana: Receiver = {
  name: 'grafana',
  summary: 'Grafana alerting webhook contact point',
  normalise(body) {
    const payload = parsePayload(GrafanaPayload, body);
    return payload.alerts.map((alert): IncomingAlert => ({
      fingerprint: firstText(alert.fingerprint) ?? labelsFingerprint(alert.labels),
      status: alert.status,
      summary: firstText(alert.annotations.summary, alert.annotations.description, alert.labels.alertname, payload.title) ?? 'alert',
      labels: alert.labels,
      // Grafana's links are what an engineer (or the agent) opens next, so templates may use them.
      annotations: {
        ...alert.annotations,
        ...definedOnly({
          dashboardURL: alert.dashboardURL,
          panelURL: alert.panelURL,
          silenceURL: alert.silenceURL,
          valueString: alert.valueString,
        }),
      },
      startsAt: alert.startsAt,
      url: firstText(alert.panelURL, alert.dashboardURL, alert.generatorURL),
    }));
  },
};

function definedOnly(values: Record<string, string | undefined>): Record<string, string> {
  return Object.fromEntries(Object.entries(values).filter((entry): entry is [string, string] => firstText(entry[1]) !== undefined));
}
