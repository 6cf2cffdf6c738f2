/**
 * The tools an LLM agent may call: the runbook agent's diagnostics (bounded log searches, HTTP
 * checks of allow-listed URLs, read-only commands), the commands the configuration adds, and in
 * code sessions the workspace tools (./workspace-tools.ts). Each
 * tool has a zod input schema: the model sees it as JSON Schema, and a reviewer's edited
 * arguments are checked against it.
 */
import path from 'node:path';
import { z } from 'zod';
import type { ArgumentsCheck } from '../agent';
import {
  MAX_PATTERN_CHARS,
  compilePattern,
  confinePath,
  httpCheck,
  runCommand,
  scanLog,
  urlAllowed,
  NotAllowedError,
  type LinePattern,
} from '../runbook/sandbox';
import { checkCommand, describeEntry } from '../runbook/command-policy';
import { SAFE_VALUE } from '../runbook/template';
import type { CommandTool, LlmBackendConfig } from './config';
import type { AgentTool, ToolContext } from './tool';
import { createWorkspaceTools } from './workspace-tools';

export type { AgentTool, ToolContext } from './tool';

export function createTools(config: LlmBackendConfig): Map<string, AgentTool> {
  const d = config.diagnostics;
  const limits = d.limits;
  const tools: AgentTool[] = [
    {
      name: 'searchLog',
      description: `Count and show the most recent lines of a log file matching a regular expression. Files under: ${d.allowedRoots.join(', ')}.`,
      input: z.object({
        path: z.string().min(1).describe('the log file, relative to the working directory'),
        pattern: z
          .string()
          .min(1)
          .max(MAX_PATTERN_CHARS)
          .describe('an RE2 regular expression (linear time: no backreferences, no lookahead or lookbehind)'),
        maxLines: z.number().int().min(1).max(limits.maxExcerptLines).optional().describe('how many matching lines to show'),
      }),
      risky: false,
      run: async (args) => {
        const { path: file, pattern, maxLines } = args as { path: string; pattern: string; maxLines?: number };
        let regex: LinePattern;
        try {
          regex = compilePattern(pattern);
        } catch (error) {
          return { ok: false, output: (error as Error).message };
        }
        const real = await confinePath(file, d.allowedRoots, d.workdir);
        const scan = await scanLog(real, { pattern: regex, maxBytes: limits.maxLogBytes, maxLines: maxLines ?? limits.maxExcerptLines });
        const head = `${scan.count} of ${scan.scanned} lines match /${pattern}/${scan.truncated ? ` (the last ${limits.maxLogBytes} bytes only)` : ''}`;
        return { ok: true, output: [head, ...scan.excerpt].join('\n') };
      },
    },
    {
      name: 'httpCheck',
      description: `GET an allow-listed URL and report its status and the start of its body. Allowed: ${d.httpAllow.join(', ') || '(none configured)'}.`,
      input: z.object({ url: z.url().describe('the URL to check'), expectStatus: z.number().int().min(100).max(599).default(200) }),
      risky: false,
      run: async (args, context) => {
        const { url, expectStatus } = args as { url: string; expectStatus: number };
        if (!urlAllowed(url, d.httpAllow)) throw new NotAllowedError(`${url} is not in diagnostics.httpAllow`);
        const result = await httpCheck(url, { expectStatus, timeoutMs: limits.defaultTimeout, signal: context.signal });
        return { ok: result.ok, output: `${result.status ?? 'no response'} in ${result.durationMs} ms: ${result.detail}` };
      },
    },
    {
      name: 'runReadOnlyCommand',
      description: `Run a read-only command (no shell). Every argument is checked; allowed: ${d.readOnlyCommands.map(describeEntry).join(' | ') || '(none configured)'}.`,
      input: z.object({ argv: z.array(z.string().min(1)).min(1).describe('the command and its arguments, one word each') }),
      risky: false,
      run: async (args, context) => {
        const { argv } = args as { argv: string[] };
        const allowed = checkCommand(argv, d.readOnlyCommands, { readOnly: true });
        if (!allowed.ok) throw new NotAllowedError(`"${argv.join(' ')}" is not allowed by diagnostics.readOnlyCommands: ${allowed.reason}`);
        return command(argv, limits.defaultTimeout, context);
      },
    },
    ...Object.entries(config.commands).map(([name, spec]) => commandTool(name, spec)),
    ...createWorkspaceTools(config, (argv, where, context) => command(argv, where.timeoutMs, context, where.cwd)),
  ];

  function commandTool(name: string, spec: CommandTool): AgentTool {
    const shape = Object.fromEntries(
      Object.entries(spec.params).map(([param, meaning]) => [
        param,
        z.string().regex(SAFE_VALUE, 'expected one plain word (no spaces, not starting with "-")').describe(meaning),
      ]),
    );
    return {
      name,
      description: spec.description,
      input: z.object(shape),
      risky: spec.risky || config.risky.includes(name),
      run: (args, context) => {
        const argv = spec.argv.map((word) =>
          word.replace(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, param: string) => String(args[param] ?? '')),
        );
        return command(argv, Math.min(spec.timeout ?? limits.defaultTimeout, limits.maxTimeout), context);
      },
    };
  }

  async function command(
    argv: string[],
    timeoutMs: number,
    context: ToolContext,
    cwd = path.resolve(d.workdir),
  ): Promise<{ ok: boolean; output: string }> {
    const result = await runCommand(argv, {
      cwd,
      timeoutMs,
      maxOutputBytes: limits.maxOutputBytes,
      signal: context.signal,
      heartbeat: context.heartbeat,
      env: context.env,
    });
    const status = result.spawnError
      ? `could not start: ${result.spawnError}`
      : result.timedOut
        ? `timed out after ${timeoutMs} ms`
        : `exit ${result.exitCode}`;
    return { ok: result.exitCode === 0, output: `$ ${argv.join(' ')}\n${status}\n${result.output}`.trimEnd() };
  }

  const seen = new Set<string>();
  for (const t of tools) {
    if (seen.has(t.name))
      throw new Error(`invalid configuration: backend.commands.${t.name}: "${t.name}" is the name of a built-in tool; choose another`);
    seen.add(t.name);
  }
  for (const name of config.risky) {
    if (!tools.some((t) => t.name === name)) throw new Error(`invalid configuration: backend.risky: no tool is named "${name}"`);
  }
  return new Map(tools.map((t) => [t.name, { ...t, risky: t.risky || config.risky.includes(t.name) }]));
}

/** Checks arguments against a tool's schema; the first problem names its field. */
export function checkArguments(tool: AgentTool | undefined, name: string, args: Record<string, unknown>): ArgumentsCheck {
  if (!tool) return { ok: false, field: '(tool)', message: `no tool is named "${name}"` };
  const parsed = tool.input.safeParse(args);
  if (parsed.success) return { ok: true, arguments: parsed.data as Record<string, unknown> };
  const issue = parsed.error.issues[0];
  return { ok: false, field: issue?.path.join('.') || '(arguments)', message: issue?.message ?? 'invalid' };
}
