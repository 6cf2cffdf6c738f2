/**
 * Everything the runbook agent does to the machine, each bounded: log reads confined to allowed
 * roots and capped in bytes and lines, commands from an allow-list run by execFile (no shell) with
 * a minimal environment, a timeout and cancellation, and HTTP checks of allow-listed URLs only.
 */
import { execFile } from 'node:child_process';
import { open, realpath } from 'node:fs/promises';
import path from 'node:path';

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
/** Regexes from runbooks are trusted, but lines from logs are not: cap what each test sees. */
const MAX_TESTED_CHARS = 4096;

/** Reads at most the last `maxBytes` of a (confined) file and counts the lines matching `pattern`. */
export async function scanLog(
  realFile: string,
  options: { pattern: RegExp; maxBytes: number; maxLines: number; sinceLines?: number },
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
    const pattern = new RegExp(options.pattern.source, options.pattern.flags.replace(/[gy]/g, ''));
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

/** Whether argv starts with every word of one allow-list entry. */
export function commandAllowed(argv: readonly string[], allowList: readonly string[]): boolean {
  return allowList.some((entry) => {
    const words = entry.split(/\s+/);
    return words.length <= argv.length && words.every((word, i) => word === argv[i]);
  });
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
}

const HEARTBEAT_EVERY_MS = 1_000;
/** execFile's own buffer limit kills the child when crossed; set far above what we keep so a chatty command is not killed for it. */
const EXEC_MAX_BUFFER = 64 * 1024 * 1024;

/**
 * Runs argv with execFile: no shell, a minimal environment (PATH and a UTF-8 locale only, so no
 * secret of the worker leaks to a runbook command), `node` meaning this Node.js. Resolves with the
 * outcome whatever the exit code; rejects only when `signal` aborts (with the signal's reason,
 * after killing the child), so a cancelled step never reports a result.
 */
export function runCommand(argv: readonly string[], options: RunOptions): Promise<CommandResult> {
  const { signal } = options;
  if (signal.aborted) return Promise.reject(abortReason(signal));
  const [command, ...args] = argv;
  const executable = command === 'node' ? process.execPath : command!;
  const started = Date.now();
  return new Promise<CommandResult>((resolve, reject) => {
    const ticker = setInterval(() => options.heartbeat({ command: argv.join(' '), elapsedMs: Date.now() - started }), HEARTBEAT_EVERY_MS);
    options.heartbeat({ command: argv.join(' '), elapsedMs: 0 });
    execFile(
      executable,
      args,
      {
        cwd: options.cwd,
        env: { PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin', LANG: 'C.UTF-8' },
        timeout: options.timeoutMs,
        // SIGKILL: a command that ignores SIGTERM must not outlive its timeout or a cancellation.
        killSignal: 'SIGKILL',
        signal,
        maxBuffer: EXEC_MAX_BUFFER,
        windowsHide: true,
        encoding: 'utf8',
      },
      (error, stdout, stderr) => {
        clearInterval(ticker);
        if (signal.aborted) {
          reject(abortReason(signal));
          return;
        }
        const durationMs = Date.now() - started;
        const output = joinOutput(stdout, stderr, options.maxOutputBytes);
        if (!error) {
          resolve({ exitCode: 0, signal: null, timedOut: false, output, durationMs });
          return;
        }
        const failure = error as NodeJS.ErrnoException & { code?: number | string; killed?: boolean; signal?: string | null };
        if (typeof failure.code === 'string' && failure.code !== 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER') {
          resolve({ exitCode: null, signal: null, timedOut: false, output, durationMs, spawnError: `${failure.code}: ${failure.message}` });
          return;
        }
        resolve({
          exitCode: typeof failure.code === 'number' ? failure.code : null,
          signal: failure.signal ?? null,
          timedOut: failure.killed === true,
          output,
          durationMs,
        });
      },
    );
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
