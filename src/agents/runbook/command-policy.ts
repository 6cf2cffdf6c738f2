/**
 * Command allow-lists that check every argument, not just a prefix. An entry is either a string
 * (the exact leading words, then plain words only: no flag of any kind) or a rule naming the
 * leading words, the plain words allowed after them, and each allowed flag with whether it takes
 * a value. Flags that write files (`--output`, `-o`, ...) can only be allowed with a fixed list of
 * values, and read-only lists refuse arguments naming secrets (`kubectl get secrets`), whatever
 * the configuration says: a log line that talks a model into `git log --output=FILE` or
 * `kubectl get secrets -o yaml` is refused before anything runs.
 */
import { z } from 'zod';

/** Flags that name a file to write in common tools: never allowed with a free value. */
export const OUTPUT_FLAGS: ReadonlySet<string> = new Set([
  '-o',
  '--output',
  '--output-file',
  '--out',
  '--out-file',
  '--outfile',
  '--log-file',
  '--logfile',
  '--output-directory',
  '--dump',
]);

/** A word naming secrets (Kubernetes `secret`, `secrets`, `secret/x`, `secrets.v1`): refused in read-only commands. */
const SECRET_WORD = /(^|[/,=:])secrets?($|[/.,])/i;

/** A plain word: not a flag, no shell or control characters, at most 256 characters. */
const PLAIN_WORD = /^(?!-)[A-Za-z0-9._:@/=+,%-]{1,256}$/;

const FlagName = z.string().regex(/^--?[A-Za-z0-9][A-Za-z0-9-]*$/, 'expected a flag such as "-n" or "--namespace"');

/** What a flag takes: `true` = nothing (a switch), `'value'` = one plain word, a list = one of these words. */
const FlagSpec = z.union([z.literal(true), z.literal('value'), z.array(z.string().regex(PLAIN_WORD, 'expected a plain word')).min(1)]);

export const CommandRule = z
  .strictObject({
    /** The words the command starts with: the executable and its subcommand ("kubectl get"). */
    prefix: z.string().trim().min(1),
    /** The plain words allowed after the prefix, exactly. Omitted: any plain word (no flag). */
    args: z.array(z.string().regex(PLAIN_WORD, 'expected a plain word')).optional(),
    /** At most this many plain words after the prefix. */
    maxArgs: z.number().int().nonnegative().max(64).default(16),
    /** The flags allowed after the prefix, and what each takes. Unlisted flags are refused. */
    flags: z.record(FlagName, FlagSpec).default({}),
  })
  .superRefine((rule, ctx) => {
    for (const [flag, spec] of Object.entries(rule.flags)) {
      if (spec === 'value' && OUTPUT_FLAGS.has(flag)) {
        ctx.addIssue({
          code: 'custom',
          path: ['flags', flag],
          message: `${flag} can write a file: allow it with a list of values (e.g. ["json", "yaml"]), not 'value'`,
        });
      }
    }
  });
export type CommandRule = z.output<typeof CommandRule>;

/**
 * An allow-list entry: "node demo/bin/status.js" (those words, then plain words only) or a
 * CommandRule. `node` as the first word means the Node.js running andon.
 */
export const CommandEntry = z.union([z.string().trim().min(1), CommandRule]);
export type CommandEntry = z.output<typeof CommandEntry>;
export type CommandEntryInput = z.input<typeof CommandEntry>;

export type CommandCheck = { ok: true } | { ok: false; reason: string };

function ruleOf(entry: CommandEntry): CommandRule {
  return typeof entry === 'string' ? { prefix: entry, maxArgs: 16, flags: {} } : entry;
}

/** One entry, for people and models: `kubectl get [pods|events] [-n VALUE] [-o json|yaml]`. */
export function describeEntry(entry: CommandEntry): string {
  const rule = ruleOf(entry);
  const args = rule.args ? (rule.args.length > 0 ? ` [${rule.args.join('|')}]` : '') : ' [WORD...]';
  const flags = Object.entries(rule.flags).map(([flag, spec]) =>
    spec === true ? ` [${flag}]` : spec === 'value' ? ` [${flag} VALUE]` : ` [${flag} ${spec.join('|')}]`,
  );
  return `${rule.prefix}${args}${flags.join('')}`;
}

function checkRule(argv: readonly string[], rule: CommandRule, readOnly: boolean): CommandCheck | undefined {
  const words = rule.prefix.split(/\s+/);
  if (words.length > argv.length || !words.every((word, i) => word === argv[i])) return undefined;
  let positional = 0;
  for (let i = words.length; i < argv.length; i++) {
    const arg = argv[i]!;
    if (readOnly && SECRET_WORD.test(arg)) return { ok: false, reason: `"${arg}" names secrets, which read-only commands may not read` };
    if (arg.startsWith('-')) {
      const equals = arg.indexOf('=');
      const flag = arg.startsWith('--') && equals > 0 ? arg.slice(0, equals) : arg;
      const spec = Object.hasOwn(rule.flags, flag) ? rule.flags[flag] : undefined;
      if (spec === undefined) return { ok: false, reason: `flag "${flag}" is not allowed after "${rule.prefix}"` };
      if (spec === true) {
        if (flag !== arg) return { ok: false, reason: `flag "${flag}" takes no value` };
        continue;
      }
      let value: string | undefined;
      if (flag !== arg) value = arg.slice(equals + 1);
      else value = argv[++i];
      if (value === undefined) return { ok: false, reason: `flag "${flag}" needs a value` };
      if (!PLAIN_WORD.test(value)) return { ok: false, reason: `the value of "${flag}" must be one plain word, not "${value}"` };
      if (readOnly && SECRET_WORD.test(value))
        return { ok: false, reason: `"${value}" names secrets, which read-only commands may not read` };
      if (Array.isArray(spec) && !spec.includes(value)) {
        return { ok: false, reason: `the value of "${flag}" must be one of ${spec.join(', ')}, not "${value}"` };
      }
      continue;
    }
    if (!PLAIN_WORD.test(arg)) return { ok: false, reason: `"${arg}" is not a plain word` };
    if (rule.args && !rule.args.includes(arg)) {
      return { ok: false, reason: `"${arg}" is not allowed after "${rule.prefix}" (allowed: ${rule.args.join(', ') || 'none'})` };
    }
    if (++positional > rule.maxArgs) return { ok: false, reason: `more than ${rule.maxArgs} arguments after "${rule.prefix}"` };
  }
  return { ok: true };
}

/**
 * Whether every word of argv is allowed by one entry: its prefix, then only plain words and flags
 * the entry allows. The reason names the first argument refused (by the first entry whose prefix
 * fits), so a model or a runbook author sees what to change.
 */
export function checkCommand(
  argv: readonly string[],
  allowList: readonly CommandEntry[],
  options: { readOnly?: boolean } = {},
): CommandCheck {
  let refusal: CommandCheck | undefined;
  for (const entry of allowList) {
    const check = checkRule(argv, ruleOf(entry), options.readOnly ?? false);
    if (check?.ok) return check;
    refusal ??= check;
  }
  return refusal ?? { ok: false, reason: 'no allow-list entry starts with these words' };
}
