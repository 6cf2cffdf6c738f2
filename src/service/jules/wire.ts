/**
 * The Jules REST v1alpha resources as @google/jules-sdk 0.2.0 parses them (the shapes, with
 * their limits, are in docs/jules.md). Responses are
 * checked against these schemas when they are sent, so a mapping slip is caught here rather than
 * breaking a Jules client's whole stream.
 */
import { z } from 'zod';
import { JulesState } from '../../protocol/jules';

// The nine REST state names, the only ones the SDK knows: one list for andon's door and its backend.
export { JULES_STATES, JulesState } from '../../protocol/jules';

export const AUTOMATION_MODES = ['AUTOMATION_MODE_UNSPECIFIED', 'AUTO_CREATE_PR'] as const;
export const AutomationMode = z.enum(AUTOMATION_MODES);
export type AutomationMode = z.infer<typeof AutomationMode>;

export const GitPatch = z.object({
  unidiffPatch: z.string(),
  baseCommitId: z.string(),
  suggestedCommitMessage: z.string(),
});

export const ChangeSet = z.object({ source: z.string(), gitPatch: GitPatch });

/** An output is exactly one of these two: anything else makes the SDK throw on every read of the session. */
export const Output = z.union([
  z.object({ pullRequest: z.object({ url: z.string(), title: z.string(), description: z.string() }) }).strict(),
  z.object({ changeSet: ChangeSet }).strict(),
]);
export type Output = z.infer<typeof Output>;

export const SourceContext = z.object({
  source: z.string(),
  githubRepoContext: z.object({ startingBranch: z.string().optional() }).optional(),
});

export const Session = z.object({
  name: z.string(),
  id: z.string(),
  prompt: z.string(),
  title: z.string(),
  state: JulesState,
  createTime: z.string(),
  updateTime: z.string(),
  requirePlanApproval: z.boolean(),
  automationMode: AutomationMode,
  sourceContext: SourceContext.optional(),
  outputs: z.array(Output),
  archived: z.boolean(),
});
export type Session = z.infer<typeof Session>;

/** An artifact is exactly one of these three. */
export const Artifact = z.union([
  z.object({ changeSet: ChangeSet }).strict(),
  z.object({ bashOutput: z.object({ command: z.string(), output: z.string(), exitCode: z.number().int() }) }).strict(),
  z.object({ media: z.object({ data: z.string(), mimeType: z.string() }) }).strict(),
]);
export type Artifact = z.infer<typeof Artifact>;

export const PlanStep = z.object({ id: z.string(), title: z.string(), description: z.string(), index: z.number().int() });
export const Plan = z.object({ id: z.string(), steps: z.array(PlanStep), createTime: z.string() });

/** The seven payloads the SDK knows; an activity carries exactly one (checked by `Activity`). */
export const Payloads = {
  planGenerated: z.object({ plan: Plan }),
  planApproved: z.object({ planId: z.string() }),
  userMessaged: z.object({ userMessage: z.string() }),
  agentMessaged: z.object({ agentMessage: z.string() }),
  progressUpdated: z.object({ title: z.string(), description: z.string() }),
  sessionCompleted: z.object({}),
  sessionFailed: z.object({ reason: z.string() }),
} as const;
export type PayloadKind = keyof typeof Payloads;
export const PAYLOAD_KINDS = Object.keys(Payloads) as PayloadKind[];

export const Activity = z
  .object({
    name: z.string(),
    id: z.string(),
    createTime: z.string(),
    originator: z.enum(['user', 'agent', 'system']),
    description: z.string().optional(),
    artifacts: z.array(Artifact).optional(),
    planGenerated: Payloads.planGenerated.optional(),
    planApproved: Payloads.planApproved.optional(),
    userMessaged: Payloads.userMessaged.optional(),
    agentMessaged: Payloads.agentMessaged.optional(),
    progressUpdated: Payloads.progressUpdated.optional(),
    sessionCompleted: Payloads.sessionCompleted.optional(),
    sessionFailed: Payloads.sessionFailed.optional(),
  })
  .refine((activity) => PAYLOAD_KINDS.filter((kind) => activity[kind] !== undefined).length === 1, {
    message: 'an activity carries exactly one payload',
  });
export type Activity = z.infer<typeof Activity>;

export const Source = z.object({
  name: z.string(),
  id: z.string(),
  githubRepo: z.object({
    owner: z.string(),
    repo: z.string(),
    isPrivate: z.boolean(),
    defaultBranch: z.object({ displayName: z.string() }).optional(),
    branches: z.array(z.object({ displayName: z.string() })).optional(),
  }),
});
export type Source = z.infer<typeof Source>;

export const SessionPage = z.object({ sessions: z.array(Session), nextPageToken: z.string().optional() });
export const ActivityPage = z.object({ activities: z.array(Activity), nextPageToken: z.string().optional() });
export const SourcePage = z.object({ sources: z.array(Source), nextPageToken: z.string().optional() });

/** Google's error body: `{ error: { code, message, status, details? } }`. */
export const GoogleError = z.object({
  error: z.object({
    code: z.number().int(),
    message: z.string(),
    status: z.string(),
    details: z
      .array(
        z.object({
          '@type': z.string(),
          fieldViolations: z.array(z.object({ field: z.string(), description: z.string() })).optional(),
          reason: z.string().optional(),
        }),
      )
      .optional(),
  }),
});
export type GoogleError = z.infer<typeof GoogleError>;
