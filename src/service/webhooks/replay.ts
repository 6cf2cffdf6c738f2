/**
 * Replay defence for the receivers: a delivery that names itself (PagerDuty's event id, an
 * `Idempotency-Key` header) is acted on once, and a signed delivery whose event
 * is older than the configured window is refused. Together: a captured signed `incident.triggered`
 * can neither restart a closed incident's session later (stale) nor soon after (already seen).
 *
 * Where "seen" lives: in Temporal, not in this process, so it survives a restart and holds across
 * replicas. Each delivered id leaves a marker workflow, `webhook-delivery-<receiver>-<hash>`,
 * started with the id-reuse policy REJECT_DUPLICATE on a task queue no worker polls; it times out
 * at once and its closed record keeps the id taken for the namespace's retention period (which
 * must exceed the staleness window; Temporal's minimum, one day, does). The marker is written only
 * once the delivery went through, so a sender's retry after a 503 is not mistaken for a replay;
 * two concurrent copies may both be delivered, which folds into the session harmlessly.
 */
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { HttpError } from '../../protocol/http-errors';
import type { ReceiverName } from './config';

export const DELIVERY_MARKER_WORKFLOW = 'andonWebhookDelivery';
export const DELIVERY_MARKER_TASK_QUEUE = 'andon-webhook-deliveries';
/**
 * Headers a sender may name its delivery with. Only the explicit one: vendors' own id headers
 * (X-Webhook-Id, ...) sometimes name the subscription, not the delivery, and taking such a
 * constant as a delivery id would swallow every later alert as a duplicate.
 */
export const DELIVERY_ID_HEADERS = ['idempotency-key'] as const;
const MAX_DELIVERY_ID_CHARS = 200;
/** Clocks differ: an event up to this far in the future is still taken. */
const CLOCK_SKEW_MS = 60_000;

/** What a receiver's payload or headers say about the delivery itself. */
export interface DeliveryMeta {
  /** The sender's id for this delivery (retries of it carry the same one). */
  id?: string;
  /** When the event happened, as the (signed) payload says. */
  occurredAt?: string;
}

/** The delivery id from the headers, unless the payload had one; 400 when a header is unusable. */
export function deliveryId(meta: DeliveryMeta, headers: IncomingHttpHeaders): string | undefined {
  if (meta.id !== undefined && meta.id.trim() !== '') return meta.id.trim();
  for (const name of DELIVERY_ID_HEADERS) {
    const value = headers[name];
    if (value === undefined) continue;
    if (typeof value !== 'string' || value.trim() === '' || value.length > MAX_DELIVERY_ID_CHARS) {
      throw new HttpError(
        400,
        'invalid_argument',
        `header ${name} must be one non-empty value of at most ${MAX_DELIVERY_ID_CHARS} characters`,
        {
          field: name,
        },
      );
    }
    return value.trim();
  }
  return undefined;
}

/** Refuses (422) an event that happened longer ago than `maxAgeMs`, or implausibly far ahead. */
export function checkFresh(meta: DeliveryMeta, maxAgeMs: number, now = Date.now()): void {
  if (meta.occurredAt === undefined) return;
  const at = Date.parse(meta.occurredAt);
  if (Number.isNaN(at)) return; // the receiver's schema decides whether the field must be a time
  if (now - at > maxAgeMs || at - now > CLOCK_SKEW_MS) {
    throw new HttpError(
      422,
      'stale_delivery',
      `the event occurred at ${meta.occurredAt}, outside the accepted window of ${Math.round(maxAgeMs / 1000)} s: refused as a possible replay (webhooks.replayWindow)`,
      { field: 'occurred_at' },
    );
  }
}

export function markerId(receiver: ReceiverName, id: string): string {
  return `webhook-delivery-${receiver}-${createHash('sha256').update(id).digest('hex').slice(0, 40)}`;
}

/** Whether a delivery with this id was already acted on. */
export async function seen(client: Client, receiver: ReceiverName, id: string): Promise<boolean> {
  try {
    await client.workflow.getHandle(markerId(receiver, id)).describe();
    return true;
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return false;
    throw error;
  }
}

/** Records that a delivery was acted on; recording it twice is harmless. */
export async function remember(client: Client, receiver: ReceiverName, id: string): Promise<void> {
  try {
    await client.workflow.start(DELIVERY_MARKER_WORKFLOW, {
      workflowId: markerId(receiver, id),
      taskQueue: DELIVERY_MARKER_TASK_QUEUE,
      args: [],
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      workflowIdConflictPolicy: 'FAIL',
      // Nobody runs it: it only holds the id. Timing out closes it; the closed record stays.
      workflowExecutionTimeout: '1s',
      staticSummary: `${receiver} webhook delivery (replay marker)`,
    });
  } catch (error) {
    if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
  }
}
