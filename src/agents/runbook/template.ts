/**
 * Placeholders in runbook text: {labels.KEY} and {findings.NAME.FIELD}. Text (titles,
 * descriptions) renders leniently, a missing value staying visible as written. Command arguments
 * render strictly: a missing value or one that could change what the command means is an error,
 * because alert labels come from outside and execFile has no shell to quote for us.
 */
export interface TemplateFacts {
  labels: Record<string, string>;
  /** findings[name][field], all strings. */
  findings: Record<string, Record<string, string>>;
}

const PLACEHOLDER = /\{(labels|findings)\.([^{}]+)\}/g;

/** What a filled-in argument may contain: no leading "-" (no smuggled flags), no spaces, quotes or control characters. */
export const SAFE_VALUE = /^(?!-)[A-Za-z0-9._:@/=+,%-]*$/;
const SAFE_VALUE_BODY = '(?!-)[A-Za-z0-9._:@/=+,%-]*';

export class TemplateError extends Error {
  override name = 'TemplateError';
}

function lookup(facts: TemplateFacts, scope: string, key: string): string | undefined {
  if (scope === 'labels') return Object.hasOwn(facts.labels, key) ? facts.labels[key] : undefined;
  const dot = key.indexOf('.');
  if (dot < 0) return undefined;
  const name = key.slice(0, dot);
  const field = key.slice(dot + 1);
  const finding = Object.hasOwn(facts.findings, name) ? facts.findings[name]! : undefined;
  return finding && Object.hasOwn(finding, field) ? finding[field] : undefined;
}

export function renderText(template: string, facts: TemplateFacts): string {
  return template.replace(PLACEHOLDER, (whole, scope: string, key: string) => lookup(facts, scope, key) ?? whole);
}

export function renderArg(template: string, facts: TemplateFacts): string {
  return template.replace(PLACEHOLDER, (whole, scope: string, key: string) => {
    const value = lookup(facts, scope, key);
    if (value === undefined) throw new TemplateError(`${whole} has no value`);
    if (!SAFE_VALUE.test(value)) throw new TemplateError(`${whole} is ${JSON.stringify(value)}, which is not a safe command argument`);
    return value;
  });
}

export function renderArgv(argv: readonly string[], facts: TemplateFacts): string[] {
  return argv.map((arg) => renderArg(arg, facts));
}

/**
 * Whether `argv` could have come from `template`: each placeholder stands for any safe value. Used
 * when a step runs, to check the command in the approved plan against the runbook it names.
 */
export function argvMatchesTemplate(argv: readonly string[], template: readonly string[]): boolean {
  if (argv.length !== template.length) return false;
  return template.every((part, i) => {
    const pieces = part.split(PLACEHOLDER);
    // split with two capture groups yields [text, scope, key, text, scope, key, text...]
    let source = '';
    for (let j = 0; j < pieces.length; j += 3) {
      source += escapeRegExp(pieces[j]!);
      if (j + 1 < pieces.length) source += SAFE_VALUE_BODY;
    }
    return new RegExp(`^${source}$`).test(argv[i]!);
  });
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A shell-like rendering for people (plans, artifacts); never executed. */
export function formatArgv(argv: readonly string[]): string {
  return argv.map((arg) => (/^[A-Za-z0-9._:@/=+,%-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`)).join(' ');
}
