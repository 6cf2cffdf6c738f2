/**
 * The `service.jules` section: what the Jules REST front door (/v1alpha) offers that andon's own
 * API does not need. Jules lists the repositories a user connected as "sources"; andon has no such
 * registry (the worker clones what its workspace configuration allows), so the service is told
 * which GitHub repositories to offer, here or in ANDON_JULES_SOURCES ("owner/repo,owner/repo").
 */
import { z } from 'zod';
import { BranchName, Duration, GitHubRepoName } from '../../session/schema';

/** At most this many sources: `GET sources` answers them from memory, page by page. */
export const MAX_SOURCES = 1_000;

export const JulesSource = z.union([
  GitHubRepoName.transform((github) => ({ github, private: false, branches: [] as string[] })),
  z
    .object({
      github: GitHubRepoName,
      defaultBranch: BranchName.optional(),
      branches: z.array(BranchName).max(100).default([]),
      /** Shown as `githubRepo.isPrivate`; andon does not check it (the worker's credentials decide what it can clone). */
      private: z.boolean().default(false),
    })
    .strict(),
]);
export type JulesSource = z.output<typeof JulesSource>;

/** "owner/repo,owner/repo" from the environment; anything else is left for the array schema to refuse. */
function splitList(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  return value
    .split(/[,\s]+/)
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
}

export const JulesConfig = z.object({
  /** Serve the Jules REST API under /v1alpha (default on; it uses the same tokens and scopes as /v1). */
  enabled: z.boolean().default(true),
  sources: z
    .preprocess(splitList, z.array(JulesSource).max(MAX_SOURCES))
    .default([])
    .superRefine((sources, ctx) => {
      const seen = new Set<string>();
      sources.forEach((source, i) => {
        const key = source.github.toLowerCase();
        if (seen.has(key)) ctx.addIssue({ code: 'custom', path: [i], message: `source ${source.github} is listed twice` });
        seen.add(key);
      });
    }),
  /**
   * Requests one token may make per window on /v1alpha (429 RESOURCE_EXHAUSTED over it, which the
   * SDK retries with backoff). Unset: no limit. A Jules client polling one session makes a request
   * per page of activities every 5 s.
   */
  rateLimit: z
    .object({
      requests: z.coerce.number().int().min(1).max(1_000_000),
      window: Duration.pipe(z.number().min(100).max(3_600_000)).default(60_000),
    })
    .strict()
    .optional(),
});
export type JulesConfigInput = z.input<typeof JulesConfig>;
export type JulesConfig = z.output<typeof JulesConfig>;
