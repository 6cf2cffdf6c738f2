/**
 * Change notification for one session without polling: a long poll on the workflow's history
 * (`GetWorkflowExecutionHistory` with `waitNewEvent`), which Temporal answers the moment a new
 * event is written. Every change to a session ends with a workflow task completing, so waking on
 * `WorkflowTaskCompleted` events and then reading the session (a query) never misses a change. It costs the
 * workflow nothing but that read, and follows continue-as-new to the next run.
 */
import type { Client } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

/** 'continued': the run continued as new (the session changed too). */
export type Change = 'changed' | 'continued' | 'closed';

/**
 * Yields 'changed' once straight away and again after new history events; yields 'closed' (and
 * ends) when the workflow chain has closed for good. Ends early when `signal` aborts.
 */
export async function* watchSession(client: Client, workflowId: string, signal: AbortSignal): AsyncGenerator<Change> {
  const namespace = client.options.namespace;
  const { runId: firstRun } = await linked(signal, (callSignal) =>
    client.withAbortSignal(callSignal, () => client.workflow.getHandle(workflowId).describe()),
  );
  let runId: string | undefined = firstRun;
  let nextPageToken: Uint8Array | undefined;
  yield 'changed';
  for (;;) {
    const response = await linked(signal, (callSignal) =>
      client.withAbortSignal(callSignal, () =>
        client.workflowService.getWorkflowExecutionHistory({
          namespace,
          execution: { workflowId, runId },
          nextPageToken,
          waitNewEvent: true,
          maximumPageSize: 1000,
        }),
      ),
    );
    const events = response.history?.events ?? [];
    const last = events[events.length - 1];
    if (last && isClose(last)) {
      const next = last.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId;
      if (next) {
        runId = next;
        nextPageToken = undefined;
        yield 'continued';
        continue;
      }
      yield 'closed';
      return;
    }
    // A session's state only changes when a workflow task completes. Waking on other events (task
    // scheduled, activity started) would query mid-task, where the server parks queries until the
    // task ends, and many readers doing so stall each other.
    if (events.some((event) => event.workflowTaskCompletedEventAttributes)) yield 'changed';
    nextPageToken = response.nextPageToken?.length ? response.nextPageToken : undefined;
    if (!nextPageToken && events.length === 0) {
      // No token and nothing new means the run is closed and we already saw its last event.
      yield 'closed';
      return;
    }
  }
}

function isClose(event: HistoryEvent): boolean {
  return Boolean(
    event.workflowExecutionCompletedEventAttributes ||
    event.workflowExecutionFailedEventAttributes ||
    event.workflowExecutionTimedOutEventAttributes ||
    event.workflowExecutionTerminatedEventAttributes ||
    event.workflowExecutionCanceledEventAttributes ||
    event.workflowExecutionContinuedAsNewEventAttributes,
  );
}

/**
 * Runs one call under its own signal that follows `parent`. A long-lived watch makes thousands of
 * calls; giving each its own short-lived signal keeps listeners from piling up on the parent.
 */
export async function linked<T>(parent: AbortSignal, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  // A call started with a signal that has already aborted is not cancelled by it: do not start one.
  if (parent.aborted) throw parent.reason ?? new DOMException('This operation was aborted', 'AbortError');
  const controller = new AbortController();
  const abort = () => controller.abort(parent.reason);
  parent.addEventListener('abort', abort, { once: true });
  try {
    return await fn(controller.signal);
  } finally {
    parent.removeEventListener('abort', abort);
  }
}
