import { z } from 'zod';

/** The worker's `workspace` configuration section: where trees live, which sources, limits, author. */
export const WorkspaceConfig = z.object({
  /** Default: `<worker data dir>/workspaces`. Holds `mirrors/` (one bare mirror per repository) and `trees/`. */
  dataDir: z.string().optional(),
  github: z
    .object({
      /** `{owner}` and `{repo}` are replaced; tests use `file:///tmp/x/{owner}/{repo}.git` or a plain path. */
      cloneUrl: z.string().default('https://github.com/{owner}/{repo}.git'),
      apiUrl: z.string().default('https://api.github.com'),
      /** The token is read from this environment variable, never from config files or history. */
      tokenEnv: z.string().default('GITHUB_TOKEN'),
    })
    .prefault({}),
  /** `git` sources the worker may use: location prefixes (URLs or absolute paths). Empty: none (git sources refused). */
  allowedGitSources: z.array(z.string()).default([]),
  /** GitHub owners (or owner/repo) the worker may use. Empty: any. */
  allowedGitHub: z.array(z.string()).default([]),
  limits: z
    .object({
      gitTimeoutMs: z.number().int().positive().default(600_000),
      /** A cumulative patch larger than this fails the step (ChangeTooLarge). */
      maxChangeBytes: z
        .number()
        .int()
        .positive()
        .default(256 * 1024),
      /** A checkout larger than this is refused (SourceUnavailable). Unset: no bound. */
      maxTreeBytes: z.number().int().positive().optional(),
    })
    .prefault({}),
  author: z.object({ name: z.string().min(1).default('andon'), email: z.string().min(1).default('andon@localhost') }).prefault({}),
});
export type WorkspaceConfigInput = z.input<typeof WorkspaceConfig>;
export type WorkspaceConfig = z.output<typeof WorkspaceConfig>;
