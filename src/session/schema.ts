/**
 * The session model: every shape that crosses a boundary (client ⇄ Temporal ⇄ workflow ⇄
 * activities ⇄ backend) is defined here once, as a zod schema, and its type derived from it.
 *
 * This module is imported by workflow code, so it must stay deterministic: no I/O, no clocks.
 */
import { z } from 'zod';

/** Every state a session can be in. Names follow the Jules API so moving over feels familiar. */
export const SESSION_STATES = [
  'unspecified',
  'creating',
  'queued',
  'planning',
  'awaitingPlanApproval',
  'awaitingUserFeedback',
  'inProgress',
  /** A code session's change set awaits approval before it is published (publish.approveChanges). */
  'awaitingChangeApproval',
  'paused',
  'completed',
  'failed',
  'cancelled',
] as const;
export const SessionState = z.enum(SESSION_STATES);
export type SessionState = z.infer<typeof SessionState>;

export const TERMINAL_STATES: readonly SessionState[] = ['completed', 'failed', 'cancelled'];
export function isTerminal(state: SessionState): boolean {
  return TERMINAL_STATES.includes(state);
}

export const Originator = z.enum(['user', 'agent', 'system']);
export type Originator = z.infer<typeof Originator>;

/** A session id is also its Temporal workflow id, so keep it URL- and CLI-safe. */
export const SessionId = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/,
    'expected 1-128 characters: letters, digits, ".", "_", ":" or "-", starting with a letter or digit',
  );
export type SessionId = z.infer<typeof SessionId>;

/** Who did something: a free-form identity such as "cli:alice", "slack:U0123" or "system". */
export const Actor = z.string().trim().min(1).max(200);

/** Messages are bounded so a single payload can never approach Temporal's 2 MB limit. */
export const MAX_MESSAGE_CHARS = 32_000;
export const MessageText = z.string().trim().min(1, 'must not be empty').max(MAX_MESSAGE_CHARS);

export { Duration, parseDuration } from './duration';
import { Duration } from './duration';
import { ApprovalPolicy } from './approval';

// ---------------------------------------------------------------------------------------------
// Plans, artifacts and outputs
// ---------------------------------------------------------------------------------------------

/**
 * A tool call the approved plan allows: the tool, and exactly the arguments the call must have
 * (a call with any other argument, or a grant naming none for a call that has some, is reviewed).
 * This is the plan as a contract.
 */
export const ToolGrant = z.object({
  tool: z.string().min(1).max(200),
  arguments: z.record(z.string(), z.unknown()).optional(),
});
export type ToolGrant = z.infer<typeof ToolGrant>;

export const PlanStep = z.object({
  id: z.string(),
  index: z.number().int().nonnegative(),
  title: z.string(),
  description: z.string().default(''),
  /**
   * Set by agents that work through tools (the LLM agent): the step is carried out by model turns,
   * and these are the tool calls it may make without review. Steps without it run in one call.
   */
  tools: z.array(ToolGrant).optional(),
});
export type PlanStep = z.infer<typeof PlanStep>;

export const Plan = z.object({
  id: z.string(),
  /** Fingerprint of the plan's content; an approval binds to it (see approval.ts). */
  hash: z.string().optional(),
  title: z.string().optional(),
  steps: z.array(PlanStep).min(1),
});
export type Plan = z.infer<typeof Plan>;

export const GitPatch = z.object({
  unidiffPatch: z.string(),
  baseCommitId: z.string().optional(),
  suggestedCommitMessage: z.string().optional(),
});

export const Artifact = z.discriminatedUnion('type', [
  z.object({ type: z.literal('changeSet'), source: z.string().optional(), gitPatch: GitPatch }),
  z.object({ type: z.literal('bashOutput'), command: z.string(), output: z.string(), exitCode: z.number().int() }),
  z.object({ type: z.literal('media'), mimeType: z.string(), data: z.string() }),
]);
export type Artifact = z.infer<typeof Artifact>;

export const PullRequest = z.object({
  url: z.string(),
  title: z.string(),
  description: z.string().default(''),
});

export const Output = z.discriminatedUnion('type', [
  z.object({ type: z.literal('pullRequest'), pullRequest: PullRequest }),
  z.object({ type: z.literal('changeSet'), gitPatch: GitPatch }),
]);
export type Output = z.infer<typeof Output>;

// ---------------------------------------------------------------------------------------------
// Tools, reviews and budgets (agents that work through tools)
// ---------------------------------------------------------------------------------------------

/** Tool arguments: a JSON object. */
export const ToolArguments = z.record(z.string(), z.unknown());

/** A tool call the model asked for. */
export const ToolCall = z.object({
  id: z.string().min(1),
  tool: z.string().min(1),
  arguments: ToolArguments,
  /** The worker's configuration marks this tool risky: every call is reviewed, in the plan or not. */
  risky: z.boolean().default(false),
});
export type ToolCall = z.infer<typeof ToolCall>;

/**
 * A tool call waiting for a person's decision: approve it, deny it (the model sees the reason), or
 * edit its arguments. Why: `outsidePlan` (the approved plan does not allow this call) or `risky`.
 */
export const Review = z.object({
  id: z.string(),
  stepId: z.string(),
  toolCallId: z.string(),
  tool: z.string(),
  arguments: ToolArguments,
  reason: z.enum(['outsidePlan', 'risky']),
  createdAt: z.string(),
  /** When an undecided review is denied on its own (the session's review policy). */
  expiresAt: z.string().optional(),
});
export type Review = z.infer<typeof Review>;

export const ReviewDecision = z.enum(['approve', 'deny', 'edit']);
export type ReviewDecision = z.infer<typeof ReviewDecision>;

/** What the models of a session consumed so far. `costUsd` counts only models with configured prices. */
export const Usage = z.object({
  inputTokens: z.number().int().nonnegative(),
  outputTokens: z.number().int().nonnegative(),
  costUsd: z.number().nonnegative(),
});
export type Usage = z.infer<typeof Usage>;
export const NO_USAGE: Usage = { inputTokens: 0, outputTokens: 0, costUsd: 0 };

/** A session's spending limit: reaching either pauses the session until a person raises it or cancels. */
export const Budget = z
  .object({
    /** Input plus output tokens. */
    tokens: z.number().int().positive().optional(),
    costUsd: z.number().positive().optional(),
  })
  .refine((b) => b.tokens !== undefined || b.costUsd !== undefined, { message: 'expected tokens, costUsd or both' });
export type Budget = z.infer<typeof Budget>;

/** How long a review may wait before it is denied on its own. Unset: it waits for a person. */
export const ReviewPolicy = z.object({ expireAfter: Duration.optional() });
export type ReviewPolicyInput = z.input<typeof ReviewPolicy>;

// ---------------------------------------------------------------------------------------------
// Creating a session
// ---------------------------------------------------------------------------------------------

// ---------------------------------------------------------------------------------------------
// Code sessions: a repository source, its working tree, publishing (docs/code-sessions.md)
// ---------------------------------------------------------------------------------------------

/** A GitHub repository as Jules names it: `owner/repo`. */
export const GitHubRepoName = z
  .string()
  .regex(/^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\/[A-Za-z0-9._-]{1,100}$/, 'expected "owner/repo" (a GitHub repository)')
  .refine((name) => !name.endsWith('.git') && !/\/\.{1,2}$/.test(name), 'expected "owner/repo" without ".git"');

/**
 * A branch name git accepts (`git check-ref-format --branch`), checked without running git so the
 * same rule holds in the SDK, the service and workflow code. Never starts with "-" (no option
 * injection into git's argv).
 */
export const BranchName = z
  .string()
  .min(1)
  .max(200)
  .refine(
    (name) =>
      // eslint-disable-next-line no-control-regex -- control characters are exactly what git refuses
      !/[\x00-\x20\x7f~^:?*[\\]/.test(name) &&
      !name.startsWith('-') &&
      !name.startsWith('/') &&
      !name.endsWith('/') &&
      !name.endsWith('.') &&
      !name.endsWith('.lock') &&
      !name.includes('..') &&
      !name.includes('//') &&
      !name.includes('@{') &&
      !name.split('/').some((part) => part.startsWith('.')) &&
      name !== '@',
    'expected a valid git branch name (no spaces, "..", "~^:?*[\\", leading "-" or ".", trailing "/" or ".lock")',
  );

/** A clone URL or a local path: no control characters, never read as a git option. */
const GitLocation = z
  .string()
  .min(1)
  .max(2_000)
  // eslint-disable-next-line no-control-regex -- a location with control characters is refused, not cleaned
  .refine((location) => !/[\x00-\x1f\x7f]/.test(location), 'must not contain control characters')
  .refine((location) => !location.startsWith('-'), 'must not start with "-"')
  // Credentials belong to the worker's configuration: a password in the URL would land in history.
  // An http(s) URL's user part is a token as often as a name: refused whole.
  .refine(
    (location) => !/^[a-z][a-z0-9+.-]*:\/\/[^/@]*:[^/@]*@/i.test(location) && !/^https?:\/\/[^/@]*@/i.test(location),
    'must not carry credentials (configure them on the worker)',
  )
  // `ext::<command>`, `fd::`: git remote helpers that run commands or read descriptors.
  .refine((location) => !/^[A-Za-z][A-Za-z0-9+.-]*::/.test(location), 'must not name a git remote helper ("<transport>::")');

/**
 * Where a code session works. `{ github: 'owner/repo', branch? }` is Jules' shape (`baseBranch`, as
 * @google/jules-sdk names it, is accepted too); `{ git: url-or-path, branch? }` is any other host or
 * a local repository. Unset branch: the repository's default branch. The worker clones it with its
 * own credentials, which never travel with the session.
 */
export const SessionSource = z.union(
  [
    z
      .object({ github: GitHubRepoName, branch: BranchName.optional(), baseBranch: BranchName.optional() })
      .strict()
      .transform(({ github, branch, baseBranch }) => ({ github, ...((branch ?? baseBranch) ? { branch: branch ?? baseBranch } : {}) })),
    z.object({ git: GitLocation, branch: BranchName.optional() }).strict(),
  ],
  // A union names no field when it fails: say what was wrong with the shape the caller chose.
  { error: (issue) => sourceProblem(issue as { input?: unknown; errors?: { path: PropertyKey[]; message: string }[][] }) },
);
function sourceProblem(issue: { input?: unknown; errors?: { path: PropertyKey[]; message: string }[][] }): string {
  const input = issue.input;
  const chosen = typeof input === 'object' && input !== null ? ('github' in input ? 0 : 'git' in input ? 1 : -1) : -1;
  const first = chosen >= 0 ? issue.errors?.[chosen]?.[0] : undefined;
  if (!first) return 'expected { github: "owner/repo", branch? } or { git: "<clone URL or path>", branch? }';
  return first.path.length > 0 ? `${first.path.join('.')}: ${first.message}` : first.message;
}
export type SessionSourceInput = z.input<typeof SessionSource>;
export type SessionSource = { github: string; branch?: string } | { git: string; branch?: string };

/** A source as one line, for messages, logs and Slack: `github:owner/repo@main`, `git:/srv/repo.git`. */
export function describeSource(source: SessionSource): string {
  const where = 'github' in source ? `github:${source.github}` : `git:${redactUrl(source.git)}`;
  return source.branch ? `${where}@${source.branch}` : where;
}

/** A URL with any user:password part removed (a clone URL may carry one; it must never be shown). */
export function redactUrl(location: string): string {
  return location.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@]*@/i, '$1***@');
}

/**
 * What a code session does with its change once the steps are done: nothing, push a branch
 * (`andon/<session-id>`), or push a branch and open a pull request (GitHub sources). With
 * `approveChanges`, the final diff first awaits approval under the session's approval policy.
 */
export const PublishMode = z.enum(['none', 'branch', 'pullRequest']);
export type PublishMode = z.infer<typeof PublishMode>;
export const PublishPolicy = z.object({
  mode: PublishMode.optional(),
  approveChanges: z.boolean().default(false),
  /** Open the pull request as a draft. */
  draft: z.boolean().default(false),
});
export type PublishPolicyInput = z.input<typeof PublishPolicy>;
export type PublishPolicy = z.output<typeof PublishPolicy>;

/** Unset mode: a pull request for GitHub sources (Jules' AUTO_CREATE_PR), a branch for other git sources. */
export function publishMode(source: SessionSource | undefined, policy: PublishPolicy | undefined): PublishMode {
  if (!source) return 'none';
  return policy?.mode ?? ('github' in source ? 'pullRequest' : 'branch');
}

/** One changed file of a change set: Jules' parsed shape. */
export const ChangedFile = z.object({
  path: z.string(),
  changeType: z.enum(['created', 'modified', 'deleted']),
  additions: z.number().int().nonnegative(),
  deletions: z.number().int().nonnegative(),
});
export type ChangedFile = z.infer<typeof ChangedFile>;

/** A code session's working tree as readers see it: where it started, what changed, where it went. */
export const WorkspaceView = z.object({
  source: z.string(),
  /** The branch the session started from (the repository's default when the source named none). */
  branch: z.string(),
  baseCommit: z.string(),
  /** The change so far, file by file (empty before the first change). */
  changes: z.array(ChangedFile).default([]),
  /**
   * A fingerprint of the cumulative change (its unified diff): an approval of the change set may
   * name it (`approve { changeSetHash }`), and a change that moved on since is refused as stale.
   */
  changeSetHash: z.string().optional(),
  /** The branch the change was pushed to, its head commit, and the pull request, once published. */
  published: z
    .object({ branch: z.string(), commit: z.string(), pullRequest: z.object({ url: z.string(), title: z.string() }).optional() })
    .optional(),
});
export type WorkspaceView = z.infer<typeof WorkspaceView>;

/** Where a session's notifications go (src/notify/): set when the session starts. */
export const NotifyTargets = z.object({
  slack: z.object({ channel: z.string().min(1).max(200) }).optional(),
});
export type NotifyTargets = z.infer<typeof NotifyTargets>;

/**
 * The name an agent is registered under on the worker (`agents` in the configuration). Only the
 * worker knows which names exist: a session naming an unknown one fails when it first calls it.
 */
export const AgentName = z
  .string()
  .min(1)
  .max(100)
  .regex(/^\S(.*\S)?$/, 'must not start or end with whitespace');

/**
 * `context.service` becomes the AndonService search attribute, and Temporal refuses a start whose
 * search attribute value is over 2 KiB (limit.searchAttributesSizeOfValueLimit) with
 * INVALID_ARGUMENT; half of that leaves room for the encoding.
 */
export const MAX_SERVICE_BYTES = 1_024;

/** UTF-8 length without Buffer or TextEncoder (this module is also loaded in workflow code). */
export function utf8Bytes(text: string): number {
  let bytes = 0;
  for (const char of text) {
    const code = char.codePointAt(0) ?? 0;
    bytes += code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
  }
  return bytes;
}

export const SessionConfig = z.object({
  /** Optional explicit id (an alert fingerprint, an incident id). Starting an id that exists returns that session. */
  id: SessionId.optional(),
  prompt: MessageText,
  title: z.string().trim().min(1).max(200).optional(),
  /** The repository a code session works on (docs/code-sessions.md). */
  source: SessionSource.optional(),
  /** What happens to a code session's change when the steps are done. */
  publish: PublishPolicy.optional(),
  /** Labels and facts the agent may use (alert labels, service name, ...). `service` is also a search attribute: at most 1,024 bytes. */
  context: z
    .record(z.string(), z.string().max(4_000))
    .superRefine((context, ctx) => {
      const service = context.service;
      if (service !== undefined && utf8Bytes(service) > MAX_SERVICE_BYTES) {
        ctx.addIssue({
          code: 'custom',
          path: ['service'],
          message: `must be at most ${MAX_SERVICE_BYTES} bytes (it is indexed for listing)`,
        });
      }
    })
    .default({}),
  /** Which of the worker's agents works on the session (docs/agents.md). Unset: the worker's default agent. */
  agent: AgentName.optional(),
  requirePlanApproval: z.boolean().default(true),
  /** How long a completed session keeps answering follow-up messages before it closes. */
  followUpWindow: Duration.optional(),
  /** Who asked for the session. */
  requestedBy: Actor.optional(),
  /** Where to announce the session (a Slack channel): plan approvals, progress, the outcome. */
  notify: NotifyTargets.optional(),
  /** Who may approve, how many, deadlines. Unset: anyone may, one approval suffices. */
  approval: ApprovalPolicy.optional(),
  /** Token and cost limit of the session's model calls (agents that report usage). */
  budget: Budget.optional(),
  /** How tool-call reviews wait. */
  review: ReviewPolicy.optional(),
});
export type SessionConfig = z.input<typeof SessionConfig>;
export type ParsedSessionConfig = z.output<typeof SessionConfig>;

// ---------------------------------------------------------------------------------------------
// Alerts

/**
 * One alert notification, normalised from any monitoring system (Alertmanager, Grafana,
 * PagerDuty, Datadog, generic JSON). The fingerprint identifies the incident: every delivery
 * with the same source and fingerprint belongs to the same session.
 */
export const AlertNotification = z.object({
  source: z.string().trim().min(1).max(100),
  fingerprint: z.string().trim().min(1).max(500),
  status: z.enum(['firing', 'resolved']),
  summary: z.string().trim().min(1).max(2_000),
  labels: z.record(z.string(), z.string().max(2_000)).default({}),
  startsAt: z.string().optional(),
  url: z.string().max(2_000).optional(),
  /** Who delivered it: the receiver's identity, e.g. "webhook:alertmanager". */
  by: Actor.optional(),
});
export type AlertNotification = z.input<typeof AlertNotification>;

export const AlertState = z.object({
  source: z.string(),
  fingerprint: z.string(),
  status: z.enum(['firing', 'resolved']),
  summary: z.string(),
  firstReceived: z.string(),
  lastReceived: z.string(),
  /** How many notifications arrived (re-deliveries and repeated firing included). */
  deliveries: z.number().int().positive(),
});
export type AlertState = z.infer<typeof AlertState>;

// ---------------------------------------------------------------------------------------------
// The timeline
// ---------------------------------------------------------------------------------------------

const eventBase = {
  seq: z.number().int().positive(),
  time: z.string(),
  originator: Originator,
};

export const TimelineEvent = z.discriminatedUnion('type', [
  z.object({
    ...eventBase,
    type: z.literal('sessionCreated'),
    prompt: z.string(),
    title: z.string(),
    requirePlanApproval: z.boolean(),
    requestedBy: z.string().optional(),
  }),
  z.object({ ...eventBase, type: z.literal('planGenerated'), plan: Plan }),
  z.object({ ...eventBase, type: z.literal('planApproved'), planId: z.string(), by: z.string(), comment: z.string().optional() }),
  z.object({
    ...eventBase,
    type: z.literal('planRejected'),
    planId: z.string(),
    by: z.string(),
    reason: z.string(),
    replan: z.boolean(),
  }),
  z.object({ ...eventBase, type: z.literal('userMessaged'), messageId: z.string(), message: z.string(), by: z.string() }),
  z.object({ ...eventBase, type: z.literal('agentMessaged'), message: z.string(), inReplyTo: z.string().optional() }),
  z.object({
    ...eventBase,
    type: z.literal('progressUpdated'),
    title: z.string(),
    description: z.string().default(''),
    stepId: z.string().optional(),
    artifacts: z.array(Artifact).default([]),
  }),
  z.object({ ...eventBase, type: z.literal('sessionPaused'), by: z.string(), reason: z.string().optional() }),
  z.object({ ...eventBase, type: z.literal('sessionResumed'), by: z.string() }),
  z.object({ ...eventBase, type: z.literal('sessionCompleted'), summary: z.string(), outputs: z.array(Output) }),
  z.object({ ...eventBase, type: z.literal('sessionFailed'), reason: z.string() }),
  z.object({ ...eventBase, type: z.literal('sessionCancelled'), by: z.string(), reason: z.string() }),
  /** Input that arrived by signal and could not be applied: recorded instead of thrown (signals have no caller to answer). */
  z.object({ ...eventBase, type: z.literal('inputRejected'), message: z.string(), reason: z.string(), by: z.string().optional() }),
  /** One person's approval, while more are required (the last one is `planApproved`). */
  z.object({
    ...eventBase,
    type: z.literal('approvalRecorded'),
    planId: z.string(),
    by: z.string(),
    person: z.string(),
    approvals: z.number().int().positive(),
    required: z.number().int().positive(),
    comment: z.string().optional(),
  }),
  /** A decision that was refused: who tried, and why. */
  z.object({
    ...eventBase,
    type: z.literal('approvalRefused'),
    /** approve/reject: the plan; retry/skip/abort: a failed step (decideStep); budget: a budget change on resume. */
    decision: z.enum(['approve', 'reject', 'retry', 'skip', 'abort', 'budget']),
    planId: z.string().optional(),
    by: z.string(),
    code: z.enum(['InvalidState', 'StalePlan', 'NotAllowed', 'DuplicateApproval']),
    reason: z.string(),
  }),
  /** The plan still awaits approval: the approvers were reminded. */
  z.object({ ...eventBase, type: z.literal('approvalReminded'), planId: z.string(), waitingMs: z.number().int().nonnegative() }),
  /** Nobody decided in time: more people may decide now. */
  z.object({ ...eventBase, type: z.literal('approvalEscalated'), planId: z.string(), escalateTo: z.array(z.string()) }),
  /** Something learned was written to memory (src/memory/), for this or later sessions. */
  z.object({
    ...eventBase,
    type: z.literal('memoryWritten'),
    memoryId: z.string(),
    scope: z.enum(['session', 'agent', 'service']),
    content: z.string(),
    by: z.string(),
  }),
  /** The agent recalled these memories when it planned. */
  z.object({
    ...eventBase,
    type: z.literal('memoryRecalled'),
    memories: z.array(
      z.object({ id: z.string(), scope: z.enum(['session', 'agent', 'service']), content: z.string(), by: z.string().optional() }),
    ),
  }),
  /** A tool call ran (or was denied): arguments, status and the head of its output (the rest stays with the agent). */
  z.object({
    ...eventBase,
    type: z.literal('toolCalled'),
    stepId: z.string(),
    toolCallId: z.string(),
    tool: z.string(),
    arguments: ToolArguments,
    status: z.enum(['ok', 'error', 'denied']),
    output: z.string(),
    /** Who approved or edited it, when it was reviewed. */
    reviewedBy: z.string().optional(),
  }),
  /** A tool call waits for a person: approve, deny or edit. */
  z.object({ ...eventBase, type: z.literal('reviewRequested'), review: Review }),
  /** A review was decided (by a person, or `policy:review-expired`). */
  z.object({
    ...eventBase,
    type: z.literal('reviewDecided'),
    reviewId: z.string(),
    decision: ReviewDecision,
    by: z.string(),
    reason: z.string().optional(),
    /** The arguments the call runs with, after an edit. */
    arguments: ToolArguments.optional(),
  }),
  /** The session spent its budget: it paused for a person to raise the budget or cancel. */
  z.object({ ...eventBase, type: z.literal('budgetReached'), usage: Usage, budget: Budget }),
  /** A code session's working tree is ready: the repository, the branch and the commit it starts from. */
  z.object({ ...eventBase, type: z.literal('workspacePrepared'), source: z.string(), branch: z.string(), baseCommit: z.string() }),
  /** A code session's change was pushed (and a pull request opened or found), exactly once. */
  z.object({
    ...eventBase,
    type: z.literal('changesPublished'),
    branch: z.string(),
    commit: z.string(),
    files: z.number().int().nonnegative(),
    additions: z.number().int().nonnegative(),
    deletions: z.number().int().nonnegative(),
    pullRequest: PullRequest.optional(),
  }),
  /** A code session's change set was approved for publishing (the last of the required approvals). */
  z.object({
    ...eventBase,
    type: z.literal('changesApproved'),
    changeSetHash: z.string(),
    by: z.string(),
    comment: z.string().optional(),
  }),
  /** A code session's change set was rejected: the session completes without publishing it. */
  z.object({ ...eventBase, type: z.literal('changesRejected'), changeSetHash: z.string(), by: z.string(), reason: z.string() }),
  /** An alert notification reached the session (the first, a re-delivery, a repeat, or the resolve). */
  z.object({
    ...eventBase,
    type: z.literal('alertReceived'),
    source: z.string(),
    fingerprint: z.string(),
    status: z.enum(['firing', 'resolved']),
    summary: z.string(),
    labels: z.record(z.string(), z.string()),
    url: z.string().optional(),
    by: z.string().optional(),
  }),
]);
export type TimelineEvent = z.infer<typeof TimelineEvent>;
export type EventType = TimelineEvent['type'];
/** An event before the session numbers and timestamps it. */
export type NewEvent = TimelineEvent extends infer E ? (E extends TimelineEvent ? Omit<E, 'seq' | 'time'> : never) : never;

// ---------------------------------------------------------------------------------------------
// What a reader sees
// ---------------------------------------------------------------------------------------------

export const SessionView = z.object({
  id: z.string(),
  state: SessionState,
  title: z.string(),
  prompt: z.string(),
  context: z.record(z.string(), z.string()),
  /** The agent the session named (`agent` when it started); unset: the worker's default agent. */
  agent: z.string().optional(),
  requirePlanApproval: z.boolean(),
  requestedBy: z.string().optional(),
  createTime: z.string(),
  updateTime: z.string(),
  plan: Plan.optional(),
  /** Index of the step being executed or next to run. */
  currentStep: z.number().int().nonnegative().optional(),
  pauseRequested: z.boolean(),
  summary: z.string().optional(),
  outputs: z.array(Output),
  /** Why the session failed or was cancelled. */
  reason: z.string().optional(),
  /** Sequence number of the newest timeline event. */
  lastSeq: z.number().int().nonnegative(),
  /** Messages accepted but not yet answered by the agent. */
  pendingMessages: z.number().int().nonnegative(),
  /** The alert behind the session, when an alert started it. */
  alert: AlertState.optional(),
  /** A code session's repository, base commit, change so far and where it was published. */
  workspace: WorkspaceView.optional(),
  /** A step that failed and awaits the person's choice: retry, skip or abort. */
  stepFailure: z.object({ stepId: z.string(), title: z.string(), reason: z.string() }).optional(),
  /** Tool calls waiting for a person's review, oldest first. */
  pendingReviews: z.array(Review).default([]),
  /** What the session's model calls consumed, when its agent reports usage. */
  usage: Usage.optional(),
  budget: Budget.optional(),
  /** While a plan awaits approval under a policy: who approved so far, how many are needed, until when. */
  approval: z
    .object({
      planId: z.string(),
      required: z.number().int().positive(),
      approvals: z.array(z.object({ person: z.string(), by: z.string(), time: z.string() })),
      escalated: z.boolean(),
      deadline: z.string().optional(),
    })
    .optional(),
});
export type SessionView = z.infer<typeof SessionView>;

export const TimelinePage = z.object({
  events: z.array(TimelineEvent),
  lastSeq: z.number().int().nonnegative(),
  state: SessionState,
  /**
   * The oldest seq the session's current run holds. The timeline query answers from there on;
   * older events are archived in earlier runs' start events, where the clients read them (so a
   * page from the SDK or the HTTP API is always whole, and says 1 here).
   */
  firstSeq: z.number().int().positive().optional(),
});
export type TimelinePage = z.infer<typeof TimelinePage>;
