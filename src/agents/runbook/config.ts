/**
 * Configuration of the runbook agent (`backend: { kind: 'runbook', ... }` in temporal.config.ts).
 * Kept beside the backend so src/config/schema.ts only has to add it to its union. The defaults run the
 * shipped demo (runbooks/ and demo/) from the project root with nothing else configured.
 */
import { z } from 'zod';
import { Duration } from '../../session/duration';
import { CommandEntry } from './command-policy';

/**
 * An allow-list entry (command-policy.ts): "node demo/bin/status.js" allows those words followed
 * by plain words only (no flags); a rule `{ prefix, args, flags }` names the plain words and the
 * flags allowed after the prefix. Every argument is checked, not just the prefix.
 */
const CommandPrefix = CommandEntry;

export const DEMO_COMMANDS = ['node demo/bin/rollback.js', 'node demo/bin/error-rate.js', 'node demo/bin/status.js'];
export const DEMO_READ_ONLY_COMMANDS = ['node demo/bin/error-rate.js', 'node demo/bin/status.js'];

export const RunbookBackendConfig = z.object({
  kind: z.literal('runbook'),
  /** Folder of runbook files (*.yaml, *.yml, *.md with YAML front matter, *.json). Relative to the project root. */
  runbooks: z.string().min(1).default('runbooks'),
  /** Working directory of every command, and what relative log paths and roots resolve against. Relative to the project root. */
  workdir: z.string().min(1).default('.'),
  /** Log diagnostics may read only files under these folders (relative to workdir); symlinks out of them are refused. */
  allowedRoots: z.array(z.string().min(1)).default(['demo']),
  /** Commands plan steps may run (allow-list entries; `node` means the Node.js running andon). */
  commands: z.array(CommandPrefix).default(DEMO_COMMANDS),
  /** Commands investigations may run: read-only ones only (arguments naming secrets are refused). */
  readOnlyCommands: z.array(CommandPrefix).default(DEMO_READ_ONLY_COMMANDS),
  /** URLs HTTP checks may fetch: an exact URL, or a prefix when the entry ends with "/". */
  httpAllow: z.array(z.url()).default([]),
  limits: z
    .object({
      /** The most of a log file one diagnostic reads: its tail, this many bytes. */
      maxLogBytes: z
        .number()
        .int()
        .positive()
        .default(1024 * 1024),
      /** Excerpt lines per log finding, whatever a runbook asks for. */
      maxExcerptLines: z.number().int().positive().default(20),
      /** Output kept per command (its tail), so artifacts stay well inside Temporal's payload limits. */
      maxOutputBytes: z
        .number()
        .int()
        .positive()
        .default(32 * 1024),
      /** Ceiling on any command or HTTP timeout a runbook sets. */
      maxTimeout: Duration.default(10 * 60 * 1000),
      /** Timeout of commands and HTTP checks that set none. */
      defaultTimeout: Duration.default(30 * 1000),
    })
    .prefault({}),
});
export type RunbookBackendConfigInput = z.input<typeof RunbookBackendConfig>;
export type RunbookBackendConfig = z.output<typeof RunbookBackendConfig>;
