/**
 * Configuration of the Jules backend (`backend: { kind: 'jules' }` in temporal.config.ts). The API
 * key is read from the worker's environment (`apiKeyEnv`, default JULES_API_KEY) when the agent is
 * made, and lives only in the agent: never in workflow input, history, logs or the timeline.
 */
import { z } from 'zod';
import { Duration } from '../../session/duration';
import { GitHubRepoName, BranchName } from '../../session/schema';

export const DEFAULT_JULES_BASE_URL = 'https://jules.googleapis.com/v1alpha';

export const JulesBackendConfig = z.object({
  kind: z.literal('jules'),
  /** The API's base URL, the way the Jules SDK's `baseUrl` takes it (no trailing slash needed). */
  baseUrl: z.url({ protocol: /^https?$/ }).default(DEFAULT_JULES_BASE_URL),
  /** Which environment variable holds the API key. */
  apiKeyEnv: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name')
    .default('JULES_API_KEY'),
  /**
   * The repository Jules works on when a session names none (`owner/repo`); a session names one
   * in its context as `jules.source` (and `jules.branch`). Unset and unnamed: a repoless session.
   */
  source: GitHubRepoName.optional(),
  /** The starting branch for `source` (unset: the repository's default branch). */
  branch: BranchName.optional(),
  /** Ask Jules to open a pull request when it is done (sessions with a source). */
  autoCreatePr: z.boolean().default(true),
  /** How often Jules' activity log is read while waiting. */
  pollInterval: Duration.default(5_000),
  /** Activities asked for per page. */
  pageSize: z.number().int().min(1).max(100).default(50),
  /** How many pages of sessions (newest first) are searched for a session created by an earlier attempt. */
  findPages: z.number().int().min(1).max(20).default(3),
  /** Longest text of one bash output or media item put on the timeline; the rest is cut (with a note). */
  maxArtifactChars: z.number().int().min(256).max(64_000).default(16_000),
  /** Longest change set patch put on the timeline. */
  maxPatchChars: z.number().int().min(1_000).max(256_000).default(64_000),
  /** A single request's time limit. */
  requestTimeout: Duration.default(30_000),
});
export type JulesBackendConfigInput = z.input<typeof JulesBackendConfig>;
export type JulesBackendConfig = z.output<typeof JulesBackendConfig>;
