/**
 * The runbook format: one JSON file per runbook in the configured folder. JSON rather than YAML
 * because andon has no YAML parser among its own dependencies. Objects are strict, so a misspelt
 * field is an error at worker start, not a diagnostic silently skipped during an incident.
 *
 * Templated strings may use {labels.KEY} (the session's context, i.e. the alert labels) and
 * {findings.NAME.FIELD} (what a diagnostic found; see ./investigate.ts for the fields).
 *
 * Example (see runbooks/checkout-api-errors.json for a complete one):
 *   {
 *     "name": "checkout-api-errors",
 *     "match": { "service": "checkout-api", "severity": ["critical", "page"] },
 *     "investigate": [{ "name": "errors", "log": { "path": "demo/logs/{labels.service}.log", "pattern": "ERROR", "maxLines": 5 } }],
 *     "plan": [{ "title": "Roll back", "description": "...", "action": { "command": ["node", "demo/bin/rollback.js", "{labels.service}"], "timeout": "30s" } }],
 *     "verify": { "title": "Error rate back to normal", "action": { "command": ["node", "demo/bin/error-rate.js", "{labels.service}"] } }
 *   }
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { Duration } from '../../session/duration';

const Name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'expected letters, digits, ".", "_" or "-"');

const Regex = z.string().refine(
  (source) => {
    try {
      new RegExp(source);
      return true;
    } catch {
      return false;
    }
  },
  { message: 'expected a valid regular expression' },
);

/** argv[0] is never templated: the allow-list check must be possible before any alert arrives. */
const Argv = z.array(z.string()).min(1).refine((argv) => !argv[0]!.includes('{'), { message: 'the command itself cannot be templated' });

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

export const Diagnostic = z.union([
  z.strictObject({ name: Name, log: LogCheck }),
  z.strictObject({ name: Name, http: HttpCheck }),
  z.strictObject({ name: Name, command: CommandCheck }),
]);
export type Diagnostic = z.infer<typeof Diagnostic>;

export const Action = z.union([
  z.strictObject({ command: Argv, timeout: Duration.optional() }),
  z.strictObject({ http: HttpCheck }),
]);
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
    description: z.string().default(''),
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

export function parseRunbook(raw: unknown, source = 'inline runbook'): Runbook {
  const parsed = Runbook.safeParse(raw);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message.replace(/^Invalid input: /, '')}`);
  throw new Error(`invalid runbook ${source}: ${problems.slice(0, 5).join('; ')}${problems.length > 5 ? ` (and ${problems.length - 5} more)` : ''}`);
}

/** Reads every *.json in a folder, sorted by file name so matching ties break the same way everywhere. */
export function loadRunbooks(folder: string): Runbook[] {
  let files: string[];
  try {
    files = readdirSync(folder).filter((f) => f.endsWith('.json')).sort();
  } catch (error) {
    throw new Error(`cannot read the runbook folder ${folder}: ${(error as Error).message}`, { cause: error });
  }
  const runbooks = files.map((file) => {
    const full = path.join(folder, file);
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(full, 'utf8'));
    } catch (error) {
      throw new Error(`invalid runbook ${full}: ${(error as Error).message}`, { cause: error });
    }
    return parseRunbook(raw, full);
  });
  const seen = new Set<string>();
  for (const runbook of runbooks) {
    if (seen.has(runbook.name)) throw new Error(`two runbooks in ${folder} are named "${runbook.name}"`);
    seen.add(runbook.name);
  }
  return runbooks;
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
