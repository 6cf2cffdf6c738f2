/**
 * Parsers for option and argument values. Each throws UsageError naming the field, so bad input
 * is refused before anything connects, with the same exit code as the SDK's ValidationError.
 */
import { SESSION_STATES, SessionState, parseDuration } from '../session/schema';
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
