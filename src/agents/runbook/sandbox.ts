/**
 * Everything the runbook agent does to the machine, each bounded: log reads confined to allowed
 * roots and capped in bytes and lines, commands from an allow-list run by execFile (no shell) with
 * a minimal environment, a timeout and cancellation, and HTTP checks of allow-listed URLs only.
 */
import { spawn } from 'node:child_process';
import { open, realpath } from 'node:fs/promises';
import path from 'node:path';
import { RE2JS } from 're2js';
import { WorkspaceError } from '../../workspace/errors';
import { resolveInTree } from '../../workspace/paths';
import { checkCommand, type CommandEntry } from './command-policy';

/** Refused by policy (not a failure of the thing checked): confinement and allow-lists. */
export class NotAllowedError extends Error {
  override name = 'NotAllowedError';
}

function within(child: string, root: string): boolean {
  const relative = path.relative(root, child);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}

/**
 * The real path of `file` if it lies under one of `roots`, both as written (no `..` escape) and
 * after resolving symlinks (no link pointing out). Relative paths resolve against `base`.
 */
export async function confinePath(file: string, roots: readonly string[], base: string): Promise<string> {
  if (file.includes('\0')) throw new NotAllowedError('path contains a NUL byte');
  const absolute = path.resolve(base, file);
  const absoluteRoots = roots.map((root) => path.resolve(base, root));
  if (!absoluteRoots.some((root) => within(absolute, root))) {
    throw new NotAllowedError(`${file} is outside the allowed roots (${roots.join(', ')})`);
  }
  const real = await realpath(absolute);
  const realRoots = await Promise.all(absoluteRoots.map((root) => realpath(root).catch(() => undefined)));
  if (!realRoots.some((root) => root !== undefined && within(real, root))) {
    throw new NotAllowedError(`${file} resolves to ${real}, outside the allowed roots (a symlink out of them)`);
  }
  return real;
}

/**
 * The real path of `relative` inside a code session's working tree `tree`, for the agents' file
 * tools: the workspace's own rule (`resolveInTree`: no absolute paths, `..`, `.git`, or symlinks
 * out of the tree), refused as NotAllowedError, which a model reads as the tool's error.
 */
export function confineToTree(tree: string, relative: string): string {
  try {
    return resolveInTree(tree, relative);
  } catch (error) {
    if (WorkspaceError.isInstance(error) && error.code === 'PathOutsideTree') throw new NotAllowedError(error.message);
    throw error;
  }
}

export interface LogScan {
  /** Lines searched (after the byte cap and sinceLines). */
  scanned: number;
  count: number;
  /** The most recent matching lines, at most maxLines, each cut to 300 characters. */
  excerpt: string[];
  /** True when the file was bigger than maxBytes and only its tail was read. */
  truncated: boolean;
}

const MAX_LINE_CHARS = 300;
/** Lines from logs are not trusted: cap what each test sees. */
const MAX_TESTED_CHARS = 4096;

/** A log search pattern that cannot be compiled as RE2 (backreferences, lookaround) or is too long. */
export class PatternError extends Error {
  override name = 'PatternError';
}

/** A compiled log pattern: RE2 semantics, so matching takes time linear in the line whatever the pattern. */
export interface LinePattern {
  readonly source: string;
  test(line: string): boolean;
}

export const MAX_PATTERN_CHARS = 500;

/**
 * Compiles a regular expression from a model or a runbook with RE2 (re2js): no backtracking, so no
 * pattern can stall the worker's event loop on a long log line (a JavaScript RegExp such as
 * `(a+)+$` takes exponential time). RE2 has no backreferences and no lookaround; such a pattern is
 * refused with a message saying so.
 */
export function compilePattern(source: string, options: { ignoreCase?: boolean } = {}): LinePattern {
  if (source.length === 0) throw new PatternError('the pattern is empty');
  if (source.length > MAX_PATTERN_CHARS) throw new PatternError(`the pattern is longer than ${MAX_PATTERN_CHARS} characters`);
  let compiled: RE2JS;
  try {
    compiled = RE2JS.compile(source, options.ignoreCase ? RE2JS.CASE_INSENSITIVE : 0);
  } catch (error) {
    throw new PatternError(
      `invalid pattern for RE2 (linear-time regular expressions: no backreferences, no lookahead or lookbehind): ${(error as Error).message}`,
    );
  }
  return { source, test: (line) => compiled.matcher(line).find() };
}

/** Reads at most the last `maxBytes` of a (confined) file and counts the lines matching `pattern`. */
export async function scanLog(
  realFile: string,
  options: { pattern: LinePattern; maxBytes: number; maxLines: number; sinceLines?: number },
): Promise<LogScan> {
  const handle = await open(realFile, 'r');
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new Error(`${realFile} is not a regular file`);
    const length = Math.min(stat.size, options.maxBytes);
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await handle.read(buffer, 0, length, stat.size - length);
    let lines = buffer.subarray(0, bytesRead).toString('utf8').split(/\r?\n/);
    const truncated = stat.size > length;
    // The first line of a tail is usually cut in the middle: drop it rather than report half a line.
    if (truncated) lines = lines.slice(1);
    if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
    if (options.sinceLines !== undefined) lines = lines.slice(-options.sinceLines);
    const { pattern } = options;
    const matches = lines.filter((line) => line.trim() !== '' && pattern.test(line.slice(0, MAX_TESTED_CHARS)));
    return {
      scanned: lines.length,
      count: matches.length,
      excerpt: matches.slice(-options.maxLines).map((line) => (line.length > MAX_LINE_CHARS ? `${line.slice(0, MAX_LINE_CHARS)}…` : line)),
      truncated,
    };
  } finally {
    await handle.close();
  }
}

/** Whether one allow-list entry allows every word of argv (see command-policy.ts). */
export function commandAllowed(argv: readonly string[], allowList: readonly CommandEntry[], options: { readOnly?: boolean } = {}): boolean {
  return checkCommand(argv, allowList, options).ok;
}

export interface CommandResult {
  /** null when the process was killed (timeout) or could not start. */
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  /** stdout, then stderr under a marker, each cut to its tail. */
  output: string;
  durationMs: number;
  /** Set when the command could not be started at all (ENOENT, EACCES). */
  spawnError?: string;
}

export interface RunOptions {
  cwd: string;
  timeoutMs: number;
  maxOutputBytes: number;
  signal: AbortSignal;
  heartbeat(details?: unknown): void;
  /** Variables added to the minimal environment (the idempotency key of a plan step, say). */
  env?: Readonly<Record<string, string>>;
  /** How long a command has between SIGTERM and SIGKILL on timeout or cancellation. */
  killGraceMs?: number;
}

const HEARTBEAT_EVERY_MS = 1_000;
/** Output kept per stream while a command runs (its tail), before maxOutputBytes cuts it for the result. */
const MAX_KEPT_OUTPUT = 4 * 1024 * 1024;
export const KILL_GRACE_MS = 2_000;

/**
 * What a command learns about the work it does, as environment variables, so a remediation can
 * tell a retry from a first run: ANDON_IDEMPOTENCY_KEY is the same on every try of the same work
 * (session and plan step, and tool call for LLM tools), ANDON_ATTEMPT counts Temporal's tries of
 * the activity (1 the first time; more after a worker was lost or the call timed out).
 */
export function idempotencyEnv(work: { sessionId: string; stepId: string; callId?: string; attempt: number }): Record<string, string> {
  const key = [work.sessionId, work.stepId, ...(work.callId === undefined ? [] : [work.callId])].join(':');
  return {
    ANDON_IDEMPOTENCY_KEY: key,
    ANDON_SESSION_ID: work.sessionId,
    ANDON_STEP_ID: work.stepId,
    ...(work.callId === undefined ? {} : { ANDON_TOOL_CALL_ID: work.callId }),
    ANDON_ATTEMPT: String(work.attempt),
  };
}

/** Signals a whole process group; a group already gone is fine. Where groups cannot be signalled (Windows), the child alone. */
function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (error) {
    // ESRCH: every process of the group has exited.
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return;
    try {
      process.kill(pid, signal);
    } catch {
      // Gone as well.
    }
  }
}

/**
 * Runs argv with spawn: no shell, a minimal environment (PATH and a UTF-8 locale only, so no
 * secret of the worker leaks to a runbook command, plus `options.env`), `node` meaning this
 * Node.js. The command runs in its own process group, and a timeout or a cancellation stops the
 * whole group (SIGTERM, then SIGKILL after a grace), so nothing it started (`sh -c 'sleep 600 &'`)
 * outlives the step. Resolves with the outcome whatever the exit code; rejects only when `signal`
 * aborts (with the signal's reason, once the command has exited), so a cancelled step never
 * reports a result.
 */
export function runCommand(argv: readonly string[], options: RunOptions): Promise<CommandResult> {
  const { signal } = options;
  if (signal.aborted) return Promise.reject(abortReason(signal));
  const [command, ...args] = argv;
  const executable = command === 'node' ? process.execPath : command!;
  const started = Date.now();
  const grace = options.killGraceMs ?? KILL_GRACE_MS;
  return new Promise<CommandResult>((resolve, reject) => {
    const ticker = setInterval(() => options.heartbeat({ command: argv.join(' '), elapsedMs: Date.now() - started }), HEARTBEAT_EVERY_MS);
    options.heartbeat({ command: argv.join(' '), elapsedMs: 0 });
    let timedOut = false;
    let stopping: NodeJS.Timeout | undefined;
    let exited = false;
    const stop = () => {
      const pid = child.pid;
      if (pid === undefined || stopping) return;
      signalGroup(pid, 'SIGTERM');
      // SIGKILL after the grace, even when the leader has exited: what it started may ignore SIGTERM.
      stopping = setTimeout(() => signalGroup(pid, 'SIGKILL'), grace);
    };
    const collect = (stream: NodeJS.ReadableStream | null, into: Buffer[]) => {
      let size = 0;
      stream?.on('data', (chunk: Buffer) => {
        into.push(chunk);
        size += chunk.length;
        // Keep the tail only: output beyond this is cut from the front, never a reason to kill the command.
        while (size > MAX_KEPT_OUTPUT && into.length > 1) size -= into.shift()!.length;
      });
    };
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let spawnError: NodeJS.ErrnoException | undefined;
    const child = spawn(executable, args, {
      cwd: options.cwd,
      env: { PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin', LANG: 'C.UTF-8', ...options.env },
      // Its own process group, so the group can be killed; not a daemon: we still wait for it.
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      windowsHide: true,
    });
    collect(child.stdout, stdout);
    collect(child.stderr, stderr);
    child.on('error', (error) => {
      spawnError = error;
      // A child that never started emits no 'close' on some platforms.
      if (child.pid === undefined) finish(null, null);
    });
    child.on('close', (code, killedBy) => finish(code, killedBy));
    let finished = false;
    function finish(code: number | null, killedBy: NodeJS.Signals | null): void {
      if (finished) return;
      finished = true;
      exited = true;
      clearInterval(ticker);
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      // The leader is gone and its output closed; stragglers that closed their stdio still get the SIGKILL.
      if (stopping && child.pid !== undefined) {
        clearTimeout(stopping);
        signalGroup(child.pid, 'SIGKILL');
      }
      if (signal.aborted) {
        reject(abortReason(signal));
        return;
      }
      const durationMs = Date.now() - started;
      const output = joinOutput(Buffer.concat(stdout).toString('utf8'), Buffer.concat(stderr).toString('utf8'), options.maxOutputBytes);
      if (spawnError && child.pid === undefined) {
        resolve({ exitCode: null, signal: null, timedOut, output, durationMs, spawnError: `${spawnError.code}: ${spawnError.message}` });
        return;
      }
      resolve({ exitCode: code, signal: killedBy, timedOut, output, durationMs });
    }
    const timer = setTimeout(() => {
      timedOut = true;
      stop();
    }, options.timeoutMs);
    const onAbort = () => {
      if (!exited) stop();
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function tail(text: string, maxBytes: number): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return text;
  return `[… ${bytes.length - maxBytes} bytes cut]\n${bytes.subarray(bytes.length - maxBytes).toString('utf8')}`;
}

function joinOutput(stdout: string, stderr: string, maxBytes: number): string {
  if (!stderr) return tail(stdout, maxBytes);
  const half = Math.floor(maxBytes / 2);
  return `${tail(stdout, half)}${stdout && !stdout.endsWith('\n') ? '\n' : ''}--- stderr ---\n${tail(stderr, half)}`;
}

export function urlAllowed(url: string, allowList: readonly string[]): boolean {
  return allowList.some((entry) => url === entry || (entry.endsWith('/') && url.startsWith(entry)));
}

export interface HttpResult {
  status?: number;
  ok: boolean;
  /** The first 200 characters of the body, or why there was no response. */
  detail: string;
  durationMs: number;
}

/** GET with a timeout; redirects are not followed, so an allow-listed URL cannot bounce elsewhere. */
export async function httpCheck(
  url: string,
  options: { expectStatus: number; timeoutMs: number; signal: AbortSignal },
): Promise<HttpResult> {
  const started = Date.now();
  try {
    const response = await fetch(url, {
      redirect: 'manual',
      signal: AbortSignal.any([options.signal, AbortSignal.timeout(options.timeoutMs)]),
    });
    const body = await readBounded(response, 2048);
    return {
      status: response.status,
      ok: response.status === options.expectStatus,
      detail: body.replace(/\s+/g, ' ').trim().slice(0, 200),
      durationMs: Date.now() - started,
    };
  } catch (error) {
    if (options.signal.aborted) throw abortReason(options.signal);
    const cause = (error as { cause?: { code?: string } }).cause;
    const reason =
      (error as Error).name === 'TimeoutError' ? `no answer within ${options.timeoutMs} ms` : (cause?.code ?? (error as Error).message);
    return { ok: false, detail: reason, durationMs: Date.now() - started };
  }
}

async function readBounded(response: Response, maxBytes: number): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < maxBytes) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.length;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return Buffer.concat(chunks).subarray(0, maxBytes).toString('utf8');
}

export function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}
