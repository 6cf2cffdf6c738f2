/**
 * The runbook format: one runbook per file in the configured folder, as YAML (*.yaml, *.yml),
 * Markdown with YAML front matter (*.md, the body becoming `notes`) or JSON (*.json); ./files.ts
 * reads them. Objects are strict, so a misspelt field is an error at worker start, not a
 * diagnostic silently skipped during an incident.
 *
 * Templated strings may use {labels.KEY} (the session's context, i.e. the alert labels) and
 * {findings.NAME.FIELD} (what a diagnostic found; see ./agent.ts for the fields).
 *
 * Example (see runbooks/checkout-api-errors.yaml for a complete one):
 *   name: checkout-api-errors
 *   match: { service: checkout-api, severity: [critical, page] }
 *   investigate:
 *     - name: errors
 *       log: { path: "demo/logs/{labels.service}.log", pattern: ERROR, maxLines: 5 }
 *   plan:
 *     - title: Roll back
 *       description: ...
 *       action: { command: [node, demo/bin/rollback.js, "{labels.service}"], timeout: 30s }
 *   verify:
 *     title: Error rate back to normal
 *     action: { command: [node, demo/bin/error-rate.js, "{labels.service}"] }
 */
import { z } from 'zod';
import { Duration } from '../../session/duration';
import { compilePattern } from './sandbox';

const Name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'expected letters, digits, ".", "_" or "-"');

/** Compiled as RE2 (linear time), as scanLog runs it: a pattern RE2 refuses fails the runbook's load, not its session. */
const Regex = z.string().superRefine((source, ctx) => {
  try {
    compilePattern(source);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: (error as Error).message });
  }
});

/** argv[0] is never templated: the allow-list check must be possible before any alert arrives. */
const Argv = z
  .array(z.string())
  .min(1)
  .refine((argv) => !argv[0]!.includes('{'), { message: 'the command itself cannot be templated' });

export const LogCheck = z.strictObject({
  /** Templated; relative to the workdir, and must stay under an allowed root. */
  path: z.string().min(1),
  pattern: Regex,
  /** Excerpt lines to keep (the most recent matches); capped by limits.maxExcerptLines. */
  maxLines: z.number().int().positive().default(5),
  /** Only the last N lines of the (bounded) tail are searched. */
  sinceLines: z.number().int().positive().optional(),
});

export const HttpCheck = z.strictObject({
  /** Templated; must be on the configured allow-list once filled in. */
  url: z.string().min(1),
  expectStatus: z.number().int().min(100).max(599).default(200),
  timeout: Duration.optional(),
});

export const CommandCheck = z.strictObject({
  /** Templated (except argv[0]). */
  argv: Argv,
  timeout: Duration.optional(),
});

export const Diagnostic = z.union(
  [
    z.strictObject({ name: Name, log: LogCheck }),
    z.strictObject({ name: Name, http: HttpCheck }),
    z.strictObject({ name: Name, command: CommandCheck }),
  ],
  { error: 'expected a "name" and exactly one of "log", "http" or "command"' },
);
export type Diagnostic = z.infer<typeof Diagnostic>;

export const Action = z.union([z.strictObject({ command: Argv, timeout: Duration.optional() }), z.strictObject({ http: HttpCheck })], {
  error: 'expected either "command" (and an optional "timeout") or "http"',
});
export type Action = z.infer<typeof Action>;

export const RunbookStep = z.strictObject({
  /** Templated. */
  title: z.string().min(1),
  /** Templated. */
  description: z.string().default(''),
  action: Action,
});
export type RunbookStep = z.infer<typeof RunbookStep>;

export const Runbook = z
  .strictObject({
    name: Name,
    /** Templated; the plan's title. Default: the runbook's name. */
    title: z.string().min(1).optional(),
    /** One line, shown where runbooks are listed. */
    description: z.string().default(''),
    /**
     * Guidance for the people approving the plan (Markdown): a Markdown runbook's body. Its first
     * paragraph is shown in the plan, beside the findings.
     */
    notes: z.string().default(''),
    /** Every key must be in the session's context with one of the listed values (case-insensitive); "*" means any value. */
    match: z.record(z.string(), z.union([z.string(), z.array(z.string()).min(1)])),
    investigate: z.array(Diagnostic).default([]),
    plan: z.array(RunbookStep).min(1),
    /** Runs as the last step; the session only completes if it passes. */
    verify: RunbookStep,
  })
  .refine((runbook) => new Set(runbook.investigate.map((d) => d.name)).size === runbook.investigate.length, {
    message: 'diagnostic names must be unique',
    path: ['investigate'],
  });
export type Runbook = z.output<typeof Runbook>;
export type RunbookInput = z.input<typeof Runbook>;

/** Where a value of a runbook file is written: a 1-based line, when the format can tell. */
export type Locate = (path: readonly PropertyKey[]) => number | undefined;

export function parseRunbook(raw: unknown, source = 'inline runbook'): Runbook {
  return validateRunbook(raw, source);
}

/** parseRunbook, with the line of each problem when `locate` knows it (YAML and front matter). */
export function validateRunbook(raw: unknown, source: string, locate?: Locate): Runbook {
  const parsed = Runbook.safeParse(raw);
  if (parsed.success) return parsed.data;
  const problems = describeIssues(parsed.error.issues).map(({ path, message }) => {
    const line = locate?.(path);
    return `${formatPath(path)}${line === undefined ? '' : ` (line ${line})`}: ${message}`;
  });
  throw new Error(
    `invalid runbook ${source}: ${problems.slice(0, 5).join('; ')}${problems.length > 5 ? ` (and ${problems.length - 5} more)` : ''}`,
  );
}

interface Problem {
  path: PropertyKey[];
  message: string;
}

/**
 * Zod's issues as field paths and messages. An unknown key is reported at its own path. A union
 * (a diagnostic, an action) reports the problems of the one form the value is written in,
 * recognised as the one that has no unknown top-level key, and only says which forms exist when
 * no single form fits.
 */
function describeIssues(issues: readonly z.core.$ZodIssue[], prefix: readonly PropertyKey[] = []): Problem[] {
  return issues.flatMap((issue): Problem[] => {
    const path = [...prefix, ...issue.path];
    if (issue.code === 'invalid_union') {
      const fitting = issue.errors.filter((branch) => !branch.some((i) => i.code === 'unrecognized_keys' && i.path.length === 0));
      if (fitting.length === 1) return describeIssues(fitting[0]!, path);
    }
    if (issue.code === 'unrecognized_keys') return issue.keys.map((key) => ({ path: [...path, key], message: 'unknown field' }));
    return [{ path, message: issue.message.replace(/^Invalid input: /, '') }];
  });
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.map(String).join('.') || '(root)';
}

/**
 * The runbook for a session's labels: every match key satisfied, the most specific (most keys)
 * first, then the first by name. A runbook with an empty `match` never matches on its own: it can
 * only be chosen by name, so a catch-all cannot take over alerts it was not written for.
 */
export function matchRunbook(runbooks: readonly Runbook[], labels: Record<string, string>): Runbook | undefined {
  const candidates = runbooks.filter((runbook) => {
    const keys = Object.entries(runbook.match);
    return keys.length > 0 && keys.every(([key, wanted]) => matchesLabel(labels[key], wanted));
  });
  candidates.sort((a, b) => Object.keys(b.match).length - Object.keys(a.match).length || a.name.localeCompare(b.name));
  return candidates[0];
}

function matchesLabel(value: string | undefined, wanted: string | string[]): boolean {
  if (value === undefined) return false;
  const options = Array.isArray(wanted) ? wanted : [wanted];
  return options.some((option) => option === '*' || option.toLowerCase() === value.toLowerCase());
}
