/**
 * One agent session = one workflow run chain (the workflow id is the session id).
 *
 * The body is a loop over the session's state: plan, wait for approval, execute steps, summarize.
 * Because each pass starts from the state alone, the loop resumes correctly after
 * continue-as-new. Chat runs beside it in its own loop, so messages are answered in order even
 * while the agent works or waits. Waiting holds no worker: it is a `condition` on durable state.
 */
import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  allHandlersFinished,
  condition,
  continueAsNew,
  isCancellation,
  proxyActivities,
  patched,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { SessionActivities } from '../activities';
import { AGENT_REJECTED, STEP_FAILED } from '../src/protocol/failures';
import type { PlanStep, SessionView } from '../src/session/schema';
import { isTerminal } from '../src/session/schema';
import { PENDING_REVIEWS_ATTRIBUTE, SLACK_THREAD_ATTRIBUTE, STATE_ATTRIBUTE } from '../src/session/search-attributes';
import {
  REFUSAL,
  alertSignal,
  approveSignal,
  approveUpdate,
  askUpdate,
  cancelSignal,
  cancelUpdate,
  pauseSignal,
  pauseUpdate,
  rejectSignal,
  rejectUpdate,
  resumeSignal,
  resumeUpdate,
  reviewSignal,
  reviewUpdate,
  ReviewInput,
  sendSignal,
  timelineQuery,
  viewQuery,
  writeMemoryUpdate,
  WriteMemoryInput,
  type AskResult,
  type SessionWorkflowInput,
} from '../src/protocol/messages';
import { SessionRecord, type Outgoing, type Refusal } from './session-record';
import { planHash, type ApprovalPolicy } from '../src/session/approval';
import { renderDetails } from './details';

/** Patch ids: each marks a change of workflow code that running sessions must not see mid-flight. */
const REPLIES_AS_ACTIVITIES = 'replies-as-activities';

const retry = { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts: 10 } as const;
/** Planning and steps may run long: they heartbeat, so a dead worker is noticed in 30 s, not 30 min. */
const workOptions = { startToCloseTimeout: '30m', heartbeatTimeout: '30s', retry } as const;
/** Chat replies should come back within minutes or not at all; they heartbeat like the rest. */
const chatOptions = { startToCloseTimeout: '2m', heartbeatTimeout: '30s', retry: { ...retry, maximumAttempts: 5 } } as const;
/**
 * The summary runs once, at the end, and is wanted at once: as a local activity it runs inside
 * the workflow task, one marker event instead of six, which keeps a standard session within its
 * history budget. The price: while it runs, the session answers nothing (it is the last call).
 */
const quickOptions = { startToCloseTimeout: '2m', retry: { ...retry, maximumAttempts: 5 } } as const;
/** A notification may wait out a chat service's rate limits, but not forever: it is given up after 10 minutes. */
const notifyOptions = { startToCloseTimeout: '30s', scheduleToCloseTimeout: '10m', retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' } } as const;
// Options are given per call (executeWithOptions) so each activity gets a summary in the Temporal UI.
const activities = proxyActivities<SessionActivities>(workOptions);
const quick = proxyLocalActivities<SessionActivities>(quickOptions);

export async function andonSession(input: SessionWorkflowInput): Promise<SessionView> {
  const now = () => new Date();
  /** The pending-review count last written to visibility (sessions that never had a review never write it). */
  let indexedReviews: number | undefined;
  const record = new SessionRecord(
    input,
    now(),
    (r) => {
      upsertSearchAttributes([{ key: STATE_ATTRIBUTE, value: r.state }]);
      setCurrentDetails(renderDetails(r));
      announce(r.state === 'awaitingPlanApproval' ? { kind: 'approvalRequested' } : { kind: 'stateChanged' });
    },
    (r) => {
      if (r.reviews.length === (indexedReviews ?? 0)) return;
      indexedReviews = r.reviews.length;
      upsertSearchAttributes([{ key: PENDING_REVIEWS_ATTRIBUTE, value: indexedReviews }]);
      setCurrentDetails(renderDetails(r));
      // The announced message shows how many calls await review: keep it current.
      announce({ kind: 'stateChanged' });
    },
  );
  if (input.carried !== undefined && record.reviews.length > 0) indexedReviews = record.reviews.length;
  const targets = input.config.notify;
  let notifying = false;
  /** Queues a notification for the notify loop; state updates coalesce (the latest view is sent). */
  function announce(outgoing: Outgoing): void {
    // Before anything was posted, planning is not news; after (a re-plan), the message must stop offering the old plan.
    if (!targets || ((record.state === 'planning' || record.state === 'queued') && !record.slack)) return;
    if (outgoing.kind === 'stateChanged') record.outbox = record.outbox.filter((o) => o.kind !== 'stateChanged');
    record.outbox.push(outgoing);
  }
  // Recorded before any handler is registered: registering a handler delivers the messages that
  // arrived with the start (signal-with-start), and they must come after the creation event.
  if (input.carried === undefined) {
    record.record(
      {
        type: 'sessionCreated',
        originator: 'system',
        prompt: input.config.prompt,
        title: input.config.title,
        requirePlanApproval: input.config.requirePlanApproval,
        requestedBy: input.config.requestedBy,
      },
      now(),
    );
  }
  /** Replies the agent could not give, by message id, so the waiting `ask` fails with the reason. */
  const replyFailures = new Map<string, string>();
  /** The scope of the planning or step activity in flight, so `cancel` can stop it now. */
  let current: CancellationScope | undefined;
  /** The scope of the chat reply in flight: a session that ends stops it too. */
  let replying: CancellationScope | undefined;
  let chatBusy = false;
  let closing = false;

  // ---- handlers (registered before the first await, so no early message is lost) --------------

  const applyOrThrow = (refusal: Refusal | undefined): SessionView => {
    if (refusal) throw refusalFailure(refusal);
    return record.view();
  };
  const applyOrNote = (refusal: Refusal | undefined, raw: unknown) => {
    if (refusal && !refusal.recorded) {
      record.record({ type: 'inputRejected', originator: 'system', message: refusal.message, reason: refusal.type, by: byOf(raw) }, now());
    }
  };
  const afterCancel = () => {
    current?.cancel();
    replying?.cancel();
  };

  // Validators run before anything is written to history, so an update they refuse leaves no
  // trace. They run the handler's own decision with apply=false: same checks, no change. For
  // decisions (approve, reject) they check only the input: the handler records every other
  // refusal (approvalRefused), since who tried to decide what is part of the audit trail.
  /** Approves, and shows a partial approval (1 of 2) where the session is announced. */
  const approve = (i: unknown) => {
    const refusal = record.decideApprove(i, now());
    if (!refusal && record.state === 'awaitingPlanApproval') announce({ kind: 'stateChanged' });
    return refusal;
  };
  setHandler(approveUpdate, (i) => applyOrThrow(approve(i)), {
    validator: (i) => throwIfRefused(record.decideApprove(i, now(), false)),
    description: 'Approve the plan awaiting approval. Input: {planId?, by?, comment?}. Returns the session view.',
  });
  setHandler(rejectUpdate, (i) => applyOrThrow(record.decideReject(i, now())), {
    validator: (i) => throwIfRefused(record.decideReject(i, now(), false)),
    description: 'Reject the plan awaiting approval. Input: {reason, planId?, by?, replan?}. Returns the session view.',
  });
  setHandler(pauseUpdate, (i) => applyOrThrow(record.decidePause(i, now())), {
    validator: (i) => throwIfRefused(record.decidePause(i, now(), false)),
    description: 'Pause after the current step. Input: {by?, reason?}. Returns the session view.',
  });
  setHandler(resumeUpdate, (i) => applyOrThrow(record.decideResume(i, now())), {
    validator: (i) => throwIfRefused(record.decideResume(i, now(), false)),
    description: 'Resume a paused session. Input: {by?}. Returns the session view.',
  });
  setHandler(
    cancelUpdate,
    (i) => {
      const view = applyOrThrow(record.decideCancel(i, now()));
      afterCancel();
      return view;
    },
    {
      validator: (i) => throwIfRefused(record.decideCancel(i, now(), false)),
      description: 'Cancel now (the andon cord): stops the work in flight. Input: {reason, by?}. Returns the session view.',
    },
  );
  setHandler(
    askUpdate,
    async (i): Promise<AskResult> => {
      const accepted = record.decideMessage('ask', i, now());
      if ('type' in accepted) throw refusalFailure(accepted);
      const { messageId } = accepted;
      await condition(() => record.answers.has(messageId) || !record.queue.some((m) => m.id === messageId));
      const reply = record.answers.get(messageId);
      const failure = replyFailures.get(messageId);
      if (failure !== undefined) {
        replyFailures.delete(messageId);
        throw ApplicationFailure.create({
          type: REFUSAL.replyFailed,
          message: `the agent could not reply: ${failure}`,
          details: [{ state: record.state }],
          nonRetryable: true,
        });
      }
      if (reply === undefined) {
        throw ApplicationFailure.create({
          type: REFUSAL.sessionEnded,
          message: `session ${record.config.id} ended (${record.state}) before the agent answered`,
          details: [{ state: record.state }],
          nonRetryable: true,
        });
      }
      return { messageId, reply };
    },
    {
      validator: (i) => {
        const outcome = record.decideMessage('ask', i, now(), false);
        if (outcome && 'type' in outcome) throw refusalFailure(outcome);
      },
      description: "Send a message and wait for the agent's reply. Input: {message, messageId?, by?}. Returns {messageId, reply}.",
    },
  );

  setHandler(
    writeMemoryUpdate,
    async (raw): Promise<{ memoryId: string }> => {
      const input = WriteMemoryInput.parse(raw);
      const by = input.by ?? 'unknown';
      const { memoryId } = await activities.remember.executeWithOptions({ ...chatOptions, summary: `remember (${input.scope})` }, [
        { sessionId: record.config.id, scope: input.scope, content: input.content, by, service: record.config.context.service },
      ]);
      record.record({ type: 'memoryWritten', originator: 'user', memoryId, scope: input.scope, content: input.content, by }, now());
      return { memoryId };
    },
    {
      validator: (raw) => {
        const parsed = WriteMemoryInput.safeParse(raw ?? {});
        if (!parsed.success) {
          const issue = parsed.error.issues[0];
          const field = issue?.path.join('.') || '(input)';
          throw refusalFailure({ type: REFUSAL.invalidArgument, message: `invalid input: ${field}: ${issue?.message}`, details: { state: record.state, field } });
        }
        if (parsed.data.scope === 'service' && !record.config.context.service) {
          throw refusalFailure({
            type: REFUSAL.invalidArgument,
            message: 'a service memory needs a session whose context names its service (context.service)',
            details: { state: record.state, field: 'scope' },
          });
        }
      },
      description: 'Remember something for this session, its agent or its service. Input: {content, scope?, by?}. Returns {memoryId}.',
    },
  );
  /** Edited arguments are checked by the agent against the tool's own schema before the decision is taken. */
  async function checkedReview(raw: unknown): Promise<unknown> {
    const parsed = ReviewInput.safeParse(raw ?? {});
    if (!parsed.success || parsed.data.decision !== 'edit') return raw;
    const review = record.reviews.find((r) => r.id === parsed.data.reviewId);
    if (!review) return raw;
    const check = await activities.checkToolArguments.executeWithOptions({ ...chatOptions, summary: `check arguments of ${review.tool}` }, [
      { tool: review.tool, arguments: parsed.data.arguments ?? {} },
    ]);
    if (!check.ok) {
      throw refusalFailure({
        type: REFUSAL.invalidArgument,
        message: `invalid arguments for ${review.tool}: ${check.field}: ${check.message}`,
        details: { state: record.state, field: `arguments.${check.field}` },
      });
    }
    return { ...parsed.data, arguments: check.arguments };
  }
  setHandler(reviewUpdate, async (i) => applyOrThrow(record.decideReview(await checkedReview(i), now())), {
    validator: (i) => throwIfRefused(record.decideReview(i, now(), false)),
    description: 'Decide a tool call awaiting review. Input: {reviewId, decision: approve|deny|edit, reason?, arguments?, by?}. Returns the session view.',
  });
  setHandler(reviewSignal, async (i) => {
    let checked: unknown;
    try {
      checked = await checkedReview(i);
    } catch (error) {
      const message = error instanceof ApplicationFailure ? error.message : failureReason(error);
      record.record({ type: 'inputRejected', originator: 'system', message: 'review', reason: message, by: byOf(i) }, now());
      return;
    }
    applyOrNote(record.decideReview(checked, now()), i);
  });
  setHandler(approveSignal, (i) => applyOrNote(approve(i), i));
  setHandler(rejectSignal, (i) => applyOrNote(record.decideReject(i, now()), i));
  setHandler(pauseSignal, (i) => applyOrNote(record.decidePause(i, now()), i));
  setHandler(resumeSignal, (i) => applyOrNote(record.decideResume(i, now()), i));
  setHandler(cancelSignal, (i) => {
    const refusal = record.decideCancel(i, now());
    applyOrNote(refusal, i);
    if (!refusal) afterCancel();
  });
  setHandler(alertSignal, (i) => {
    const wasTerminal = isTerminal(record.state);
    applyOrNote(record.decideAlert(i, now()), i);
    if (!wasTerminal && isTerminal(record.state)) afterCancel();
  });
  setHandler(sendSignal, (i) => {
    const outcome = record.decideMessage('send', i, now());
    if ('type' in outcome) applyOrNote(outcome, i);
  });

  setHandler(viewQuery, () => record.view(), { description: 'The session view: state, plan, outputs, lastSeq.' });
  setHandler(timelineQuery, (i) => record.timelinePage(i), {
    description: 'A page of the timeline. Input: {after?: seq, limit?: 1..1000}. Returns {events, lastSeq, state}.',
  });

  // ---- the process -----------------------------------------------------------------------------

  // A cancel delivered with the start has already ended the session: then there is nothing to plan.
  if (record.state === 'queued') {
    if (record.policyError) record.end('failed', record.policyError, 'system', now());
    else record.setState('planning', now());
  }
  else setCurrentDetails(renderDetails(record));

  const facts = () => ({
    sessionId: record.config.id,
    prompt: record.config.prompt,
    title: record.config.title,
    context: record.config.context,
  });

  /** Runs one activity so that `cancel` can interrupt it. Returns undefined if the session ended meanwhile. */
  async function interruptible<T>(fn: () => Promise<T>): Promise<T | undefined> {
    const scope = new CancellationScope();
    current = scope;
    try {
      return await scope.run(fn);
    } catch (error) {
      if (isCancellation(error)) {
        // Our own `cancel` ended the session; otherwise the whole workflow is being cancelled.
        if (isTerminal(record.state)) return undefined;
        throw error;
      }
      if (error instanceof ActivityFailure && !isTerminal(record.state)) {
        // Only a step can be retried or skipped; the plan call and the summary fail the session.
        const inStep = record.state === 'inProgress' && (record.currentStep ?? 0) < (record.plan?.steps.length ?? 0);
        if (inStep && isStepFailure(error)) record.stepFailed(failureReason(error), now());
        else record.end('failed', failureReason(error), 'system', now());
        return undefined;
      }
      throw error;
    } finally {
      current = undefined;
    }
  }

  async function planPhase(): Promise<void> {
    if (record.overBudget()) return record.budgetReached(now());
    const result = await interruptible(() =>
      activities.plan.executeWithOptions({ ...workOptions, summary: `plan (round ${record.round})` }, [
        { ...facts(), round: record.round, feedback: record.feedback, previousPlan: record.plan },
      ]),
    );
    record.addUsage(result?.usage);
    if (!result || record.state !== 'planning') return;
    if (result.recalled?.length) record.record({ type: 'memoryRecalled', originator: 'agent', memories: result.recalled }, now());
    if (result.kind === 'question') {
      record.record({ type: 'agentMessaged', originator: 'agent', message: result.question }, now());
      record.advance('awaitingUserFeedback', now());
      return;
    }
    const planId = `plan-${record.round}`;
    const steps: PlanStep[] = result.steps.map((s, index) => ({
      id: `${planId}-step-${index + 1}`,
      index,
      title: s.title,
      description: s.description,
      ...(s.tools ? { tools: s.tools } : {}),
    }));
    record.plan = { id: planId, hash: planHash({ title: result.title, steps }), title: result.title, steps };
    // Approvals bind to the plan they saw: a new plan starts with none.
    record.approvals = [];
    record.escalated = false;
    record.stepOutcomes = [];
    record.record({ type: 'planGenerated', originator: 'agent', plan: record.plan }, now());
    if (record.config.requirePlanApproval) {
      record.advance('awaitingPlanApproval', now());
    } else {
      record.record({ type: 'planApproved', originator: 'system', planId, by: 'system (approval not required)' }, now());
      record.currentStep = 0;
      record.advance('inProgress', now());
    }
  }

  async function stepPhase(): Promise<void> {
    const plan = record.plan!;
    const step = plan.steps[record.currentStep ?? 0];
    if (step?.tools) return workThroughTools(step);
    if (step) {
      const result = await interruptible(() =>
        activities.executeStep.executeWithOptions({ ...workOptions, summary: `step ${step.index + 1}/${plan.steps.length}: ${step.title}` }, [
          { ...facts(), plan, step, previous: record.stepOutcomes },
        ]),
      );
      if (!result || record.state !== 'inProgress') return;
      const title = result.title ?? step.title;
      record.record({ type: 'progressUpdated', originator: 'agent', title, description: result.description, stepId: step.id, artifacts: result.artifacts }, now());
      record.stepOutcomes.push({ stepId: step.id, title, description: result.description });
      record.currentStep = step.index + 1;
      // Every step ends at a boundary where a requested pause takes effect, the last one included:
      // on resume, the loop comes back here and goes on to the summary.
      record.advance('inProgress', now());
      if (record.state !== 'inProgress' || record.currentStep < plan.steps.length) return;
    }
    const summary = await interruptible(() =>
      quick.summarize.executeWithOptions({ ...quickOptions, summary: 'summarize' }, [{ ...facts(), plan, steps: record.stepOutcomes }]),
    );
    record.addUsage(summary?.usage);
    if (!summary || record.state !== 'inProgress') return;
    record.complete(summary.summary, summary.outputs, now());
  }

  /**
   * One unit of a step an agent carries out through tools: a model turn, or the next tool call
   * (run, or denied, or waited for while its review is open). The main loop calls it again until
   * the step is done, so pauses, cancels and continue-as-new fall between units.
   */
  async function workThroughTools(step: PlanStep): Promise<void> {
    const plan = record.plan!;
    const work = record.workOn(step);
    const next = record.nextCall();
    if (next) {
      if (next.waiting) return record.awaitReview(now());
      const { call, decision } = next;
      if (decision?.decision === 'deny') {
        record.callDone(call, { status: 'denied', output: `denied by ${decision.by}: ${decision.reason ?? 'no reason given'}` }, now());
      } else {
        const args = decision?.arguments ?? call.arguments;
        const result = await interruptible(() =>
          activities.runTool.executeWithOptions({ ...workOptions, summary: `tool ${call.tool} (step ${step.index + 1})` }, [
            { sessionId: record.config.id, stepId: step.id, call: { ...call, arguments: args } },
          ]),
        );
        if (!result || record.state !== 'inProgress') return;
        record.callDone(call, result, now());
      }
      return record.advance('inProgress', now());
    }
    if (record.overBudget()) return record.budgetReached(now());
    const turn = await interruptible(() =>
      activities.turn.executeWithOptions({ ...workOptions, summary: `step ${step.index + 1}/${plan.steps.length}, turn ${work.turn + 1}: ${step.title}` }, [
        { ...facts(), plan, step, previous: record.stepOutcomes, turn: work.turn, toolResults: work.results },
      ]),
    );
    if (!turn || record.state !== 'inProgress') return;
    const open = new Set(record.reviews.map((r) => r.id));
    if (record.turnTaken(step, turn, now())) record.workDone(step, turn.text, now());
    for (const review of record.reviews.filter((r) => !open.has(r.id))) announce({ kind: 'reviewRequested', review });
    record.advance('inProgress', now());
  }

  async function chatLoop(): Promise<void> {
    for (;;) {
      await condition(() => record.queue.length > 0 || closing);
      const message = record.queue[0];
      if (!message) return;
      // A session that failed or was cancelled does not call the agent again; its open asks are told so.
      // Checked on the state, not on `closing`: a message accepted in the same activation as a cancel
      // wakes this loop before the main loop has seen the cancel and set `closing`.
      if (record.state === 'failed' || record.state === 'cancelled') {
        record.queue = [];
        return;
      }
      chatBusy = true;
      try {
        const request = { ...facts(), state: record.state, plan: record.plan, message: message.text, transcript: record.transcript() };
        const summary = `reply to ${message.id}`;
        // Replies used to run as local activities, which froze the whole session (commands,
        // queries, cancel) while a reply was written; sessions started before keep that shape.
        replying = new CancellationScope();
        const { message: reply, usage } = await replying.run(() =>
          patched(REPLIES_AS_ACTIVITIES)
            ? activities.reply.executeWithOptions({ ...chatOptions, summary }, [request])
            : quick.reply.executeWithOptions({ ...quickOptions, summary }, [request]),
        );
        record.addUsage(usage);
        record.answer(message.id, reply, now());
        // A question asked in the session's Slack thread is answered there.
        if (message.by.startsWith('slack:')) announce({ kind: 'agentReplied', reply: { messageId: message.id, text: reply } });
      } catch (error) {
        if (isCancellation(error)) {
          // The session ended (its waiting ask hears SessionEnded), or the workflow is being cancelled.
          if (!isTerminal(record.state)) throw error;
          record.queue = record.queue.filter((m) => m.id !== message.id);
          continue;
        }
        // An unanswerable message must not sink the session: note it and go on with the next.
        replyFailures.set(message.id, failureReason(error));
        // Only a waiting ask reads (and removes) its entry; failed replies to sends must not pile up.
        if (replyFailures.size > 200) replyFailures.delete(replyFailures.keys().next().value as string);
        record.queue = record.queue.filter((m) => m.id !== message.id);
        record.record(
          { type: 'inputRejected', originator: 'system', message: message.text, reason: `the agent could not reply: ${failureReason(error)}`, by: message.by },
          now(),
        );
      } finally {
        chatBusy = false;
        replying = undefined;
      }
    }
  }

  /**
   * Sends notifications one at a time, beside the session: a slow or rate-limited chat service
   * delays the announcement, never the session. A notification that cannot be sent is given up.
   */
  async function notifyLoop(): Promise<void> {
    for (;;) {
      await condition(() => record.outbox.length > 0 || closing);
      // Taken off the queue before sending: `announce` may drop queued state updates meanwhile
      // (a newer view supersedes them), and must not drop the one in flight instead.
      const outgoing = record.outbox.shift();
      if (!outgoing || !targets) return;
      notifying = true;
      try {
        const result = await activities.notify.executeWithOptions({ ...notifyOptions, summary: `notify: ${outgoing.kind}` }, [
          { ...outgoing, targets, view: record.view(), slack: record.slack },
        ]);
        if (result.slack && !record.slack) {
          record.slack = result.slack;
          upsertSearchAttributes([{ key: SLACK_THREAD_ATTRIBUTE, value: `${result.slack.channel}:${result.slack.ts}` }]);
        }
      } catch (error) {
        if (isCancellation(error)) throw error;
      } finally {
        notifying = false;
      }
    }
  }

  /**
   * Waits for a decision under a deadline: reminds every `remindEvery`, widens the circle at
   * `escalateAfter`, and at `after` lets the policy decide. Each wait is one timer in history,
   * and only sessions whose policy has a deadline pay for it.
   */
  async function awaitDecision(deadline: NonNullable<ApprovalPolicy['deadline']>): Promise<void> {
    const since = Date.parse(record.awaitingSince ?? record.updateTime);
    for (;;) {
      const deadlineAt = since + deadline.after;
      const escalateAt = deadline.escalateAfter !== undefined && !record.escalated ? since + deadline.escalateAfter : Infinity;
      const remindAt = deadline.remindEvery ? since + deadline.remindEvery * (record.reminders + 1) : Infinity;
      const next = Math.min(deadlineAt, escalateAt, remindAt);
      const decided = await condition(() => record.state !== 'awaitingPlanApproval' || canContinueAsNew(), Math.max(next - Date.now(), 1));
      if (decided) return;
      const at = Date.now();
      if (at >= deadlineAt) {
        record.deadlinePassed(deadline.action, now());
        return;
      }
      const planId = record.plan!.id;
      if (at >= escalateAt) {
        record.escalated = true;
        record.record({ type: 'approvalEscalated', originator: 'system', planId, escalateTo: deadline.escalateTo }, now());
        announce({ kind: 'approvalEscalated', escalateTo: deadline.escalateTo });
      }
      if (at >= remindAt) {
        record.reminders += 1;
        record.record({ type: 'approvalReminded', originator: 'system', planId, waitingMs: at - since }, now());
        announce({ kind: 'approvalReminder' });
      }
    }
  }

  /** Waits for reviews under the session's review policy: a review nobody decided in time is denied. */
  async function awaitReviews(): Promise<void> {
    const expiry = record.nextReviewExpiry()!;
    const moved = await condition(() => record.state !== 'awaitingUserFeedback' || record.nextReviewExpiry() !== expiry || canContinueAsNew(), Math.max(expiry - Date.now(), 1));
    if (!moved) record.expireReviews(now());
  }

  const canContinueAsNew = () => workflowInfo().continueAsNewSuggested && !chatBusy && !notifying && allHandlersFinished();
  async function continueAsNewIfSuggested(): Promise<void> {
    if (!canContinueAsNew()) return;
    await continueAsNew<typeof andonSession>({ config: input.config, carried: record.carry() });
  }

  const chatting = chatLoop().catch((error) => {
    if (!isCancellation(error)) throw error;
  });
  const notifications = (targets ? notifyLoop() : Promise.resolve()).catch((error) => {
    if (!isCancellation(error)) throw error;
  });

  try {
    await runToEnd();
  } catch (error) {
    // `temporal workflow cancel` (or a parent) cancelled the workflow: that is the andon cord too.
    if (!isCancellation(error)) throw error;
    if (!isTerminal(record.state)) record.end('cancelled', 'the workflow was cancelled through Temporal', 'temporal', now());
  }
  closing = true;
  await CancellationScope.nonCancellable(async () => {
    await chatting;
    await notifications;
    await condition(allHandlersFinished);
  });
  return record.view();

  async function runToEnd(): Promise<void> {
    while (!isTerminal(record.state)) {
      await continueAsNewIfSuggested();
      const state = record.state;
      if (state === 'planning') await planPhase();
      else if (state === 'inProgress') await stepPhase();
      else if (state === 'awaitingPlanApproval' && record.policy.deadline) await awaitDecision(record.policy.deadline);
      else if (state === 'awaitingUserFeedback' && record.nextReviewExpiry() !== undefined) await awaitReviews();
      // Waiting states: a handler moves the session on (approve, reject, answer, resume, cancel).
      else await condition(() => record.state !== state || canContinueAsNew());
    }

    if (record.state === 'completed' && input.config.followUpWindowMs > 0) {
      // Follow-up window: keep answering; every new message restarts it.
      for (;;) {
        const seen = record.acceptedMessages;
        const more = await condition(() => record.acceptedMessages !== seen || canContinueAsNew(), input.config.followUpWindowMs);
        if (!more) break;
        await continueAsNewIfSuggested();
      }
    }
  }
}

function byOf(raw: unknown): string | undefined {
  const by = (raw as { by?: unknown } | null)?.by;
  return typeof by === 'string' ? by : undefined;
}

function refusalFailure(refusal: Refusal): ApplicationFailure {
  return ApplicationFailure.create({ type: refusal.type, message: refusal.message, details: [refusal.details], nonRetryable: true });
}

function throwIfRefused(refusal: Refusal | undefined): void {
  if (refusal) throw refusalFailure(refusal);
}

/** The backend said the step failed in a way a person should judge (AgentError code `StepFailed`). */
function isStepFailure(error: ActivityFailure): boolean {
  const cause = error.cause;
  return cause instanceof ApplicationFailure && cause.type === AGENT_REJECTED && cause.details?.[0] === STEP_FAILED;
}

function failureReason(error: unknown): string {
  if (error instanceof ActivityFailure) {
    const cause = error.cause;
    if (cause instanceof ApplicationFailure && cause.type === 'ActivityTimeout') return cause.message;
    return cause?.message ?? error.message;
  }
  return error instanceof Error ? error.message : String(error);
}
