/**
 * The surface shared by the two ways of reaching andon: the Temporal SDK (`Andon`,
 * `SessionClient`) and the HTTP service (`AndonHttp`, `HttpSessionClient`). Code written against
 * these interfaces, such as the CLI's commands, runs over either.
 *
 * Who acted (`by`, `requestedBy`) is left out: over HTTP the service records the token's name,
 * and a client cannot choose it. So are a session's `approval`, `budget` and `review` policies:
 * the service applies its configured ones, so a caller cannot weaken who must approve their own
 * session or lift its spending limit (a person raises a spent budget with `resume`).
 */
import type { PendingReview, SessionSummary } from '../protocol/list';
import type { TimeoutOption } from './calls';
import type { SessionOutcome } from './outcome';
import type { Budget, Review, SessionConfig, SessionState, SessionView, TimelineEvent, TimelinePage } from '../session/schema';
import type { AskResult, MemoryScope, ReviewDecisionInput, StepDecision } from '../protocol/inputs';

export type NewSession = Omit<SessionConfig, 'requestedBy' | 'approval' | 'budget' | 'review'>;

export type { ReviewDecisionInput };

export type { PendingReview };

export interface SessionFilter {
  state?: SessionState | SessionState[];
  /** Words in the title. */
  text?: string;
  /** The session's `context.service`. */
  service?: string;
  createdAfter?: Date;
  limit?: number;
}

export interface SessionApi {
  readonly id: string;
  info(options?: TimeoutOption): Promise<SessionView>;
  timeline(options?: { after?: number; limit?: number } & TimeoutOption): Promise<TimelinePage>;
  /** The plan awaiting approval, or a code session's change set (`changeSetHash`: the diff the approver saw, view.workspace.changeSetHash). */
  approve(options?: { planId?: string; changeSetHash?: string; comment?: string } & TimeoutOption): Promise<SessionView>;
  /** The plan, or a code session's change set; `planHash`/`changeSetHash` bind the rejection to what the person saw. */
  reject(
    reason: string,
    options?: { planId?: string; planHash?: string; changeSetHash?: string; replan?: boolean } & TimeoutOption,
  ): Promise<SessionView>;
  ask(message: string, options?: { messageId?: string } & TimeoutOption): Promise<AskResult>;
  send(message: string, options?: { messageId?: string } & TimeoutOption): Promise<{ messageId: string }>;
  /** Remembers something for this session (default), its agent, or its service. */
  writeMemory(content: string, options?: { scope?: MemoryScope } & TimeoutOption): Promise<{ memoryId: string }>;
  pause(options?: { reason?: string } & TimeoutOption): Promise<SessionView>;
  /** A session paused because it spent its budget resumes only with a higher `budget`. */
  resume(options?: { budget?: Budget } & TimeoutOption): Promise<SessionView>;
  /**
   * Decides a failed step (retry, skip or abort) under the session's approval policy: needs the
   * `approve` scope over HTTP. InvalidStateError when no failed step awaits a decision.
   */
  decideStep(decision: StepDecision, options?: { stepId?: string; reason?: string } & TimeoutOption): Promise<SessionView>;
  /** Tool calls of this session awaiting review, oldest first. */
  reviews(options?: TimeoutOption): Promise<Review[]>;
  /** Decides a tool call awaiting review. InvalidStateError when none awaits review under `reviewId`. */
  review(reviewId: string, decision: ReviewDecisionInput, options?: TimeoutOption): Promise<SessionView>;
  cancel(reason: string, options?: TimeoutOption): Promise<SessionView>;
  /** The timeline after `after`, then live events; ends after the event that ends the session, or on `signal`. */
  stream(options?: { after?: number; signal?: AbortSignal }): AsyncIterable<TimelineEvent>;
  waitFor(states: SessionState | SessionState[], options?: TimeoutOption): Promise<SessionView>;
  result(options?: TimeoutOption): Promise<SessionOutcome>;
}

export interface AndonApi {
  /** Creates a session; an `id` that exists gives that session, never a second one. */
  session(config: NewSession): Promise<SessionApi>;
  /** Attaches to a session by id, without a network call. */
  session(id: string): SessionApi;
  readonly sessions: { list(filter?: SessionFilter): Promise<SessionSummary[]> };
  /** Tool calls awaiting review across running sessions, oldest first. */
  readonly reviews: { list(options?: { limit?: number }): Promise<PendingReview[]> };
  close(): Promise<void>;
}
