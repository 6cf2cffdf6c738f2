/**
 * A handle on one session: `andon.session(id)` makes one without a network call. Commands are
 * Temporal updates (the caller gets the new view or a typed refusal); `send` is a signal. Every
 * call that waits has a timeout, so nothing made on behalf of a person hangs forever.
 */
import { randomUUID } from 'node:crypto';
import {
  ServiceError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateStage,
  type Client,
  type WorkflowHandle,
} from '@temporalio/client';
import type { UpdateDefinition } from '@temporalio/common';
import { z } from 'zod';
import {
  isTerminal,
  type Budget,
  type Review,
  type SessionState,
  type SessionView,
  type TimelineEvent,
  type TimelinePage,
} from '../session/schema';
import {
  ApproveInput,
  CancelInput,
  DecideStepInput,
  MessageInput,
  PauseInput,
  RejectInput,
  approveUpdate,
  askUpdate,
  cancelUpdate,
  decideStepUpdate,
  pauseUpdate,
  rejectUpdate,
  resumeUpdate,
  ReviewInput,
  reviewUpdate,
  sendSignal,
  timelineQuery,
  viewQuery,
  waitForEventsUpdate,
  WAIT_FOR_EVENTS_MAX_LIMIT,
  WATCH_LATER,
  writeMemoryUpdate,
  WriteMemoryInput,
  type AskResult,
  type StepDecision,
} from '../protocol/messages';
import type { ReviewDecisionInput, SessionWorkflow } from '../protocol/inputs';
import type { SessionApi } from './api';
import { DEFAULT_TIMEOUTS, validate, type TimeoutOption } from './calls';
import { InvalidStateError, TimeoutError } from './errors';
import { translateError } from './temporal-errors';
import { outcomeOf, type SessionOutcome } from './outcome';
import { linked, watchSession } from './watch';
import { TimelineArchive } from './archive';

/** The events that end a session: a stream stops after the first of them. */
const ENDING_EVENTS = new Set<TimelineEvent['type']>(['sessionCompleted', 'sessionFailed', 'sessionCancelled']);

export type { SessionOutcome } from './outcome';
export { DEFAULT_TIMEOUTS, validate, type TimeoutOption } from './calls';

export class SessionClient implements SessionApi {
  private readonly handle: WorkflowHandle<SessionWorkflow>;
  private readonly archive: TimelineArchive;

  constructor(
    readonly id: string,
    private readonly client: Client,
    private readonly identity: string,
    /** Follow live with `waitForEvents` (AndonOptions.liveWaits); else the history long-poll and a query. */
    private readonly liveWaits = false,
  ) {
    this.handle = client.workflow.getHandle<SessionWorkflow>(id);
    this.archive = new TimelineArchive(client, id);
  }

  /** The session's current view (state, plan, outputs, ...). */
  async info(options: TimeoutOption = {}): Promise<SessionView> {
    return this.call(options.timeoutMs ?? DEFAULT_TIMEOUTS.commandMs, 'info', (signal) => this.readView(signal));
  }

  /** A page of the timeline: events with seq > `after`. */
  async timeline(options: { after?: number; limit?: number } & TimeoutOption = {}): Promise<TimelinePage> {
    const input = { after: options.after ?? 0, limit: options.limit ?? 200 };
    validate(z.object({ after: z.number().int().nonnegative(), limit: z.number().int().min(1).max(1000) }), input);
    return this.call(options.timeoutMs ?? DEFAULT_TIMEOUTS.commandMs, 'timeline', () => this.page(input.after, input.limit));
  }

  /** Approves the plan awaiting approval; refused with InvalidStateError if none is, StalePlanError if `planId` is not current. */
  /** `planHash` (view.plan.hash) binds the approval to the plan's content: a changed plan is refused as stale. */
  /** In `awaitingChangeApproval` it approves the code session's change set; `changeSetHash` (view.workspace.changeSetHash) binds it to the diff seen. */
  async approve(
    options: { planId?: string; planHash?: string; changeSetHash?: string; comment?: string; by?: string } & TimeoutOption = {},
  ): Promise<SessionView> {
    const input = validate(ApproveInput, {
      planId: options.planId,
      planHash: options.planHash,
      changeSetHash: options.changeSetHash,
      comment: options.comment,
      by: options.by ?? this.identity,
    });
    return this.update('approve', options, approveUpdate, input);
  }

  /**
   * Rejects the plan (the session ends as cancelled, or re-plans with `replan: true`), or a change set
   * awaiting approval. `planHash`/`changeSetHash` bind the rejection to what the person saw.
   */
  async reject(
    reason: string,
    options: { planId?: string; planHash?: string; changeSetHash?: string; replan?: boolean; by?: string } & TimeoutOption = {},
  ): Promise<SessionView> {
    const { planId, planHash, changeSetHash, replan } = options;
    const input = validate(RejectInput, { reason, planId, planHash, changeSetHash, replan, by: options.by ?? this.identity });
    return this.update('reject', options, rejectUpdate, input);
  }

  /** Sends a message and returns the agent's reply. Retries with the same `messageId` are answered once. */
  async ask(message: string, options: { messageId?: string; by?: string } & TimeoutOption = {}): Promise<AskResult> {
    const input = validate(MessageInput, { message, messageId: options.messageId ?? randomUUID(), by: options.by ?? this.identity });
    return this.update('ask', { timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUTS.askMs }, askUpdate, input, `ask-${input.messageId}`);
  }

  /** Sends a message without waiting for the reply (it appears on the timeline). */
  async send(message: string, options: { messageId?: string; by?: string } & TimeoutOption = {}): Promise<{ messageId: string }> {
    const input = validate(MessageInput, { message, messageId: options.messageId ?? randomUUID(), by: options.by ?? this.identity });
    await this.call(options.timeoutMs ?? DEFAULT_TIMEOUTS.commandMs, 'send', () => this.handle.signal(sendSignal, input));
    return { messageId: input.messageId! };
  }

  /** Remembers something for this session, its agent, or its service; later sessions recall it when they plan. */
  async writeMemory(
    content: string,
    options: { scope?: 'session' | 'agent' | 'service'; by?: string } & TimeoutOption = {},
  ): Promise<{ memoryId: string }> {
    const input = validate(WriteMemoryInput, { content, scope: options.scope, by: options.by ?? this.identity });
    return this.update('writeMemory', options, writeMemoryUpdate, input);
  }

  /** Pauses after the current step (at once if nothing is running). */
  async pause(options: { reason?: string; by?: string } & TimeoutOption = {}): Promise<SessionView> {
    const input = validate(PauseInput, { reason: options.reason, by: options.by ?? this.identity });
    return this.update('pause', options, pauseUpdate, input);
  }

  /** Resumes a paused session. One paused because it spent its budget needs a higher `budget`. */
  async resume(options: { by?: string; budget?: Budget } & TimeoutOption = {}): Promise<SessionView> {
    const input = { by: options.by ?? this.identity, budget: options.budget };
    return this.update('resume', options, resumeUpdate, input);
  }

  /**
   * Decides a failed step: `retry` it, `skip` it, or `abort` the session. The session's approval
   * policy decides who may (NotAllowedError otherwise); InvalidStateError when no failed step
   * awaits a decision, or `stepId` names another step.
   */
  async decideStep(
    decision: StepDecision,
    options: { stepId?: string; reason?: string; by?: string } & TimeoutOption = {},
  ): Promise<SessionView> {
    const input = validate(DecideStepInput, { decision, stepId: options.stepId, reason: options.reason, by: options.by ?? this.identity });
    return this.update('decideStep', options, decideStepUpdate, input);
  }

  /** Tool calls of this session waiting for a person's review, oldest first. */
  async reviews(options: TimeoutOption = {}): Promise<Review[]> {
    return (await this.info(options)).pendingReviews;
  }

  /**
   * Decides a tool call awaiting review: `approve` it, `deny` it (the model reads `reason`), or
   * `edit` its `arguments` (checked against the tool's schema; a bad field is a ValidationError).
   * Refused with InvalidStateError when no call awaits review under that id.
   */
  async review(reviewId: string, decision: ReviewDecisionInput, options: { by?: string } & TimeoutOption = {}): Promise<SessionView> {
    const input = validate(ReviewInput, { reviewId, ...decision, by: options.by ?? this.identity });
    return this.update('review', options, reviewUpdate, input);
  }

  /** Pulls the andon cord: stops the work in flight now and ends the session as cancelled. */
  async cancel(reason: string, options: { by?: string } & TimeoutOption = {}): Promise<SessionView> {
    const input = validate(CancelInput, { reason, by: options.by ?? this.identity });
    return this.update('cancel', options, cancelUpdate, input);
  }

  /**
   * The timeline from `after` on, then live events as they happen; ends after the event that
   * ends the session (completed, failed, cancelled), or when `signal` aborts. Resume a dropped
   * stream with the last `seq` seen. Follow-up chat after completion: `timeline({ after })`.
   */
  async *stream(options: { after?: number; signal?: AbortSignal } = {}): AsyncGenerator<TimelineEvent> {
    const controller = new AbortController();
    const stop = () => controller.abort();
    options.signal?.addEventListener('abort', stop);
    // A signal that has already aborted fires no event: stop now, or the stream would never stop.
    if (options.signal?.aborted) stop();
    let after = options.after ?? 0;
    try {
      // Catch up with the timeline query, then follow live with watchers' long polls (one round
      // trip per event); where the session cannot serve those, the history long-poll and the query.
      for (let fast = this.liveWaits; ;) {
        if (fast) {
          for (let read = true; ;) {
            const answer = await this.waitPage(after, controller.signal, read);
            if (!answer) break;
            const { page } = answer;
            // After a long poll's answer the next one answers at once if more is there: no query needed.
            read = answer.read;
            for (const event of page.events) {
              yield event;
              after = event.seq;
              if (ENDING_EVENTS.has(event.type)) return;
            }
            if (isTerminal(page.state) && after >= page.lastSeq) return;
          }
        }
        // The slow path, until the run continues as new (then long polls again) or closes.
        fast = false;
        for await (const change of this.changes(controller.signal)) {
          for (;;) {
            const page = await this.streamPage(after, controller.signal);
            for (const event of page.events) {
              yield event;
              after = event.seq;
              if (ENDING_EVENTS.has(event.type)) return;
            }
            if (page.events.length < 1000) {
              if (isTerminal(page.state) && after >= page.lastSeq) return;
              break;
            }
          }
          if (change === 'closed') return;
          if (change === 'continued') {
            fast = true;
            break;
          }
        }
        if (!fast) return;
      }
    } catch (error) {
      if (controller.signal.aborted) return;
      throw translateError(error, this.id);
    } finally {
      options.signal?.removeEventListener('abort', stop);
      controller.abort();
    }
  }

  /**
   * Resolves with the view once the session is in one of `states`. Fails with InvalidStateError
   * if the session ends in another state first, TimeoutError after `timeoutMs`. When `signal`
   * aborts (the caller went away), the wait stops polling Temporal and rejects with its reason.
   */
  async waitFor(states: SessionState | SessionState[], options: TimeoutOption & { signal?: AbortSignal } = {}): Promise<SessionView> {
    const wanted = Array.isArray(states) ? states : [states];
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUTS.waitMs;
    return this.call(
      timeoutMs,
      `waitFor(${wanted.join('|')})`,
      async (signal) => {
        for await (const change of this.changes(signal)) {
          const view = await linked(signal, (callSignal) => this.readView(callSignal, change === 'closed'));
          if (wanted.includes(view.state)) return view;
          if (isTerminal(view.state)) {
            throw new InvalidStateError(`session ${this.id} ended ${view.state} before reaching ${wanted.join(' or ')}`, view.state);
          }
        }
        throw new InvalidStateError(`session ${this.id} closed before reaching ${wanted.join(' or ')}`, 'unspecified');
      },
      options.signal,
    );
  }

  /**
   * The outcome once the session completes (not when its workflow closes: a completed session
   * keeps answering follow-ups for a while). Throws SessionFailedError or SessionCancelledError.
   */
  async result(options: TimeoutOption = {}): Promise<SessionOutcome> {
    return outcomeOf(await this.waitFor(['completed', 'failed', 'cancelled'], options));
  }

  // -----------------------------------------------------------------------------------------------

  /**
   * A whole page of the timeline: the session's run answers from its oldest event on
   * (`firstSeq`); older events are read from the archive in earlier runs' start events.
   */
  /**
   * A page for a stream. A stream has no deadline of its own, so a query the worker could not
   * answer in time (a busy or restarting worker: DEADLINE_EXCEEDED, UNAVAILABLE) is asked again
   * with backoff instead of ending the stream; after five tries the error reaches the reader.
   */
  private async streamPage(after: number, signal: AbortSignal): Promise<TimelinePage> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await linked(signal, (linkedSignal) => this.client.withAbortSignal(linkedSignal, () => this.page(after, 1000)));
      } catch (error) {
        if (signal.aborted || attempt >= STREAM_QUERY_ATTEMPTS || !isTransientQueryFailure(error)) throw error;
        await new Promise((resolve) => setTimeout(resolve, Math.min(500 * 2 ** (attempt - 1), 4_000)));
      }
    }
  }

  private async page(after: number, limit: number): Promise<TimelinePage> {
    const page = await this.handle.query(timelineQuery, { after, limit });
    const firstSeq = page.firstSeq ?? 1;
    if (after + 1 >= firstSeq) return { ...page, firstSeq: 1 };
    const older = await this.archive.between(after, firstSeq, limit);
    return { ...page, events: [...older, ...page.events].slice(0, limit), firstSeq: 1 };
  }

  /**
   * The events after `after`: from the timeline query when `read` and there are some, else one
   * `waitForEvents` long poll that answers with the next ones. Undefined when the session cannot
   * serve the long poll (refused: too many watchers, the run draining; a worker that does not
   * know it; the workflow closed): the caller reads the slow way then. An empty answer (the run
   * drained for continue-as-new) is asked again, which reaches the next run.
   */
  private async waitPage(after: number, signal: AbortSignal, read: boolean): Promise<{ page: TimelinePage; read: boolean } | undefined> {
    let later = 0;
    for (;;) {
      if (read) {
        const page = await this.streamPage(after, signal);
        if (page.events.length > 0 || (isTerminal(page.state) && after >= page.lastSeq)) return { page, read: true };
      }
      let page: TimelinePage;
      try {
        page = await linked(signal, (callSignal) =>
          this.client.withAbortSignal(callSignal, async () => {
            const update = await this.handle.startUpdate(waitForEventsUpdate, {
              args: [{ after, limit: WAIT_FOR_EVENTS_MAX_LIMIT }],
              waitForStage: WorkflowUpdateStage.ACCEPTED,
            });
            return update.result();
          }),
        );
      } catch (error) {
        if (signal.aborted) throw error;
        if (error instanceof WorkflowUpdateFailedError && (error.cause as { type?: unknown } | undefined)?.type === WATCH_LATER) {
          // Refused for a moment (a local activity runs in the session): ask again, backing off.
          await delay(Math.min(100 * 2 ** later++, 1_000), signal);
          continue;
        }
        if (error instanceof WorkflowUpdateFailedError || error instanceof WorkflowNotFoundError) return undefined;
        throw error;
      }
      later = 0;
      // Events that left the run's window while we waited are read from the archive.
      if (page.events.length > 0 && (page.firstSeq ?? 1) <= after + 1) return { page: { ...page, firstSeq: 1 }, read: false };
      if (page.events.length > 0) return { page: await this.streamPage(after, signal), read: true };
      // Drained: the run is about to continue as new or close; the next read or wait finds out which.
      await delay(50, signal);
      read = true;
    }
  }

  private changes(signal: AbortSignal) {
    return watchSession(this.client, this.id, signal);
  }

  /** A closed workflow's final view is its result: no worker needed to read it. */
  private async readView(signal: AbortSignal, closed?: boolean): Promise<SessionView> {
    // Sequential on purpose: querying a closed session in parallel (and stopping the query once
    // describe says it closed) made the worker replay it and left a query task buffered that
    // stalled the next query of that session (seen in CI). A closed session reads its result.
    return this.client.withAbortSignal(signal, async () => {
      const isClosed = closed ?? (await this.handle.describe()).status.name !== 'RUNNING';
      return isClosed ? this.handle.result() : this.handle.query(viewQuery);
    });
  }

  /** The final view of a session whose workflow has closed; undefined if it does not exist or is still running. */
  private async endedView(signal: AbortSignal): Promise<SessionView | undefined> {
    try {
      return await this.client.withAbortSignal(signal, async () =>
        (await this.handle.describe()).status.name === 'RUNNING' ? undefined : await this.handle.result(),
      );
    } catch {
      return undefined;
    }
  }

  /**
   * Runs an update under one update id. When the workflow task carrying it fails for a reason
   * that is not the update's (new events arrived meanwhile: `UnhandledCommand`), the server
   * aborts the update unapplied with FAILED_PRECONDITION; sending it again under the same id is
   * safe (Temporal deduplicates) and is what the caller meant. Bounded by the call's deadline.
   */
  private update<Ret, Arg>(
    what: string,
    options: TimeoutOption,
    definition: UpdateDefinition<Ret, [Arg]>,
    input: Arg,
    updateId: string = randomUUID(),
  ): Promise<Ret> {
    return this.call(options.timeoutMs ?? DEFAULT_TIMEOUTS.commandMs, what, async (signal) => {
      for (let attempt = 1; ; attempt++) {
        try {
          return await this.handle.executeUpdate(definition, { args: [input], updateId });
        } catch (error) {
          if (!isAbortedUpdate(error) || signal.aborted) throw error;
          await delay(Math.min(25 * 2 ** attempt, 1_000), signal);
        }
      }
    });
  }

  /** Runs `fn` with a deadline; Temporal errors become andon's typed errors. */
  private async call<T>(timeoutMs: number, what: string, fn: (signal: AbortSignal) => Promise<T>, outer?: AbortSignal): Promise<T> {
    outer?.throwIfAborted();
    const controller = new AbortController();
    const timer = Number.isFinite(timeoutMs) ? setTimeout(() => controller.abort(), timeoutMs) : undefined;
    const stop = () => controller.abort();
    outer?.addEventListener('abort', stop, { once: true });
    try {
      return await this.client.withAbortSignal(controller.signal, () => fn(controller.signal));
    } catch (error) {
      // The caller gave up: not a timeout, and not worth asking Temporal why.
      if (outer?.aborted) throw outer.reason;
      if (controller.signal.aborted) {
        throw new TimeoutError(
          `${what} on session ${this.id} did not finish within ${timeoutMs} ms (is an andon worker running?)`,
          timeoutMs,
        );
      }
      // Temporal answers a command to a closed workflow with "not found"; the session exists and has ended.
      const ended = error instanceof WorkflowNotFoundError ? await this.endedView(controller.signal) : undefined;
      if (ended)
        throw new InvalidStateError(`cannot ${what} session ${this.id}: it has ended (state: ${ended.state})`, ended.state, {
          cause: error,
        });
      throw translateError(error, this.id);
    } finally {
      clearTimeout(timer);
      outer?.removeEventListener('abort', stop);
      controller.abort();
    }
  }
}

/** FAILED_PRECONDITION: the update was aborted, not applied, because its workflow task failed. */
function isAbortedUpdate(error: unknown): boolean {
  const code = (error as { cause?: { code?: unknown }; code?: unknown }).cause?.code ?? (error as { code?: unknown }).code;
  return error instanceof ServiceError && code === 9;
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });
}

const STREAM_QUERY_ATTEMPTS = 5;
/** gRPC status codes of a query no worker answered in time, or a server briefly away. */
const TRANSIENT_GRPC_CODES = new Set([4 /* DEADLINE_EXCEEDED */, 14 /* UNAVAILABLE */]);

function isTransientQueryFailure(error: unknown): boolean {
  if (!(error instanceof ServiceError)) return false;
  const code = (error.cause as { code?: unknown } | undefined)?.code;
  return typeof code === 'number' && TRANSIENT_GRPC_CODES.has(code);
}
