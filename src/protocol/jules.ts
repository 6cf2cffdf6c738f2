/**
 * The Jules REST v1alpha resources (https://jules.googleapis.com/v1alpha) as zod schemas: what
 * andon's Jules backend (src/agents/jules) reads from Jules, and the shapes a server that speaks
 * Jules must send. Written from what @google/jules-sdk 0.2.0 parses (docs/jules-backend.md).
 *
 * Unknown fields are dropped, never refused: the real service adds fields over time, and a new
 * one must not break a session. Activities are a union of exactly seven payload kinds and artifacts of exactly
 * three: the SDK refuses any other, so these schemas do too.
 */
import { z } from 'zod';

/** The nine session states of the REST enum. */
export const JULES_STATES = [
  'STATE_UNSPECIFIED',
  'QUEUED',
  'PLANNING',
  'AWAITING_PLAN_APPROVAL',
  'AWAITING_USER_FEEDBACK',
  'IN_PROGRESS',
  'PAUSED',
  'FAILED',
  'COMPLETED',
] as const;
export const JulesState = z.enum(JULES_STATES);
export type JulesState = z.infer<typeof JulesState>;

/** RFC 3339 with a `Z` or an offset; Jules stamps microseconds. */
export const JulesTime = z.iso.datetime({ offset: true });

export const JulesGitPatch = z.object({
  unidiffPatch: z.string().default(''),
  baseCommitId: z.string().optional(),
  suggestedCommitMessage: z.string().optional(),
});

export const JulesPullRequest = z.object({
  url: z.string(),
  title: z.string().default(''),
  description: z.string().default(''),
});

/** A session output: a pull request or a change set (exactly one key). */
export const JulesOutput = z.union([
  z.object({ pullRequest: JulesPullRequest }),
  z.object({ changeSet: z.object({ source: z.string().optional(), gitPatch: JulesGitPatch.optional() }) }),
]);
export type JulesOutput = z.infer<typeof JulesOutput>;

export const JulesSourceContext = z.object({
  /** `sources/github/{owner}/{repo}` */
  source: z.string(),
  githubRepoContext: z.object({ startingBranch: z.string().optional() }).optional(),
});

/** `name` is `sessions/{id}` and `id` the same id. */
export const JulesSession = z.object({
  name: z.string().regex(/^sessions\/[^/]+$/, 'expected "sessions/{id}"'),
  id: z.string().min(1),
  prompt: z.string().optional(),
  title: z.string().optional(),
  state: JulesState.default('STATE_UNSPECIFIED'),
  url: z.string().optional(),
  createTime: JulesTime.optional(),
  updateTime: JulesTime.optional(),
  sourceContext: JulesSourceContext.optional(),
  requirePlanApproval: z.boolean().optional(),
  automationMode: z.string().optional(),
  outputs: z.array(JulesOutput).default([]),
});
export type JulesSession = z.infer<typeof JulesSession>;

export const JulesPlanStep = z.object({
  id: z.string().optional(),
  title: z.string().default(''),
  description: z.string().optional(),
  index: z.number().int().nonnegative().optional(),
});
export const JulesPlan = z.object({
  id: z.string(),
  steps: z.array(JulesPlanStep).default([]),
  createTime: JulesTime.optional(),
});
export type JulesPlan = z.infer<typeof JulesPlan>;

/** Artifacts: each exactly one of changeSet, bashOutput, media. */
export const JulesArtifact = z.union([
  z.object({ changeSet: z.object({ source: z.string().optional(), gitPatch: JulesGitPatch.optional() }) }),
  z.object({
    bashOutput: z.object({ command: z.string().default(''), output: z.string().default(''), exitCode: z.number().int().default(0) }),
  }),
  z.object({ media: z.object({ data: z.string().default(''), mimeType: z.string().default('application/octet-stream') }) }),
]);
export type JulesArtifact = z.infer<typeof JulesArtifact>;

const activityBase = {
  /** `sessions/{session}/activities/{activity}` */
  name: z.string().regex(/^sessions\/[^/]+\/activities\/[^/]+$/, 'expected "sessions/{s}/activities/{a}"'),
  id: z.string().min(1),
  description: z.string().optional(),
  createTime: JulesTime,
  originator: z.enum(['user', 'agent', 'system']).optional(),
  artifacts: z.array(JulesArtifact).default([]),
};

/** The seven activity kinds, keyed by their payload field as on the wire. */
export const JulesActivity = z.union([
  z.object({ ...activityBase, agentMessaged: z.object({ agentMessage: z.string().default('') }) }),
  z.object({ ...activityBase, userMessaged: z.object({ userMessage: z.string().default('') }) }),
  z.object({ ...activityBase, planGenerated: z.object({ plan: JulesPlan }) }),
  z.object({ ...activityBase, planApproved: z.object({ planId: z.string() }) }),
  z.object({ ...activityBase, progressUpdated: z.object({ title: z.string().default(''), description: z.string().default('') }) }),
  z.object({ ...activityBase, sessionCompleted: z.object({}) }),
  z.object({ ...activityBase, sessionFailed: z.object({ reason: z.string().default('') }) }),
]);
export type JulesActivity = z.infer<typeof JulesActivity>;

export const JULES_ACTIVITY_KINDS = [
  'agentMessaged',
  'userMessaged',
  'planGenerated',
  'planApproved',
  'progressUpdated',
  'sessionCompleted',
  'sessionFailed',
] as const;
export type JulesActivityKind = (typeof JULES_ACTIVITY_KINDS)[number];

/** Which of the seven kinds an activity is (the SDK checks the keys in this order too). */
export function activityKind(activity: JulesActivity): JulesActivityKind {
  for (const kind of JULES_ACTIVITY_KINDS) if (kind in activity) return kind;
  /* c8 ignore next */ throw new Error('unreachable: JulesActivity has one of the seven kinds');
}

export const JulesSource = z.object({
  name: z.string(),
  id: z.string(),
  githubRepo: z.object({
    owner: z.string(),
    repo: z.string(),
    isPrivate: z.boolean().optional(),
    defaultBranch: z.object({ displayName: z.string() }).optional(),
    branches: z.array(z.object({ displayName: z.string() })).optional(),
  }),
});
export type JulesSource = z.infer<typeof JulesSource>;

export const JulesSessionList = z.object({ sessions: z.array(JulesSession).default([]), nextPageToken: z.string().optional() });
export const JulesActivityList = z.object({
  activities: z.array(JulesActivity).default([]),
  nextPageToken: z.string().optional(),
});
export const JulesSourceList = z.object({ sources: z.array(JulesSource).default([]), nextPageToken: z.string().optional() });

/** Google's error body: `{ error: { code, message, status } }`. */
export const JulesErrorBody = z.object({
  error: z.object({ code: z.number().int(), message: z.string().default(''), status: z.string().optional() }),
});
export type JulesErrorBody = z.infer<typeof JulesErrorBody>;

/** The body of `POST sessions`. */
export const JulesCreateSession = z.object({
  prompt: z.string().min(1),
  title: z.string().optional(),
  sourceContext: JulesSourceContext.optional(),
  requirePlanApproval: z.boolean().optional(),
  automationMode: z.enum(['AUTOMATION_MODE_UNSPECIFIED', 'AUTO_CREATE_PR']).optional(),
});
export type JulesCreateSession = z.infer<typeof JulesCreateSession>;

/** The body of `POST sessions/{id}:sendMessage`. */
export const JulesSendMessage = z.object({ prompt: z.string().min(1) });
