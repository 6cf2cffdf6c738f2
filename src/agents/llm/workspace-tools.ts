/**
 * The tools of code sessions: list, search and read the session's working tree, change it (exact
 * replacement, a unified diff, a new file) and run its own tests. They are offered only when the
 * request carries `workspace` (the activity prepared a tree on this worker), every path is
 * confined to that tree (no `..`, no absolute path, no symlink out, nothing under `.git`: refused
 * with the reason, which the model reads), and every read, search and output is bounded. Tools
 * that change files say so (`changesFiles`), so the planner knows which calls a plan must grant.
 * What they change is captured by the activity after the call, not here.
 */
import { realpathSync } from 'node:fs';
import { lstat, mkdir, open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { applyPatch as applyUnifiedDiff, parsePatch, type StructuredPatch } from 'diff';
import { RE2JS } from 're2js';
import { z } from 'zod';
import { checkCommand, describeEntry } from '../runbook/command-policy';
import { MAX_PATTERN_CHARS, NotAllowedError, compilePattern, confineToTree, type LinePattern } from '../runbook/sandbox';
import type { LlmBackendConfig } from './config';
import type { AgentTool, ToolContext } from './tool';

/** Folders never listed or searched into: git's own, and installed dependencies (unless asked for by path). */
const SKIPPED_DIRS = new Set(['.git', 'node_modules']);
const MAX_LINE_CHARS = 300;
/** Bytes looked at to tell a binary file (a NUL byte) from text. */
const SNIFF_BYTES = 8000;

export const WORKSPACE_TOOL_NAMES = ['listFiles', 'searchFiles', 'readFile', 'editFile', 'applyPatch', 'writeFile', 'runCommand'] as const;

const RelativePath = z.string().max(4096).describe('a path relative to the root of the working tree (no "..", not under .git)');
const Glob = z
  .string()
  .min(1)
  .max(200)
  .describe('a glob such as "*.ts" (matched against file names) or "src/**/*.js" (matched against paths): * ? ** and {a,b}');

export function createWorkspaceTools(config: LlmBackendConfig, run: CommandRunner): AgentTool[] {
  const limits = config.workspace.limits;
  const commands = config.workspace.commands;
  const tools: AgentTool[] = [
    {
      name: 'listFiles',
      description: `List the files of the working tree under a folder (one level, or every level with recursive or glob), at most ${limits.maxListEntries} entries; folders end with "/".`,
      input: z.object({
        path: RelativePath.default('.'),
        glob: Glob.optional(),
        recursive: z.boolean().default(false).describe('list every level below the folder, not only its direct entries'),
      }),
      risky: false,
      workspace: true,
      run: async (args, context) => {
        const { path: dir, glob, recursive } = args as { path: string; glob?: string; recursive: boolean };
        const tree = treeOf(context);
        const root = confineToTree(tree, '.');
        const real = confineToTree(tree, dir);
        const info = await statOrUndefined(real);
        if (!info?.isDirectory()) return { ok: false, output: `${dir} is not a folder of the working tree` };
        const match = glob === undefined ? undefined : compileGlob(glob);
        const entries: string[] = [];
        let more = 0;
        for await (const entry of walk(root, real, { recursive: recursive || glob !== undefined, dirs: glob === undefined })) {
          if (match && !match(entry.relative)) continue;
          if (entries.length < limits.maxListEntries) entries.push(entry.relative + (entry.dir ? '/' : ''));
          else more++;
        }
        if (entries.length === 0) return { ok: true, output: `no entries under ${dir}${glob ? ` match ${glob}` : ''}` };
        if (more > 0) entries.push(`… and ${more} more (narrow the path or the glob)`);
        return { ok: true, output: entries.join('\n') };
      },
    },
    {
      name: 'searchFiles',
      description: `Search the text files of the working tree for lines matching a regular expression (RE2: no backreferences or lookaround); shows file:line: text, at most ${limits.maxSearchMatches} lines.`,
      input: z.object({
        pattern: z.string().min(1).max(MAX_PATTERN_CHARS).describe('an RE2 regular expression'),
        path: RelativePath.default('.').describe('a folder or file to search, relative to the root of the working tree'),
        glob: Glob.optional(),
        ignoreCase: z.boolean().default(false),
      }),
      risky: false,
      workspace: true,
      run: async (args, context) => {
        const { pattern, path: where, glob, ignoreCase } = args as { pattern: string; path: string; glob?: string; ignoreCase: boolean };
        let regex: LinePattern;
        try {
          regex = compilePattern(pattern, { ignoreCase });
        } catch (error) {
          return { ok: false, output: (error as Error).message };
        }
        const tree = treeOf(context);
        const root = confineToTree(tree, '.');
        const real = confineToTree(tree, where);
        const info = await statOrUndefined(real);
        if (!info) return { ok: false, output: `${where} does not exist in the working tree` };
        const match = glob === undefined ? undefined : compileGlob(glob);
        const files = info.isDirectory()
          ? walk(root, real, { recursive: true, dirs: false })
          : single({ relative: relativeTo(root, real), real, dir: false });
        const lines: string[] = [];
        let matches = 0;
        let scanned = 0;
        let bytes = 0;
        let skipped = 0;
        let cut = false;
        for await (const file of files) {
          if (match && !match(file.relative)) continue;
          const text = await readText(file.real, limits.maxFileBytes);
          if (text === undefined) {
            skipped++;
            continue;
          }
          if (bytes + text.length > limits.maxSearchBytes) {
            cut = true;
            break;
          }
          bytes += text.length;
          scanned++;
          text.split(/\r?\n/).forEach((line, i) => {
            if (!regex.test(line.slice(0, 4096))) return;
            matches++;
            if (lines.length < limits.maxSearchMatches) lines.push(`${file.relative}:${i + 1}: ${cutLine(line)}`);
          });
        }
        const notes = [
          `${matches} matching line${matches === 1 ? '' : 's'} in ${scanned} file${scanned === 1 ? '' : 's'} searched`,
          skipped ? `${skipped} skipped (binary, a symbolic link, or larger than ${limits.maxFileBytes} bytes)` : '',
          matches > lines.length ? `the first ${lines.length} shown` : '',
          cut ? `stopped after ${bytes} bytes: narrow the path or the glob` : '',
        ].filter(Boolean);
        return { ok: true, output: [notes.join('; '), ...lines].join('\n') };
      },
    },
    {
      name: 'readFile',
      description: `Read a text file of the working tree, or a range of its lines (at most ${limits.maxReadBytes} bytes per call). Each line is shown as "NUMBER| text"; the number and "| " are not part of the file.`,
      input: z.object({
        path: RelativePath,
        startLine: z.number().int().min(1).optional().describe('the first line to show (1-based; default 1)'),
        endLine: z.number().int().min(1).optional().describe('the last line to show (default: the end)'),
      }),
      risky: false,
      workspace: true,
      run: async (args, context) => {
        const { path: file, startLine = 1, endLine } = args as { path: string; startLine?: number; endLine?: number };
        const real = confineToTree(treeOf(context), file);
        const text = await readTextFile(real, file, limits.maxFileBytes);
        const all = text.split(/\r?\n/);
        if (all.length > 1 && all[all.length - 1] === '') all.pop();
        const last = Math.min(endLine ?? all.length, all.length);
        if (startLine > Math.max(all.length, 1))
          return { ok: false, output: `${file} has ${all.length} lines; startLine ${startLine} is past its end` };
        const shown: string[] = [];
        let size = 0;
        let line = startLine;
        for (; line <= last; line++) {
          const entry = `${line}| ${all[line - 1]}`;
          if (size + entry.length + 1 > limits.maxReadBytes && shown.length > 0) break;
          shown.push(entry);
          size += entry.length + 1;
        }
        const range = `${file} (lines ${startLine}-${line - 1} of ${all.length})`;
        const rest = line <= last ? `\n… cut at ${limits.maxReadBytes} bytes: read on from startLine ${line}` : '';
        return { ok: true, output: `${range}\n${shown.join('\n')}${rest}` };
      },
    },
    {
      name: 'editFile',
      description:
        'Change a file of the working tree by exact replacement: oldText (copied exactly from the file, without line numbers) must occur exactly once; it becomes newText. Changes files.',
      input: z.object({
        path: RelativePath,
        oldText: z.string().min(1).describe('the exact text to replace, with enough surrounding lines to occur only once'),
        newText: z.string().describe('what replaces it (empty to delete it)'),
      }),
      risky: false,
      workspace: true,
      changesFiles: true,
      run: async (args, context) => {
        const { path: file, oldText, newText } = args as { path: string; oldText: string; newText: string };
        const real = confineToTree(treeOf(context), file);
        const text = await readTextFile(real, file, limits.maxFileBytes);
        const count = occurrences(text, oldText);
        if (count === 0) return { ok: false, output: `oldText does not occur in ${file}: read the file and copy the text exactly` };
        if (count > 1)
          return { ok: false, output: `oldText occurs ${count} times in ${file}: include more surrounding lines so it occurs once` };
        if (oldText === newText) return { ok: false, output: 'oldText and newText are the same: nothing to change' };
        const index = text.indexOf(oldText);
        await writeFile(real, text.slice(0, index) + newText + text.slice(index + oldText.length));
        const line = text.slice(0, index).split('\n').length;
        return { ok: true, output: `edited ${file} at line ${line}: ${lineCount(oldText)} line(s) replaced by ${lineCount(newText)}` };
      },
    },
    {
      name: 'applyPatch',
      description:
        'Change files of the working tree with a unified diff (as git diff writes it: ---/+++ headers, @@ hunks; /dev/null creates or deletes a file). All or nothing: if any hunk does not apply, no file changes. Changes files.',
      input: z.object({
        patch: z
          .string()
          .min(1)
          .max(limits.maxWriteBytes)
          .describe('the unified diff, paths relative to the root (a/ and b/ prefixes allowed)'),
      }),
      risky: false,
      workspace: true,
      changesFiles: true,
      run: async (args, context) => applyDiff(treeOf(context), (args as { patch: string }).patch, limits.maxFileBytes),
    },
    {
      name: 'writeFile',
      description: `Create a file in the working tree (folders are created as needed), at most ${limits.maxWriteBytes} bytes. An existing file is refused unless overwrite is true. Changes files.`,
      input: z.object({
        path: RelativePath,
        content: z.string().max(limits.maxWriteBytes),
        overwrite: z.boolean().default(false).describe('replace the file if it exists'),
      }),
      risky: false,
      workspace: true,
      changesFiles: true,
      run: async (args, context) => {
        const { path: file, content, overwrite } = args as { path: string; content: string; overwrite: boolean };
        const real = confineToTree(treeOf(context), file);
        const existing = await statOrUndefined(real);
        if (existing?.isDirectory()) return { ok: false, output: `${file} is a folder` };
        if (existing && !overwrite)
          return { ok: false, output: `${file} exists: use editFile or applyPatch to change it, or overwrite: true` };
        await mkdir(path.dirname(real), { recursive: true });
        await writeFile(real, content);
        return { ok: true, output: `${existing ? 'replaced' : 'created'} ${file} (${Buffer.byteLength(content)} bytes)` };
      },
    },
    {
      name: 'runCommand',
      description: `Run a command in the root of the working tree (no shell; every argument is checked), such as the repository's tests. Allowed: ${commands.map(describeEntry).join(' | ') || '(none configured)'}. May change files.`,
      input: z.object({ argv: z.array(z.string().min(1)).min(1).describe('the command and its arguments, one word each') }),
      risky: false,
      workspace: true,
      changesFiles: true,
      run: async (args, context) => {
        const { argv } = args as { argv: string[] };
        const allowed = checkCommand(argv, commands);
        if (!allowed.ok) throw new NotAllowedError(`"${argv.join(' ')}" is not allowed by workspace.commands: ${allowed.reason}`);
        return run(argv, { cwd: treeOf(context), timeoutMs: limits.commandTimeout }, context);
      },
    },
  ];
  return tools.map((tool) => ({ ...tool, run: (args, context) => withoutTreePath(tool.run(args, context), context) }));
}

/** Runs an allowed command in the runbook sandbox (process group, timeout, output cap): tools.ts provides it. */
export type CommandRunner = (
  argv: string[],
  where: { cwd: string; timeoutMs: number },
  context: ToolContext,
) => Promise<{ ok: boolean; output: string }>;

/**
 * A file system error (ENOTDIR, EACCES, ...) reaches the model as the call's error: with the tree's
 * place on the worker written as "." (the model works with paths relative to the tree's root).
 */
async function withoutTreePath(
  running: Promise<{ ok: boolean; output: string }>,
  context: ToolContext,
): Promise<{ ok: boolean; output: string }> {
  try {
    return await running;
  } catch (error) {
    const tree = context.workspace;
    // Duck-typed: errors of node:fs are not always `instanceof Error` of this realm (jest, vm).
    const failure = error as { code?: unknown; message?: unknown } | null;
    if (!tree || typeof failure?.code !== 'string' || typeof failure.message !== 'string') throw error;
    const roots = [...new Set([realpathOr(tree), path.resolve(tree)])];
    const message = roots.reduce((text, root) => text.split(root).join('.'), failure.message);
    throw new NotAllowedError(message);
  }
}

function realpathOr(tree: string): string {
  try {
    return realpathSync(tree);
  } catch {
    return path.resolve(tree);
  }
}

function treeOf(context: ToolContext): string {
  if (!context.workspace) throw new NotAllowedError('this session has no working tree (it has no source): workspace tools cannot run');
  return context.workspace;
}

// ---- files --------------------------------------------------------------------------------------

interface Entry {
  /** Relative to the root of the tree, with "/" separators. */
  relative: string;
  real: string;
  dir: boolean;
}

function relativeTo(root: string, real: string): string {
  return path.relative(root, real).split(path.sep).join('/') || '.';
}

async function* single(entry: Entry): AsyncGenerator<Entry> {
  yield entry;
}

/** The entries under `dir`, depth first in name order; symlinks are listed, never followed; `.git` and node_modules are skipped. */
async function* walk(root: string, dir: string, options: { recursive: boolean; dirs: boolean }): AsyncGenerator<Entry> {
  const names = (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const dirent of names) {
    const real = path.join(dir, dirent.name);
    const relative = relativeTo(root, real);
    if (dirent.isDirectory()) {
      if (SKIPPED_DIRS.has(dirent.name) || dirent.name.toLowerCase() === '.git') continue;
      if (options.dirs) yield { relative, real, dir: true };
      if (options.recursive) yield* walk(root, real, options);
    } else if (dirent.name.toLowerCase() !== '.git') {
      yield { relative, real, dir: false };
    }
  }
}

async function statOrUndefined(real: string) {
  try {
    return await stat(real);
  } catch {
    return undefined;
  }
}

/** A file's text, or undefined when it is binary, too large or not a regular file (searches skip it). */
async function readText(real: string, maxBytes: number): Promise<string | undefined> {
  const info = await lstat(real).catch(() => undefined);
  if (!info?.isFile() || info.size > maxBytes) return undefined;
  const handle = await open(real, 'r');
  try {
    const buffer = await handle.readFile();
    return buffer.subarray(0, SNIFF_BYTES).includes(0) ? undefined : buffer.toString('utf8');
  } finally {
    await handle.close();
  }
}

/** A file's text for reading or editing, or an error the model reads saying why not. */
async function readTextFile(real: string, shown: string, maxBytes: number): Promise<string> {
  const info = await statOrUndefined(real);
  if (!info) throw new NotAllowedError(`${shown} does not exist in the working tree`);
  if (!info.isFile()) throw new NotAllowedError(`${shown} is not a file`);
  if (info.size > maxBytes) throw new NotAllowedError(`${shown} is ${info.size} bytes, more than the ${maxBytes} the tools read`);
  const buffer = await readFile(real);
  if (buffer.subarray(0, SNIFF_BYTES).includes(0)) throw new NotAllowedError(`${shown} is a binary file`);
  return buffer.toString('utf8');
}

function occurrences(text: string, part: string): number {
  let count = 0;
  for (let at = text.indexOf(part); at !== -1; at = text.indexOf(part, at + part.length)) count++;
  return count;
}

function lineCount(text: string): number {
  return text === '' ? 0 : text.split('\n').length;
}

function cutLine(line: string): string {
  return line.length > MAX_LINE_CHARS ? `${line.slice(0, MAX_LINE_CHARS)}…` : line;
}

/**
 * A glob as an RE2 matcher (linear time, whatever the glob): `*` and `?` within a path segment,
 * `**` across segments, `{a,b}` alternatives. A glob without "/" matches the file's name, one
 * with "/" its whole path from the root.
 */
export function compileGlob(glob: string): (relative: string) => boolean {
  let source = '';
  let depth = 0;
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      const slash = glob[i + 2] === '/';
      source += slash ? '(?:.*/)?' : '.*';
      i += slash ? 2 : 1;
    } else if (c === '*') source += '[^/]*';
    else if (c === '?') source += '[^/]';
    else if (c === '{') {
      depth++;
      source += '(?:';
    } else if (c === '}' && depth > 0) {
      depth--;
      source += ')';
    } else if (c === ',' && depth > 0) source += '|';
    else source += RE2JS.quote(c);
  }
  if (depth > 0) throw new NotAllowedError(`glob ${glob}: an unclosed "{"`);
  const compiled = RE2JS.compile(`^${source}$`);
  const byName = !glob.includes('/');
  return (relative) => compiled.matcher(byName ? relative.slice(relative.lastIndexOf('/') + 1) : relative).matches();
}

// ---- patches ------------------------------------------------------------------------------------

/** A file name of a diff header, relative to the root: git's a/ and b/ prefixes removed; undefined for /dev/null. */
function diffPath(name: string | undefined): string | undefined {
  if (name === undefined || name === '/dev/null') return undefined;
  const cleaned = name.split('\t')[0]!.trim();
  return /^[ab]\//.test(cleaned) ? cleaned.slice(2) : cleaned;
}

/**
 * Applies every file of a unified diff in memory first, then writes: a hunk that does not fit,
 * a path outside the tree, a file to create that exists or one to change that does not, and
 * nothing changes on disk.
 */
async function applyDiff(tree: string, patch: string, maxFileBytes: number): Promise<{ ok: boolean; output: string }> {
  let parsed: StructuredPatch[];
  try {
    parsed = parsePatch(patch);
  } catch (error) {
    return { ok: false, output: `the patch is not a unified diff: ${(error as Error).message}` };
  }
  parsed = parsed.filter((p) => p.hunks.length > 0 || p.isRename || p.isBinary || p.isDelete || p.isCreate);
  if (parsed.length === 0) return { ok: false, output: 'the patch changes no file (expected ---/+++ headers and @@ hunks)' };
  /** The new content of every file the patch touches (null: deleted), by real path. */
  const after = new Map<string, { shown: string; content: string | null }>();
  const current = async (real: string, shown: string): Promise<string | null> => {
    const known = after.get(real);
    if (known) return known.content;
    return (await statOrUndefined(real)) ? readTextFile(real, shown, maxFileBytes) : null;
  };
  const summary: string[] = [];
  for (const [i, filePatch] of parsed.entries()) {
    const from = diffPath(filePatch.oldFileName);
    const to = diffPath(filePatch.newFileName);
    const label = to ?? from ?? `file ${i + 1}`;
    if (filePatch.isBinary) return { ok: false, output: `${label}: binary patches cannot be applied; nothing was changed` };
    if (from === undefined && to === undefined)
      return { ok: false, output: `file ${i + 1} of the patch names no file; nothing was changed` };
    const fromReal = from === undefined ? undefined : confineToTree(tree, from);
    const toReal = to === undefined ? undefined : confineToTree(tree, to);
    const source = fromReal === undefined ? '' : await current(fromReal, from!);
    if (fromReal !== undefined && source === null)
      return { ok: false, output: `${from} does not exist in the working tree; nothing was changed` };
    if (fromReal === undefined && toReal !== undefined && (await current(toReal, to!)) !== null)
      return { ok: false, output: `${to} already exists, but the patch creates it; nothing was changed` };
    const result = filePatch.hunks.length === 0 ? source! : applyUnifiedDiff(source!, filePatch);
    if (result === false)
      return { ok: false, output: `a hunk of ${label} does not apply (the file differs from the patch's context); nothing was changed` };
    if (fromReal !== undefined && toReal !== fromReal) after.set(fromReal, { shown: from!, content: null });
    if (toReal !== undefined) after.set(toReal, { shown: to!, content: result });
    summary.push(
      to === undefined
        ? `deleted ${from}`
        : from === undefined
          ? `created ${to}`
          : from !== to
            ? `renamed ${from} to ${to}`
            : `changed ${to}`,
    );
  }
  for (const [real, { content }] of after) {
    if (content === null) await rm(real, { force: true });
    else {
      await mkdir(path.dirname(real), { recursive: true });
      await writeFile(real, content);
    }
  }
  return { ok: true, output: `applied: ${summary.join(', ')}` };
}
