import { spawn } from 'node:child_process';

/**
 * The one place that runs git: argv only (never a shell), a timeout and an AbortSignal per command,
 * no prompts, no system config, hooks and fsmonitor off, and only the file, https and ssh transports
 * (so `ext::` and other remote helpers cannot run commands). Credentials travel in the child's
 * environment as GIT_CONFIG_COUNT/KEY/VALUE entries, never in argv, and every error is scrubbed of
 * them and of any user:password part of a URL before it leaves this module.
 */

const SAFETY: string[] = [
  'protocol.allow=never',
  'protocol.file.allow=always',
  'protocol.https.allow=always',
  'protocol.ssh.allow=always',
  'core.hooksPath=/dev/null',
  'core.fsmonitor=false',
  'core.autocrlf=false',
  'core.safecrlf=false',
  'color.ui=false',
  'gc.auto=0',
  'maintenance.auto=false',
  'commit.gpgSign=false',
  'advice.detachedHead=false',
].flatMap((setting) => ['-c', setting]);

/** Inherited GIT_* variables that may stay: how to reach hosts (ssh, TLS), never where a repository is. */
const KEEP_GIT_ENV =
  /^GIT_(SSH|SSH_COMMAND|SSH_VARIANT|SSL_CAINFO|SSL_CAPATH|SSL_CERT|SSL_KEY|SSL_CIPHER_LIST|PROXY_COMMAND|CONFIG_GLOBAL|EXEC_PATH)$/;

export interface GitRun {
  /** The repository (GIT_DIR); unset: none (ls-remote, clone). */
  gitDir?: string;
  /** The working tree (GIT_WORK_TREE), with gitDir. */
  workTree?: string;
  cwd?: string;
  /** Extra environment: GIT_INDEX_FILE, GIT_AUTHOR_*, ... */
  env?: Record<string, string>;
  /** Settings passed through GIT_CONFIG_COUNT/KEY/VALUE (credentials): never in argv. */
  config?: Array<[key: string, value: string]>;
  input?: string | Buffer;
  signal?: AbortSignal;
  timeoutMs?: number;
  /** Output beyond this fails the command (GitCommandError with `tooLarge`). */
  maxOutputBytes?: number;
}

export interface GitResult {
  stdout: string;
  raw: Buffer;
  stderr: string;
}

/** A failed git command, already scrubbed. `kind` says what the failure looks like. */
export class GitCommandError extends Error {
  constructor(
    message: string,
    readonly exitCode: number | null,
    readonly stderr: string,
    readonly kind: 'notFound' | 'network' | 'timeout' | 'aborted' | 'tooLarge' | 'failed',
  ) {
    super(message);
    this.name = 'GitCommandError';
  }
}

export class Git {
  private readonly baseEnv: Record<string, string>;
  private readonly secrets: string[];

  constructor(options: { env?: NodeJS.ProcessEnv; secrets?: string[]; timeoutMs: number }) {
    this.timeoutMs = options.timeoutMs;
    this.secrets = (options.secrets ?? []).filter((secret) => secret.length >= 4);
    const env: Record<string, string> = {};
    for (const [name, value] of Object.entries(options.env ?? process.env)) {
      if (value === undefined) continue;
      if (name.startsWith('GIT_') && !KEEP_GIT_ENV.test(name)) continue;
      env[name] = value;
    }
    this.baseEnv = {
      ...env,
      GIT_TERMINAL_PROMPT: '0',
      GIT_CONFIG_NOSYSTEM: '1',
      // Stable, parseable messages whatever the worker's locale.
      LC_ALL: 'C',
      LANGUAGE: 'C',
    };
  }

  private readonly timeoutMs: number;

  /** Replaces secrets and URL credentials in text that may be shown (errors, logs). */
  scrub(text: string): string {
    let out = text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/@\s'"]*@/gi, '$1***@');
    for (const secret of this.secrets) out = out.split(secret).join('***');
    return out;
  }

  async run(args: string[], o: GitRun = {}): Promise<GitResult> {
    const env: Record<string, string> = { ...this.baseEnv, ...o.env };
    if (o.gitDir) env.GIT_DIR = o.gitDir;
    if (o.workTree) env.GIT_WORK_TREE = o.workTree;
    const config = o.config ?? [];
    env.GIT_CONFIG_COUNT = String(config.length);
    config.forEach(([key, value], i) => {
      env[`GIT_CONFIG_KEY_${i}`] = key;
      env[`GIT_CONFIG_VALUE_${i}`] = value;
    });
    const timeoutMs = o.timeoutMs ?? this.timeoutMs;
    const maxOutput = o.maxOutputBytes ?? 256 * 1024 * 1024;
    const what = `git ${args.find((arg) => !arg.startsWith('-')) ?? args[0]}`;

    if (o.signal?.aborted) throw new GitCommandError(`${what} was cancelled`, null, '', 'aborted');
    return new Promise<GitResult>((resolve, reject) => {
      const child = spawn('git', [...SAFETY, ...args], {
        cwd: o.cwd ?? o.workTree ?? o.gitDir,
        env,
        // Its own process group, so a timeout also ends remote helpers and ssh.
        detached: true,
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let outBytes = 0;
      let ended: GitCommandError['kind'] | undefined;
      const kill = (why: GitCommandError['kind']) => {
        ended ??= why;
        try {
          if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
        } catch {
          child.kill('SIGKILL');
        }
      };
      const timer = setTimeout(() => kill('timeout'), timeoutMs);
      const onAbort = () => kill('aborted');
      o.signal?.addEventListener('abort', onAbort, { once: true });
      child.stdout.on('data', (chunk: Buffer) => {
        outBytes += chunk.length;
        if (outBytes > maxOutput) kill('tooLarge');
        else out.push(chunk);
      });
      child.stderr.on('data', (chunk: Buffer) => {
        if (err.reduce((n, b) => n + b.length, 0) < 64 * 1024) err.push(chunk);
      });
      child.stdin.on('error', () => undefined); // git may exit before reading all input
      child.stdin.end(o.input ?? '');
      child.on('error', (error) => {
        clearTimeout(timer);
        o.signal?.removeEventListener('abort', onAbort);
        reject(new GitCommandError(`${what} could not start: ${error.message}`, null, '', 'failed'));
      });
      child.on('close', (code) => {
        clearTimeout(timer);
        o.signal?.removeEventListener('abort', onAbort);
        const raw = Buffer.concat(out);
        const stderr = this.scrub(Buffer.concat(err).toString('utf8'));
        if (ended === 'timeout') return reject(new GitCommandError(`${what} timed out after ${timeoutMs} ms`, null, stderr, 'timeout'));
        if (ended === 'aborted') return reject(new GitCommandError(`${what} was cancelled`, null, stderr, 'aborted'));
        if (ended === 'tooLarge')
          return reject(new GitCommandError(`${what} wrote more than ${maxOutput} bytes`, null, stderr, 'tooLarge'));
        if (code !== 0) {
          const detail = stderr.trim().split('\n').slice(-6).join('\n');
          return reject(new GitCommandError(`${what} failed (exit ${code})${detail ? `: ${detail}` : ''}`, code, stderr, classify(stderr)));
        }
        resolve({ stdout: raw.toString('utf8'), raw, stderr });
      });
    });
  }
}

/** What a failed network command's stderr says: the repository is not there, or the network failed. */
function classify(stderr: string): GitCommandError['kind'] {
  if (
    /repository .* not found|does not appear to be a git repository|not a git repository|returned error: 40[34]|Authentication failed|terminal prompts disabled|could not read Username|transport '[^']*' not allowed|Permission denied \(publickey|No such file or directory/i.test(
      stderr,
    )
  )
    return 'notFound';
  if (
    /Could not resolve host|Connection refused|Connection timed out|Failed to connect|timed out|early EOF|RPC failed|returned error: 5\d\d|Connection reset|unable to access|Could not read from remote repository|the remote end hung up/i.test(
      stderr,
    )
  )
    return 'network';
  return 'failed';
}
