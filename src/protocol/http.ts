/**
 * The HTTP contract of the session API: request and response schemas, built from the session
 * model (src/session/schema.ts) and the workflow's message inputs (inputs.ts). Temporal-free: the
 * HTTP client loads it.
 *
 * Differences from those, on purpose:
 * - No `by` / `requestedBy` in bodies: who acted is the authenticated token (`api:<name>`).
 * - Bodies are strict: a misspelt `planId` must be refused, not ignored (it would approve
 *   whatever plan is current).
 * - Durations are `number | "30s"` rather than a preprocess, so the OpenAPI document can
 *   describe them.
 */
import { z } from 'zod';
import { ListFilter, PendingReview, SessionSummary } from './list';
import {
  AgentName,
  PublishPolicy,
  Review,
  ReviewDecision,
  SessionConfig,
  SessionId,
  SessionSource,
  SessionState,
  parseDuration,
} from '../session/schema';
import {
  ApproveInput,
  CancelInput,
  DecideStepInput,
  MessageInput,
  PauseInput,
  RejectInput,
  ResumeInput,
  ReviewInput,
  WriteMemoryInput,
} from './inputs';

const DURATION_TEXT = /^\d+(ms|s|m|h|d)$/;

const DurationInput = z
  .union([z.number().int().nonnegative(), z.string().regex(DURATION_TEXT, 'expected a duration such as "30s", "10m" or "2h"')])
  .describe('milliseconds, or a duration such as "500ms", "30s", "10m", "2h", "1d"');

function toMs(value: number | string): number {
  return typeof value === 'number' ? value : parseDuration(value);
}

/** `?state=a&state=b` and `?state=a,b` both mean a or b. */
const States = z
  .union([z.string(), z.array(z.string())])
  .transform((value) =>
    [value]
      .flat()
      .flatMap((part) => part.split(','))
      .map((part) => part.trim())
      .filter((part) => part !== ''),
  )
  .pipe(z.array(SessionState).min(1))
  .describe(`one or more of ${SessionState.options.join(', ')}; repeat the parameter or separate with commas`);

const Count = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

// ---------------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------------

export const SessionParams = z.object({ id: SessionId });

// `approval`, `budget` and `review` are not taken from callers: the service's configured policies
// apply, so an API caller cannot weaken who must approve their own session, lift its spending
// limit or let its tool calls wait forever.
export const CreateSessionBody = SessionConfig.omit({
  requestedBy: true,
  followUpWindow: true,
  requirePlanApproval: true,
  approval: true,
  budget: true,
  review: true,
})
  .extend({
    /** Unset: the service's configured default (sessions.requirePlanApproval). */
    requirePlanApproval: z.boolean().optional(),
    followUpWindow: DurationInput.optional(),
    source: SessionSource.optional().describe(
      'the repository a code session works on: { github: "owner/repo", branch? } or { git: "<clone URL or path>", branch? } (docs/code-sessions.md); no credentials in URLs',
    ),
    publish: PublishPolicy.optional().describe(
      'what a code session does with its change: mode none | branch | pullRequest (unset: pullRequest for github, branch for git), approveChanges, draft',
    ),
    agent: AgentName.optional().describe(
      "which of the worker's agents works on the session (docs/agents.md); unset: the worker's default agent",
    ),
  })
  .strict();

export const ListQuery = z.object({
  state: States.optional(),
  text: ListFilter.shape.text.describe('words in the title'),
  service: ListFilter.shape.service.describe("the session's service (context.service, e.g. the alert label)"),
  since: z
    .string()
    .transform((value, ctx) => {
      const date = DURATION_TEXT.test(value) ? new Date(Date.now() - parseDuration(value)) : new Date(value);
      // A duration beyond the calendar ("9999999999d") gives an invalid date too; a year outside
      // 1-9999 is one a visibility query cannot hold (Temporal refuses it).
      const year = date.getUTCFullYear();
      if (Number.isNaN(date.getTime()) || year < 1 || year > 9999) {
        ctx.addIssue({ code: 'custom', message: 'expected an ISO 8601 time or a duration such as "2h"' });
        return z.NEVER;
      }
      return date;
    })
    .optional()
    .describe('sessions created after this: an ISO 8601 time, or a duration back from now such as "2h"'),
  limit: Count(1, 1_000).default(100),
});

export const TimelineQuery = z.object({
  after: z.coerce.number().int().nonnegative().default(0).describe('return events with a sequence number greater than this'),
  limit: Count(1, 1_000).default(200),
});

export const WaitQuery = z.object({
  state: States,
  timeout: z
    .union([z.coerce.number().int().nonnegative(), z.string().regex(DURATION_TEXT)])
    .transform(toMs)
    .pipe(z.number().max(120_000, 'must be at most 2m'))
    .default(30_000)
    .describe('how long to wait, at most 2m (default 30s): milliseconds or "30s"'),
});

/** Bodies whose fields are all optional may be left out: fastify then hands over `null`. */
function optionalBody<T extends z.ZodObject>(schema: T) {
  return schema.nullish().transform((body) => body ?? ({} as z.output<T>));
}

export const ApproveBody = optionalBody(ApproveInput.omit({ by: true }).strict());
export const RejectBody = RejectInput.omit({ by: true }).strict();
export const SendBody = MessageInput.omit({ by: true }).strict();
export const AskBody = MessageInput.omit({ by: true })
  .extend({ timeoutMs: z.number().int().min(100).optional().describe("at most the service's ask timeout (default 60 s)") })
  .strict();
export const PauseBody = optionalBody(PauseInput.omit({ by: true }).strict());
export const ResumeBody = optionalBody(ResumeInput.omit({ by: true }).strict());
export const CancelBody = CancelInput.omit({ by: true }).strict();
export const DecideStepBody = DecideStepInput.omit({ by: true }).strict();
export const WriteMemoryBody = WriteMemoryInput.omit({ by: true }).strict();

export const ReviewParams = SessionParams.extend({ reviewId: ReviewInput.shape.reviewId });
export const ReviewsQuery = z.object({ limit: Count(1, 1_000).default(100) });
/**
 * ReviewInput without `reviewId` (it is in the path) and `by`. Its rules (a denial needs a
 * reason, an edit its arguments, arguments only with edit) are the SDK's, checked when the call
 * is made, so they have one definition and one wording.
 */
export const ReviewBody = z
  .object({
    decision: ReviewDecision,
    reason: ReviewInput.shape.reason.describe('why: required to deny (the model reads it), optional otherwise'),
    arguments: ReviewInput.shape.arguments.describe(
      "required to edit, and only then: the arguments the call runs with instead, checked against the tool's schema",
    ),
  })
  .strict();

// ---------------------------------------------------------------------------------------------
// Responses
// ---------------------------------------------------------------------------------------------

export const SessionList = z.object({ sessions: z.array(SessionSummary) });
export const MessageAccepted = z.object({ messageId: z.string() });
export const AskReply = z.object({ messageId: z.string(), reply: z.string() });
export const MemoryWritten = z.object({ memoryId: z.string() });
export const SessionReviews = z.object({ reviews: z.array(Review) });
export const PendingReviews = z.object({ reviews: z.array(PendingReview) });

export { SessionView, TimelinePage } from '../session/schema';
