/**
 * Watchers' long polls (`waitForEvents`): a watcher learns of a new timeline event in one round
 * trip, the update's answer, instead of a history long-poll followed by a query.
 *
 * Each wait is an update, so it costs history (accepted and completed events) and one of
 * Temporal's ten in-flight update slots per workflow. Hence: at most MAX_WATCHERS wait at once
 * (the validator refuses more, which writes nothing; the client reads the timeline query then),
 * so commands such as `approve` always find a slot. A wait has no timer (a timer would add events
 * for every idle watcher every period); a wait whose client went away ends at the next event, or
 * when the run closes or is due to continue as new, whichever comes first.
 */
import { ApplicationFailure, condition, setHandler } from '@temporalio/workflow';
import {
  WAIT_FOR_EVENTS_MAX_BYTES,
  WATCH_LATER,
  WATCH_UNAVAILABLE,
  WaitForEventsInput,
  waitForEventsUpdate,
} from '../../src/protocol/messages';
import type { TimelineEvent, TimelinePage } from '../../src/session/schema';
import { continueAsNewDue, type SessionContext } from './context';
import { lastSeq, timelinePage } from './record';

/** Waits in flight at most; Temporal allows ten updates in flight per workflow, commands need the rest. */
export const MAX_WATCHERS = 4;

export function registerWatchers(ctx: SessionContext): void {
  setHandler(waitForEventsUpdate, (raw) => waitForEvents(ctx, raw), {
    validator: (raw) => checkWait(ctx, raw),
    description:
      'Long poll for timeline events. Input: {after: seq, limit?: 1..200}. Returns {events, lastSeq, state, firstSeq} once an event after `after` exists (none when the run drains).',
  });
}

/** Synchronous, as validators must be; a refusal leaves nothing in history. */
function checkWait(ctx: SessionContext, raw: unknown): void {
  const parsed = WaitForEventsInput.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.join('.') || 'input';
    throw ApplicationFailure.create({
      type: 'ValidationError',
      message: `waitForEvents: ${field}: ${issue?.message ?? 'invalid'}`,
      nonRetryable: true,
    });
  }
  if (draining(ctx)) throw unavailable('the run is about to continue as new or close');
  // Accepted while a local activity runs, a wait would not replay in the order it ran (context.ts, `local`).
  if (ctx.localActivities > 0)
    throw ApplicationFailure.create({ type: WATCH_LATER, message: 'waitForEvents refused: ask again shortly', nonRetryable: true });
  if (ctx.watchers >= MAX_WATCHERS) throw unavailable(`${MAX_WATCHERS} watchers wait already`);
}

async function waitForEvents(ctx: SessionContext, raw: unknown): Promise<TimelinePage> {
  const { after, limit } = WaitForEventsInput.parse(raw);
  const s = ctx.session;
  ctx.watchers++;
  try {
    // A wait must not hold the run open: it answers (with what there is) when the run drains.
    await condition(() => lastSeq(s) > after || draining(ctx));
  } finally {
    ctx.watchers--;
  }
  const page = timelinePage(s, { after, limit });
  return { ...page, events: withinBytes(page.events) };
}

/** The run is closing or due to continue as new: waits answer now and new ones are refused. */
function draining(ctx: SessionContext): boolean {
  return ctx.closing || continueAsNewDue(ctx);
}

/** The first events that fit the answer's byte budget, always at least one (an event is at most ~100 KB). */
function withinBytes(events: TimelineEvent[]): TimelineEvent[] {
  let bytes = 0;
  let count = 0;
  for (const event of events) {
    bytes += JSON.stringify(event).length;
    if (count > 0 && bytes > WAIT_FOR_EVENTS_MAX_BYTES) break;
    count++;
  }
  return events.slice(0, count);
}

function unavailable(why: string): ApplicationFailure {
  return ApplicationFailure.create({ type: WATCH_UNAVAILABLE, message: `waitForEvents refused: ${why}`, nonRetryable: true });
}
