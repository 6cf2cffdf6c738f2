/**
 * andon's own JSON form, for systems without a receiver of their own: one alert or an array.
 *
 *   {"fingerprint":"disk-db-7","status":"firing","summary":"disk full on db-7",
 *    "labels":{"service":"db","severity":"critical"},"url":"https://..."}
 */
import { z } from 'zod';
import { parsePayload, StringMap, type IncomingAlert, type Receiver } from '../receiver';

export const GenericAlert = z.object({
  fingerprint: z.string().trim().min(1).max(500),
  status: z.enum(['firing', 'resolved']),
  summary: z.string().trim().min(1).max(2_000),
  labels: StringMap.default({}),
  annotations: StringMap.default({}),
  url: z.string().max(2_000).optional(),
  startsAt: z.string().optional(),
});

export const generic: Receiver = {
  name: 'generic',
  summary: "andon's generic alert JSON: one alert or an array",
  normalise(body) {
    const alerts = Array.isArray(body) ? parsePayload(z.array(GenericAlert), body) : [parsePayload(GenericAlert, body)];
    return alerts.map((alert): IncomingAlert => ({ ...alert }));
  },
};
