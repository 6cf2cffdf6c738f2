/**
 * A session's archived timeline events. A session carries only its newest events across
 * continue-as-new; the ones that leave that window are handed to the next run as its input
 * (`archived`), so each run's start event (WorkflowExecutionStarted) holds a slice of the older
 * timeline and names the run before it. Walking that chain back from the newest run reads every
 * event the session ever recorded, through the client's data converter (and codec, if any).
 */
import type { Client } from '@temporalio/client';
import { decodeArrayFromPayloads } from '@temporalio/common/lib/internal-non-workflow';
import { TimelineEvent } from '../session/schema';

/** One run's start: the events archived when it began, and the run it continued (if any). */
interface RunStart {
  archived: TimelineEvent[];
  previousRunId?: string;
}

/** Run starts never change: this many are kept per reader, so paging back does not fetch them again. */
const CACHED_RUNS = 16;

export class TimelineArchive {
  private readonly runs = new Map<string, RunStart>();

  constructor(
    private readonly client: Client,
    private readonly workflowId: string,
  ) {}

  /**
   * The archived events with `after` < seq < `before`, oldest first, at most `limit`. Reads the
   * run chain back from the newest run until it reaches seq `after + 1` or the first run.
   */
  async between(after: number, before: number, limit: number): Promise<TimelineEvent[]> {
    const found = new Map<number, TimelineEvent>();
    let runId: string | undefined = (await this.client.workflow.getHandle(this.workflowId).describe()).runId;
    while (runId) {
      const run = await this.runStart(runId);
      for (const event of run.archived) if (event.seq > after && event.seq < before) found.set(event.seq, event);
      if ((run.archived[0]?.seq ?? Infinity) <= after + 1) break;
      runId = run.previousRunId;
    }
    return [...found.values()].sort((a, b) => a.seq - b.seq).slice(0, limit);
  }

  private async runStart(runId: string): Promise<RunStart> {
    const cached = this.runs.get(runId);
    if (cached) return cached;
    const { namespace, loadedDataConverter } = this.client.options;
    const response = await this.client.workflowService.getWorkflowExecutionHistory({
      namespace,
      execution: { workflowId: this.workflowId, runId },
      maximumPageSize: 1,
    });
    const started = response.history?.events?.[0]?.workflowExecutionStartedEventAttributes;
    if (!started) throw new Error(`run ${runId} of session ${this.workflowId} has no start event`);
    const [input] = await decodeArrayFromPayloads(loadedDataConverter, started.input?.payloads);
    const raw = (input as { archived?: unknown } | undefined)?.archived;
    const run: RunStart = {
      archived: raw === undefined ? [] : TimelineEvent.array().parse(raw),
      previousRunId: started.continuedExecutionRunId || undefined,
    };
    if (this.runs.size >= CACHED_RUNS) this.runs.delete(this.runs.keys().next().value as string);
    this.runs.set(runId, run);
    return run;
  }
}
