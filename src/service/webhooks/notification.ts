/**
 * An incoming alert as the session's `alert` signal carries it. Vendor values can exceed what a
 * session accepts (long annotations, fingerprints, links): they are cut or hashed here rather
 * than failing the delivery, because a sender cannot fix its payload by retrying.
 */
import { createHash } from 'node:crypto';
import { AlertNotification } from '../../session/schema';
import type { ReceiverName } from './config';
import { clip, parsePayload, type IncomingAlert } from './receiver';

const MAX_FINGERPRINT_CHARS = 500;
const MAX_TEXT_CHARS = 2_000;

export function toNotification(alert: IncomingAlert, source: ReceiverName): AlertNotification {
  const fingerprint = alert.fingerprint.trim();
  const labels: Record<string, string> = {};
  for (const [name, value] of Object.entries(alert.labels)) labels[name] = clip(value, MAX_TEXT_CHARS);
  const notification: AlertNotification = {
    source,
    // A hash keeps a long identity stable, which is all a fingerprint has to be.
    fingerprint: fingerprint.length <= MAX_FINGERPRINT_CHARS ? fingerprint : createHash('sha256').update(fingerprint).digest('hex'),
    status: alert.status,
    summary: clip(alert.summary.trim() || 'alert', MAX_TEXT_CHARS),
    labels,
    startsAt: alert.startsAt,
    url: alert.url !== undefined && alert.url.length <= MAX_TEXT_CHARS ? alert.url : undefined,
    by: `webhook:${source}`,
  };
  // Whatever slipped through is refused as a 400 before anything is delivered.
  return parsePayload(AlertNotification, notification);
}
