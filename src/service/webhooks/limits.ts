/**
 * The receivers' caps, documented in docs/alerts.md. A payload over one is refused whole, before
 * anything is delivered, with a 413 (too big: body, alert count) or a 422 naming the alert and
 * label (a label the session could not hold). Retrying cannot fix either, so neither is a 503.
 */
import { HttpError } from '../../protocol/http-errors';
import { MAX_SERVICE_BYTES, utf8Bytes } from '../../session/schema';
import type { IncomingAlert } from './receiver';

export const WEBHOOK_LIMITS = {
  /** Request body, in bytes (413). */
  bodyBytes: 1024 * 1024,
  /** Alerts in one payload (413): an Alertmanager group, a Grafana notification, a generic array. */
  alertsPerPayload: 200,
  /** Labels on one alert (422). */
  labelsPerAlert: 64,
  /** A label name, in characters (422). */
  labelNameChars: 128,
  /** A label value, in characters (422). */
  labelValueChars: 2_000,
  /** The `service` label, in UTF-8 bytes (422): it is indexed as a Temporal search attribute. */
  serviceLabelBytes: MAX_SERVICE_BYTES,
} as const;

/** Throws 413 or 422 for the first alert or label over a cap. */
export function checkLimits(alerts: readonly IncomingAlert[]): void {
  const L = WEBHOOK_LIMITS;
  if (alerts.length > L.alertsPerPayload) {
    throw new HttpError(413, 'too_many_alerts', `the payload carries ${alerts.length} alerts; at most ${L.alertsPerPayload} per request`, {
      field: 'alerts',
    });
  }
  alerts.forEach((alert, index) => {
    const names = Object.keys(alert.labels);
    const at = `alerts.${index}.labels`;
    if (names.length > L.labelsPerAlert) {
      throw unprocessable(`alert ${index} has ${names.length} labels; at most ${L.labelsPerAlert}`, at);
    }
    for (const name of names) {
      const value = alert.labels[name] ?? '';
      const field = `${at}.${name.length > 64 ? `${name.slice(0, 64)}…` : name}`;
      if (name.length === 0 || name.length > L.labelNameChars) {
        throw unprocessable(
          `label name ${name.length === 0 ? 'is empty' : `is ${name.length} characters; at most ${L.labelNameChars}`}`,
          field,
        );
      }
      if (value.length > L.labelValueChars) {
        throw unprocessable(`label "${field}" is ${value.length} characters; at most ${L.labelValueChars}`, field);
      }
      if (name === 'service' && utf8Bytes(value) > L.serviceLabelBytes) {
        throw unprocessable(
          `label "${field}" is ${utf8Bytes(value)} bytes; at most ${L.serviceLabelBytes} (it is indexed to list sessions by service)`,
          field,
        );
      }
    }
  });
}

function unprocessable(message: string, field: string): HttpError {
  return new HttpError(422, 'label_too_large', message, { field });
}
