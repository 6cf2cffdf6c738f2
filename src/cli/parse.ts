/**
 * Parsers for option and argument values. Each throws UsageError naming the field, so bad input
 * is refused before anything connects, with the same exit code as the SDK's ValidationError.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { BranchName, PublishMode, SESSION_STATES, SessionSource, SessionState, parseDuration } from '../session/schema';
import { firstIssue } from '../protocol/issues';
import { UsageError } from './errors';

const DURATION_HINT = 'expected a duration such as 30s, 10m, 2h or 1d';

/** "30s", "10m", "2h", "1d", "500ms" to milliseconds. */
export function duration(field: string): (text: string) => number {
  return (text) => {
    try {
      return parseDuration(text.trim());
    } catch {
      throw new UsageError(`invalid --${kebab(field)} "${text}": ${DURATION_HINT}`, field);
    }
  };
}

/** An ISO date/time, or a duration meaning "that long ago". */
export function since(text: string, now = Date.now()): Date {
  const trimmed = text.trim();
  if (/^\d+(ms|s|m|h|d)$/.test(trimmed)) return new Date(now - parseDuration(trimmed));
  const date = new Date(trimmed);
  if (/^\d{4}-\d{2}-\d{2}/.test(trimmed) && !Number.isNaN(date.getTime())) return date;
  throw new UsageError(`invalid --since "${text}": expected an ISO date/time (2025-01-31T09:00Z) or a duration such as 2h`, 'since');
}

export function integer(field: string, min: number): (text: string) => number {
  return (text) => {
    const value = Number(text);
    if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(value) || value < min) {
      throw new UsageError(`invalid --${kebab(field)} "${text}": expected a whole number of at least ${min}`, field);
    }
    return value;
  };
}

/** A number above zero, e.g. a budget in US dollars: 0.5, 2, 10.25. */
export function positiveNumber(field: string): (text: string) => number {
  return (text) => {
    const value = Number(text.trim());
    if (!/^\d*\.?\d+$/.test(text.trim()) || !Number.isFinite(value) || value <= 0) {
      throw new UsageError(`invalid --${kebab(field)} "${text}": expected a number above 0, e.g. 2.5`, field);
    }
    return value;
  };
}

/** A JSON object, e.g. tool arguments: '{"service":"checkout-api"}'. */
export function jsonObject(field: string): (text: string) => Record<string, unknown> {
  const example = `expected a JSON object such as '{"service":"checkout-api"}'`;
  return (text) => {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new UsageError(`invalid --${kebab(field)}: not valid JSON (${(error as Error).message}); ${example}`, field);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new UsageError(
        `invalid --${kebab(field)}: ${example}, not ${Array.isArray(value) ? 'an array' : JSON.stringify(value)}`,
        field,
      );
    }
    return value as Record<string, unknown>;
  };
}

export function nonEmpty(field: string): (text: string) => string {
  return (text) => {
    if (text.trim() === '') throw new UsageError(`invalid --${kebab(field)}: must not be empty`, field);
    return text.trim();
  };
}

/** Repeatable `--context key=value`; the value may itself contain "=". */
export function contextPair(text: string, previous: Record<string, string> = {}): Record<string, string> {
  const at = text.indexOf('=');
  const key = at > 0 ? text.slice(0, at).trim() : '';
  if (!key) throw new UsageError(`invalid --context "${text}": expected key=value`, 'context');
  return { ...previous, [key]: text.slice(at + 1) };
}

/** Repeatable and comma-separated: `--state planning --state paused,inProgress`. */
export function stateList(text: string, previous: SessionState[] = []): SessionState[] {
  return [...previous, ...states(text.split(','), 'state', '--state')];
}

/** `label` is how the person typed it: "--state" for an option, "state" for an argument. */
export function states(values: string[], field: string, label = field): SessionState[] {
  return values
    .flatMap((value) => value.split(','))
    .map((value) => value.trim())
    .filter((value) => value !== '')
    .map((value) => {
      const parsed = SessionState.safeParse(value);
      if (!parsed.success) throw new UsageError(`invalid ${label} "${value}": expected one of ${SESSION_STATES.join(', ')}`, field);
      return parsed.data;
    });
}

function kebab(field: string): string {
  return field.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
}

const SOURCE_HINT = 'expected github:owner/repo[@branch], git:<clone URL or path>[@branch], or a local repository path';

/**
 * `--source`: `github:owner/repo[@branch]`, `git:<clone URL or path>[@branch]`, or a local path
 * (made absolute, and it must exist here; `git:/path` names a path on the worker instead). A
 * branch follows the last "@" unless that "@" belongs to the location (`git@host:repo.git`,
 * `ssh://git@host/repo.git`); `--branch` says it without ambiguity.
 */
export function sessionSource(text: string, cwd = process.cwd()): SessionSource {
  const value = text.trim();
  if (value === '') throw new UsageError(`invalid --source: must not be empty; ${SOURCE_HINT}`, 'source');
  let raw: { github: string; branch?: string } | { git: string; branch?: string };
  if (value.startsWith('github:')) {
    const { location, branch } = splitBranch(value.slice('github:'.length));
    raw = { github: location, ...(branch ? { branch } : {}) };
  } else if (value.startsWith('git:')) {
    const { location, branch } = splitBranch(value.slice('git:'.length));
    raw = { git: location, ...(branch ? { branch } : {}) };
  } else {
    const absolute = path.resolve(cwd, value);
    if (!existsSync(absolute))
      throw new UsageError(
        `invalid --source "${text}": no such directory here (${absolute}); for a path on the worker write git:<path>. ${SOURCE_HINT}`,
        'source',
      );
    raw = { git: absolute };
  }
  const parsed = SessionSource.safeParse(raw);
  if (!parsed.success) {
    const issue = firstIssue(parsed.error);
    const where = issue.path.length ? ` (${issue.path.join('.')})` : '';
    // A URL's user:password part is never repeated back (it would land in logs and terminals).
    const shown = text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/gi, '$1***@');
    throw new UsageError(`invalid --source "${shown}"${where}: ${issue.message}`, 'source');
  }
  return parsed.data;
}

function splitBranch(text: string): { location: string; branch?: string } {
  const at = text.lastIndexOf('@');
  if (at <= 0) return { location: text };
  const location = text.slice(0, at);
  const branch = text.slice(at + 1);
  // The "@" of user@host: an scp-like location (the rest has ":") or a URL's user part.
  if (branch === '' || branch.includes(':') || /^[a-z][a-z0-9+.-]*:\/\/[^/]*$/i.test(location)) return { location: text };
  return { location, branch };
}

/** `--publish none|branch|pullRequest` (pull-request and pr are accepted for pullRequest). */
export function publishMode(text: string): PublishMode {
  const value = text.trim();
  const mode = { 'pull-request': 'pullRequest', pr: 'pullRequest' }[value] ?? value;
  const parsed = PublishMode.safeParse(mode);
  if (!parsed.success) throw new UsageError(`invalid --publish "${text}": expected one of ${PublishMode.options.join(', ')}`, 'publish');
  return parsed.data;
}

/** `--branch`: a git branch name. */
export function branchName(text: string): string {
  const parsed = BranchName.safeParse(text.trim());
  if (!parsed.success) throw new UsageError(`invalid --branch "${text}": ${firstIssue(parsed.error).message}`, 'branch');
  return parsed.data;
}
