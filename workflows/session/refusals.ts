/** Refusals as Temporal failures: an update fails with one; a signal records it instead. */
import { ApplicationFailure } from '@temporalio/workflow';
import type { Refusal } from './record';

export function refusalFailure(refusal: Refusal): ApplicationFailure {
  return ApplicationFailure.create({ type: refusal.type, message: refusal.message, details: [refusal.details], nonRetryable: true });
}

export function throwIfRefused(refusal: Refusal | undefined): void {
  if (refusal) throw refusalFailure(refusal);
}

/** Who sent a message, if its (possibly invalid) input says so. */
export function byOf(raw: unknown): string | undefined {
  const by = (raw as { by?: unknown } | null)?.by;
  return typeof by === 'string' ? by : undefined;
}
