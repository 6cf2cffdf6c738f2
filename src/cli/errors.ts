/**
 * How the CLI reports failures: one shape for humans (`error: ...` on stderr) and scripts
 * (`{"error": {...}}` on stdout), and one rule for exit codes: 2 when the input was wrong (the
 * same call will fail again), 1 when the operation failed.
 */
import { CommanderError } from 'commander';
import { ConfigError } from '../config';
import { AndonError, InvalidStateError, StalePlanError, ValidationError } from '../client/errors';
import { AuthError } from '../client/http/errors';

export const EXIT = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const;

/** Bad command-line input found by the CLI itself; `field` names the option or argument. */
export class UsageError extends Error {
  override name = 'UsageError';
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

export interface ErrorReport {
  type: string;
  message: string;
  field?: string;
  state?: string;
  currentPlanId?: string;
}

/** Commander's own output for these already told the person everything (help, version). */
const SILENT_COMMANDER_CODES = new Set(['commander.help', 'commander.helpDisplayed', 'commander.version']);

export function isSilent(error: unknown): boolean {
  return error instanceof CommanderError && SILENT_COMMANDER_CODES.has(error.code);
}

export function exitCodeFor(error: unknown): number {
  if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
  if (error instanceof UsageError || error instanceof ConfigError || ValidationError.isInstance(error)) return EXIT.usage;
  return EXIT.failed;
}

export function reportOf(error: unknown): ErrorReport {
  if (error instanceof CommanderError) {
    return withField({ type: 'UsageError', message: error.message.replace(/^error: /, '') }, commanderField(error.message));
  }
  if (error instanceof UsageError) return withField({ type: error.name, message: error.message }, error.field);
  if (ValidationError.isInstance(error)) return { type: error.name, message: error.message, field: error.field };
  if (StalePlanError.isInstance(error)) {
    return { type: error.name, message: error.message, state: error.state, currentPlanId: error.currentPlanId };
  }
  if (InvalidStateError.isInstance(error)) return { type: error.name, message: error.message, state: error.state };
  // The service's own message cannot know where the CLI took the token from.
  if (AuthError.isInstance(error) && error.status === 401)
    return { type: error.name, message: `${error.message}: check --token or ANDON_TOKEN` };
  if (AndonError.isInstance(error) || error instanceof Error) return { type: error.name || 'Error', message: error.message };
  return { type: 'Error', message: String(error) };
}

function withField(report: ErrorReport, field: string | undefined): ErrorReport {
  return field === undefined ? report : { ...report, field };
}

/** Commander names the option or argument only in its message, e.g. "required option '--reason <text>' not specified". */
function commanderField(message: string): string | undefined {
  const option = /option '(?:-\w, )?--(?:no-)?([\w-]+)/.exec(message);
  if (option?.[1]) return camelCase(option[1]);
  const argument = /argument '([\w-]+)/.exec(message);
  return argument?.[1] ? camelCase(argument[1]) : undefined;
}

function camelCase(flag: string): string {
  return flag.replace(/-(\w)/g, (_, letter: string) => letter.toUpperCase());
}
