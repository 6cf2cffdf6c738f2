/**
 * Every message a session workflow understands: names, inputs (zod) and results. Clients import
 * these definitions; docs/protocol.md documents the same names and JSON shapes for callers that
 * do not use andon's code (the `temporal` CLI, other SDKs, chat tools).
 *
 * Each command exists as an update (the caller gets the new view, or a clear refusal) and, where
 * fire-and-forget makes sense, as a signal of the same name (a refusal is recorded on the timeline
 * as `inputRejected`, since a signal has nobody to answer).
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { AlertNotification, SessionView, TimelinePage } from '../session/schema';
import type {
  AgentEventsInput,
  ApproveInput,
  AskResult,
  CancelInput,
  DecideStepInput,
  MessageInput,
  PauseInput,
  RejectInput,
  ResumeInput,
  ReviewInput,
  TimelineQueryInput,
  WaitForEventsInput,
  WriteMemoryInput,
} from './inputs';

// The inputs and refusal codes are Temporal-free (inputs.ts, refusals.ts); re-exported so workflow
// code has one import for its messages.
export * from './inputs';
export * from './refusals';

// Updates: the caller needs an answer or a clear refusal.
export const approveUpdate = defineUpdate<SessionView, [ApproveInput]>('approve');
export const rejectUpdate = defineUpdate<SessionView, [RejectInput]>('reject');
export const askUpdate = defineUpdate<AskResult, [MessageInput]>('ask');
export const pauseUpdate = defineUpdate<SessionView, [PauseInput]>('pause');
export const resumeUpdate = defineUpdate<SessionView, [ResumeInput]>('resume');
export const cancelUpdate = defineUpdate<SessionView, [CancelInput]>('cancel');
export const reviewUpdate = defineUpdate<SessionView, [ReviewInput]>('review');
export const decideStepUpdate = defineUpdate<SessionView, [DecideStepInput]>('decideStep');
export const writeMemoryUpdate = defineUpdate<{ memoryId: string }, [WriteMemoryInput]>('writeMemory');
/**
 * A watcher's long poll: answers with the events after `after` as soon as there is one (or with
 * none when the run is about to continue as new or close: ask again). Refused (validator, nothing
 * in history) when too many watchers wait already or the run is draining: read the timeline query then.
 */
export const waitForEventsUpdate = defineUpdate<TimelinePage, [WaitForEventsInput]>('waitForEvents');

// Signals: fire-and-forget, same names and inputs.
export const approveSignal = defineSignal<[ApproveInput]>('approve');
export const rejectSignal = defineSignal<[RejectInput]>('reject');
export const sendSignal = defineSignal<[MessageInput]>('send');
export const pauseSignal = defineSignal<[PauseInput]>('pause');
export const resumeSignal = defineSignal<[ResumeInput]>('resume');
export const cancelSignal = defineSignal<[CancelInput]>('cancel');
export const reviewSignal = defineSignal<[ReviewInput]>('review');
export const decideStepSignal = defineSignal<[DecideStepInput]>('decideStep');
/** An alert notification (see AlertNotification); sent with signal-with-start by alert receivers. */
export const alertSignal = defineSignal<[AlertNotification]>('alert');
/** Events an agent's running activity puts on the timeline (an external agent's progress); sent by the worker. */
export const agentEventsSignal = defineSignal<[AgentEventsInput]>('agentEvents');

// Queries: reads that never change anything.
export const viewQuery = defineQuery<SessionView>('view');
export const timelineQuery = defineQuery<TimelinePage, [TimelineQueryInput?]>('timeline');
