/**
 * What the Jules door accepts: request bodies, path parameters and queries, each bounded. Bodies
 * are strict (Google APIs refuse unknown fields, and a misspelt `requirePlanApproval` must not
 * silently start a session with the default).
 */
import { z } from 'zod';
import { BranchName, MessageText, SessionId } from '../../session/schema';
import { AutomationMode } from './wire';

/** `sources/github/{owner}/{repo}`, as GET sources names them. */
export const SOURCE_NAME = /^sources\/github\/([A-Za-z0-9][A-Za-z0-9-]{0,38}\/[A-Za-z0-9._-]{1,100})$/;

export const CreateSessionBody = z
  .object({
    prompt: MessageText,
    title: z.string().trim().min(1).max(200).optional(),
    sourceContext: z
      .object({
        source: z.string().regex(SOURCE_NAME, 'expected "sources/github/{owner}/{repo}", as GET sources names it'),
        githubRepoContext: z.object({ startingBranch: BranchName.optional() }).strict().optional(),
        /** Jules' environment variables setting: andon's worker decides what a session's tree sees, so only false is accepted. */
        environmentVariablesEnabled: z.literal(false).optional(),
      })
      .strict()
      .optional(),
    automationMode: AutomationMode.optional(),
    requirePlanApproval: z.boolean().optional(),
  })
  .strict();
export type CreateSessionBody = z.infer<typeof CreateSessionBody>;

/** `:approvePlan`, `:archive`, `:unarchive`: `{}` (or no body). */
export const EmptyBody = z.object({}).strict().nullish();
export const SendMessageBody = z.object({ prompt: MessageText }).strict();

export const SessionParams = z.object({ id: SessionId });
export const ActivityParams = SessionParams.extend({
  activityId: z.string().regex(/^[1-9][0-9]{0,14}$/, 'expected an activity id from the session'),
});
export const SourceParams = z.object({
  owner: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9-]{0,38}$/, 'expected a GitHub owner'),
  repo: z.string().regex(/^[A-Za-z0-9._-]{1,100}$/, 'expected a GitHub repository name'),
});

const PageSize = (max: number) => z.coerce.number().int().min(1).max(max).optional();
const PageToken = z.string().max(4_096).optional();
const Filter = z.string().max(1_000).optional();

export const MAX_SESSION_PAGE = 100;
export const MAX_ACTIVITY_PAGE = 1_000;
export const MAX_SOURCE_PAGE = 1_000;
export const ListSessionsQuery = z.object({ pageSize: PageSize(MAX_SESSION_PAGE), pageToken: PageToken, filter: Filter });
export const ListActivitiesQuery = z.object({ pageSize: PageSize(MAX_ACTIVITY_PAGE), pageToken: PageToken, filter: Filter });
export const ListSourcesQuery = z.object({ pageSize: PageSize(MAX_SOURCE_PAGE), pageToken: PageToken, filter: Filter });

/** The empty answer of a custom method whose result the SDK ignores. */
export const Empty = z.object({});
