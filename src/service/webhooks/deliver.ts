/**
 * Delivers a payload's notifications to their sessions, and answers only once every one of them
 * is durable. A firing notification goes by signal-with-start (`andon.alert`): the first starts
 * the incident's session, every later one folds into it, atomically even under concurrent
 * duplicates. A resolve is only signalled: it must reach a running session, but must never start
 * one (a resolve for a closed session would otherwise open a new run, cancelled at once, which
 * then hides the real outcome in every listing).
 */
import { WorkflowNotFoundError } from '@temporalio/client';
import type { Andon } from '../../client';
import type { AlertNotification, SessionConfig } from '../../session/schema';
import { alertSignal } from '../../protocol/messages';
import { HttpError } from '../../protocol/http-errors';

export interface Delivery {
  /** The session id (`andon.alertSessionFor(source, fingerprint)`). */
  id: string;
  route: string;
  notification: AlertNotification;
  session: Omit<SessionConfig, 'id'>;
}

export interface Delivered {
  id: string;
  fingerprint: string;
  status: 'firing' | 'resolved';
  /** false: a resolve for an incident with no running session, so there was nothing to tell. */
  delivered: boolean;
  route: string;
}

export interface DeliveryOptions {
  timeoutMs: number;
  retryAfterSeconds: number;
  onFailure?: (delivery: Delivery, error: unknown) => void;
}

export async function deliverAll(andon: Andon, deliveries: readonly Delivery[], options: DeliveryOptions): Promise<Delivered[]> {
  const controller = new AbortController();
  const results: Delivered[] = new Array(deliveries.length);
  // Notifications for one incident go in payload order (firing before its resolve); incidents in parallel.
  const byId = new Map<string, { delivery: Delivery; index: number }[]>();
  deliveries.forEach((delivery, index) => byId.set(delivery.id, [...(byId.get(delivery.id) ?? []), { delivery, index }]));
  const work = Promise.allSettled(
    [...byId.values()].map(async (incident) => {
      for (const { delivery, index } of incident) {
        try {
          results[index] = await deliverOne(andon, delivery, controller.signal);
        } catch (error) {
          options.onFailure?.(delivery, error);
          throw error;
        }
      }
    }),
  );

  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), options.timeoutMs)));
  const outcome = await Promise.race([work, deadline]).finally(() => clearTimeout(timer));
  if (outcome === 'timeout') {
    controller.abort();
    throw unavailable(
      `Temporal did not confirm the delivery within ${options.timeoutMs} ms; retry (a repeated delivery is harmless)`,
      options,
    );
  }
  const rejected = outcome.filter((settled): settled is PromiseRejectedResult => settled.status === 'rejected');
  const failed = rejected.length;
  // Temporal refusing the request itself (INVALID_ARGUMENT) is not fixed by retrying: a 422, not
  // a 503 the sender would repeat forever.
  const refused = rejected.find((settled) => isRefused(settled.reason));
  if (refused) {
    throw new HttpError(422, 'rejected_by_temporal', `Temporal refused the delivery: ${messageOf(refused.reason)}`);
  }
  if (failed > 0) {
    throw unavailable(
      `${failed} of ${byId.size} incidents could not be delivered; retry the whole payload (the delivered ones fold in again, harmlessly)`,
      options,
    );
  }
  return results;
}

async function deliverOne(andon: Andon, delivery: Delivery, signal: AbortSignal): Promise<Delivered> {
  const { id, route, notification } = delivery;
  const answer = (delivered: boolean): Delivered => ({
    id,
    fingerprint: notification.fingerprint,
    status: notification.status,
    delivered,
    route,
  });
  if (notification.status === 'firing') {
    await andon.alert(notification, { ...delivery.session, id });
    return answer(true);
  }
  try {
    await andon.client.withAbortSignal(signal, () => andon.client.workflow.getHandle(id).signal(alertSignal, notification));
    return answer(true);
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return answer(false);
    throw error;
  }
}

/** gRPC INVALID_ARGUMENT (code 3), as the SDK raises it or wraps it. */
export function isRefused(error: unknown): boolean {
  const code = (value: unknown) => (typeof value === 'object' && value !== null ? (value as { code?: unknown }).code : undefined);
  return code(error) === 3 || code((error as { cause?: unknown } | null)?.cause) === 3;
}

function messageOf(error: unknown): string {
  const cause = (error as { cause?: unknown } | null)?.cause;
  const text = cause instanceof Error ? cause.message : error instanceof Error ? error.message : String(error);
  return text.slice(0, 500);
}

/** `work`, or a 503 with Retry-After once `timeoutMs` has passed (the work is left to finish or fail on its own). */
export async function beforeDeadline<T>(work: Promise<T>, timeoutMs: number, options: DeliveryOptions): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () => reject(unavailable(`Temporal did not answer within ${options.timeoutMs} ms; retry (a repeated delivery is harmless)`, options)),
      Math.max(1, timeoutMs),
    );
  });
  work.catch(() => undefined); // a late failure after the deadline answered is not unhandled
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

function unavailable(message: string, options: DeliveryOptions): HttpError {
  return new HttpError(503, 'unavailable', message, {}, { 'retry-after': String(options.retryAfterSeconds) });
}
