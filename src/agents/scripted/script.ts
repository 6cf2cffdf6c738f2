/**
 * The script format of the scripted agent: a JSON file that says, call by call, what the agent
 * plans, what each step reports, how it answers messages and how it sums up. Scripts drive the
 * demo and the tests, so the format is deliberately small and every field is checked on load:
 * objects are strict, so a misspelt field is an error rather than a silently ignored line.
 *
 * Text fields marked "templated" may use these placeholders, filled from the request:
 *   {prompt}  {title}  {stepCount}  {context.KEY} (missing keys render as "")  {message} (replies only)
 * Any other `{...}` is left as written, so a typo stays visible in the output.
 *
 * Example:
 *   {
 *     "name": "disk-full",
 *     "plans": [{ "steps": [{ "title": "Find large files", "result": { "description": "/var/log is 40 GB" } }] }],
 *     "replies": [{ "match": "why", "reply": "Because {title} is paging." }],
 *     "defaultReply": "Noted.",
 *     "summary": "Freed disk space for {title}."
 *   }
 *
 * Code sessions (the session has a source, so requests carry a working tree): the `code` section,
 * when present, gives their plans, replies and summary, and its steps may change the tree and run
 * commands in it, deterministically, before the step reports:
 *   { "title": "Fix the threshold", "edits": [{ "path": "src/discount.js", "find": "> MIN", "replace": ">= MIN" }],
 *     "result": { "description": "..." } }
 *   { "title": "Run the tests", "run": ["node", "test.js"], "expect": "pass", "result": { "description": "..." } }
 * An edit's `find` must occur exactly once in the file (or, on a retry, `replace` once and `find`
 * not at all: already done); `run` puts a bashOutput artifact with the real output on the step.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { Artifact, Duration, Output } from '../../session/schema';

/**
 * A failure injected on one try of a call. Temporal owns retries and numbers tries from 1, so
 * keying failures by attempt makes "fail once, then succeed" reproducible without randomness.
 */
export const ScriptedFailure = z.strictObject({
  attempt: z.number().int().min(1),
  /**
   * transient: AgentError with retryable = true (Temporal retries); permanent: the session fails;
   * stepFailed: the session asks the person to retry, skip or abort the step.
   */
  kind: z.enum(['transient', 'permanent', 'stepFailed']),
  message: z.string().min(1),
});
export type ScriptedFailure = z.infer<typeof ScriptedFailure>;

const Failures = z
  .array(ScriptedFailure)
  .default([])
  .refine((failures) => new Set(failures.map((f) => f.attempt)).size === failures.length, {
    message: 'expected at most one failure per attempt',
  });

/** Milliseconds (a number) or a duration string such as "300ms"; 0 answers at once. */
const Delay = Duration.default(0);

/** An exact replacement in a file of the working tree: `find` must occur exactly once. */
export const ScriptedEdit = z.strictObject({
  /** Relative to the root of the working tree; never under .git, never outside. */
  path: z.string().min(1),
  find: z.string().min(1),
  replace: z.string(),
});
export type ScriptedEdit = z.infer<typeof ScriptedEdit>;

export const ScriptedStep = z.strictObject({
  /** Templated. */
  title: z.string().min(1),
  /** Templated. */
  description: z.string().default(''),
  /** What executing the step reports. */
  result: z.strictObject({
    /** Templated. */
    title: z.string().optional(),
    /** Templated. */
    description: z.string(),
    artifacts: z.array(Artifact).default([]),
  }),
  /** How long the step "works" before its result (or injected failure). */
  delayMs: Delay,
  failures: Failures,
  /** Code sessions: exact replacements in the working tree, in order, before `run`. */
  edits: z.array(ScriptedEdit).default([]),
  /** Code sessions: a command run in the root of the working tree (no shell; `node` is this Node.js). */
  run: z.array(z.string().min(1)).min(1).optional(),
  /** What `run` must do: `pass` (exit 0) or `fail` (any other exit); otherwise the step fails (retry, skip or abort). Unset: either. */
  expect: z.enum(['pass', 'fail']).optional(),
  /** How long `run` may take before it is stopped. */
  timeoutMs: Duration.default(60_000),
});
export type ScriptedStep = z.infer<typeof ScriptedStep>;

export const ScriptedPlan = z.strictObject({
  /** Templated. */
  title: z.string().optional(),
  steps: z.array(ScriptedStep).min(1),
});
export type ScriptedPlan = z.infer<typeof ScriptedPlan>;

export const ScriptedReply = z.strictObject({
  /** A regular expression, matched case-insensitively anywhere in the user's message. */
  match: z.string().refine(isRegExp, { message: 'expected a valid regular expression' }),
  /** Templated, including {message}. */
  reply: z.string().min(1),
});
export type ScriptedReply = z.infer<typeof ScriptedReply>;

export const AgentScript = z.strictObject({
  /** Shows up in the backend name, "scripted:<name>". */
  name: z.string().min(1),
  /** Templated. If set, planning round 1 asks this instead of planning; round 2 gets plans[0]. */
  question: z.string().min(1).optional(),
  /** Planning round N gets plans[N-1] (shifted by one if `question` is set); the last one repeats. */
  plans: z.array(ScriptedPlan).min(1),
  planDelayMs: Delay,
  planFailures: Failures,
  /** Checked in order; the first match answers. */
  replies: z.array(ScriptedReply).default([]),
  /** Templated; the answer when no reply matches. */
  defaultReply: z.string().min(1),
  replyDelayMs: Delay,
  /** Templated. */
  summary: z.string().min(1),
  outputs: z.array(Output).default([]),
  /** Code sessions (requests with a working tree): their own plans, replies and summary. Unset: code sessions play the rest. */
  code: z
    .strictObject({
      /** As `plans`; steps may have `edits` and `run`. */
      plans: z.array(ScriptedPlan).min(1),
      /** Checked before the script's own `replies`. */
      replies: z.array(ScriptedReply).default([]),
      /** Templated. Unset: the script's defaultReply. */
      defaultReply: z.string().min(1).optional(),
      /** Templated. */
      summary: z.string().min(1),
      /** The session's change set and pull request come from the workspace, not from here. */
      outputs: z.array(Output).default([]),
    })
    .optional(),
});
/** A validated script, with defaults applied. */
export type AgentScript = z.output<typeof AgentScript>;
/** A script as written (delays may be strings, defaulted fields may be absent). */
export type AgentScriptInput = z.input<typeof AgentScript>;

/**
 * Validates a script already in memory. `source` names it in errors (a file path, "inline script").
 * Throws an Error listing each problem as `field.path: what was expected`.
 */
export function parseScript(raw: unknown, source = 'inline script'): AgentScript {
  const parsed = AgentScript.safeParse(raw);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => `${formatPath(issue.path)}: ${issue.message.replace(/^Invalid input: /, '')}`);
  const shown = problems.slice(0, 5).join('; ');
  const more = problems.length > 5 ? ` (and ${problems.length - 5} more)` : '';
  throw new Error(`invalid agent script ${source}: ${shown}${more}`);
}

/** Reads and validates a script file. Synchronous because it runs once, at worker start. */
export function loadScript(path: string): AgentScript {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(`cannot read agent script ${path}: ${(error as Error).message}`, { cause: error });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new Error(`invalid agent script ${path}: not valid JSON: ${(error as Error).message}`, { cause: error });
  }
  return parseScript(raw, path);
}

function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(root)';
  return path.reduce<string>((out, key) => (typeof key === 'number' ? `${out}[${key}]` : out ? `${out}.${String(key)}` : String(key)), '');
}

function isRegExp(source: string): boolean {
  try {
    new RegExp(source, 'i');
    return true;
  } catch {
    return false;
  }
}
