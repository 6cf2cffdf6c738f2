/**
 * Configuration of the LLM agent (`backend: { kind: 'llm', ... }` in temporal.config.ts).
 * Model and credentials live here and in the worker's environment, never in workflow input or
 * history: a session only ever carries the plan, tool calls and their heads of output.
 */
import { z } from 'zod';
import { Duration } from '../../session/duration';
import { CommandEntry } from '../runbook/command-policy';
import { RunbookBackendConfig } from '../runbook/config';

export const PROVIDERS = ['openai', 'anthropic', 'google', 'openai-compatible'] as const;

/** The environment variable each provider's API key is read from, unless `apiKeyEnv` names another. */
export const DEFAULT_API_KEY_ENV: Record<(typeof PROVIDERS)[number], string | undefined> = {
  openai: 'OPENAI_API_KEY',
  anthropic: 'ANTHROPIC_API_KEY',
  google: 'GOOGLE_GENERATIVE_AI_API_KEY',
  // Local servers (Ollama, vLLM, llama.cpp) usually need none.
  'openai-compatible': undefined,
};

/** A tool that runs a command the configuration allows: argv words may hold `{param}` placeholders. */
export const CommandTool = z.strictObject({
  description: z.string().min(1),
  argv: z.array(z.string().min(1)).min(1),
  /** Each parameter the model fills in, with what it means. Values are single safe words (no shell, no options). */
  params: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an identifier'), z.string()).default({}),
  /** Every call is reviewed by a person, even when the approved plan allows it. */
  risky: z.boolean().default(false),
  timeout: RunbookBackendConfig.shape.limits.unwrap().shape.defaultTimeout.optional(),
});
export type CommandTool = z.output<typeof CommandTool>;

/** What `runCommand` may run in a code session's working tree by default: the repository's own tests. */
export const DEFAULT_WORKSPACE_COMMANDS = ['npm test', 'npm run test', 'node test.js', 'node --test'];

/** The workspace tools of code sessions (./workspace-tools.ts): the commands they may run and their bounds. */
export const WorkspaceToolsConfig = z.object({
  /** Commands `runCommand` may run in the working tree (allow-list entries, every argument checked; `node` is this Node.js). */
  commands: z.array(CommandEntry).default(DEFAULT_WORKSPACE_COMMANDS),
  limits: z
    .object({
      /** Entries one `listFiles` call shows at most. */
      maxListEntries: z.number().int().positive().default(500),
      /** Bytes one `readFile` call returns at most (a line range beyond it is cut, saying where to go on). */
      maxReadBytes: z
        .number()
        .int()
        .positive()
        .default(64 * 1024),
      /** Matching lines one `searchFiles` call shows at most. */
      maxSearchMatches: z.number().int().positive().default(100),
      /** Bytes one `searchFiles` call reads at most, over all files. */
      maxSearchBytes: z
        .number()
        .int()
        .positive()
        .default(8 * 1024 * 1024),
      /** Files larger than this are skipped by searches and refused by edits. */
      maxFileBytes: z
        .number()
        .int()
        .positive()
        .default(1024 * 1024),
      /** The largest content `writeFile` writes, and the largest patch `applyPatch` takes. */
      maxWriteBytes: z
        .number()
        .int()
        .positive()
        .default(256 * 1024),
      /** Timeout of `runCommand` (a test suite takes longer than a diagnostic). */
      commandTimeout: Duration.default(5 * 60 * 1000),
    })
    .prefault({}),
});
export type WorkspaceToolsConfig = z.output<typeof WorkspaceToolsConfig>;

export const LlmBackendConfig = z
  .object({
    kind: z.literal('llm'),
    provider: z.enum(PROVIDERS),
    /** The provider's model id, e.g. gpt-4.1-mini, claude-sonnet-4-5, gemini-2.5-flash, llama3.1. */
    model: z.string().min(1),
    /** The API's base URL: required for openai-compatible (e.g. http://localhost:11434/v1 for Ollama), optional otherwise (a proxy). */
    baseURL: z.url().optional(),
    /** Which environment variable holds the API key (defaults: OPENAI_API_KEY, ANTHROPIC_API_KEY, GOOGLE_GENERATIVE_AI_API_KEY). */
    apiKeyEnv: z.string().min(1).optional(),
    /** As `backend`: the name the agent is registered under (the key of its agent-scoped memories). In `agents`, the entry's key is its name. */
    name: z.string().min(1).default('llm'),
    /** USD per million tokens, to count a session's cost against its budget. Unset: cost stays 0, tokens still count. */
    pricing: z.object({ inputPerMillionTokens: z.number().nonnegative(), outputPerMillionTokens: z.number().nonnegative() }).optional(),
    /** Whether the API takes JSON Schema structured outputs (json_schema); servers that know only json_object mode need false. */
    structuredOutputs: z.boolean().default(true),
    temperature: z.number().min(0).max(2).optional(),
    maxOutputTokens: z.number().int().positive().optional(),
    /** A step whose model keeps calling tools past this many turns fails (retry, skip or abort). */
    maxTurnsPerStep: z.number().int().positive().default(20),
    /** The diagnostics the runbook agent has (log search, HTTP checks, read-only commands), with the same bounds. */
    diagnostics: RunbookBackendConfig.pick({
      workdir: true,
      allowedRoots: true,
      readOnlyCommands: true,
      httpAllow: true,
      limits: true,
    }).prefault({}),
    /** Code sessions: the tools that list, search, read and change the working tree and run its tests. */
    workspace: WorkspaceToolsConfig.prefault({}),
    /** More tools: commands by name. */
    commands: z
      .record(z.string().regex(/^[A-Za-z][A-Za-z0-9_-]{0,63}$/, 'expected a tool name: letters, digits, "_" or "-"'), CommandTool)
      .default({}),
    /** Tools whose every call is reviewed (besides commands marked risky). */
    risky: z.array(z.string().min(1)).default([]),
    /**
     * Where transcripts and whole tool outputs are kept: a SQLite file (default
     * `<dataDir>/transcripts.db`; one machine), or a `postgres://` URL that every worker shares
     * (several workers: a step's next model turn may run on any of them). ANDON_LLM_TRANSCRIPTS.
     */
    transcripts: z
      .string()
      .min(1)
      .max(4_096)
      .refine((value) => !/^[a-z][a-z0-9+.-]*:\/\//i.test(value) || isPostgresUrl(value), {
        message: 'expected a SQLite file path or a postgres:// URL',
      })
      .optional(),
  })
  .superRefine((config, ctx) => {
    if (config.provider === 'openai-compatible' && !config.baseURL) {
      ctx.addIssue({
        code: 'custom',
        path: ['baseURL'],
        message: 'openai-compatible needs the base URL of its API (e.g. http://localhost:11434/v1)',
      });
    }
  });
export type LlmBackendConfigInput = z.input<typeof LlmBackendConfig>;
export type LlmBackendConfig = z.output<typeof LlmBackendConfig>;

/** A `postgres://` (or `postgresql://`) URL names a PostgreSQL database; anything else is a SQLite file. */
export function isPostgresUrl(location: string): boolean {
  return /^postgres(ql)?:\/\//.test(location);
}
