/**
 * What every command shares: the global options, one lazily opened transport (the andon service
 * or Temporal, see transport.ts), and output that is either for people or (with --json) exactly
 * one JSON document, or JSON lines for streams.
 */
import os from 'node:os';
import type { Command } from 'commander';
import type { AndonApi, SessionApi } from '../client/api';
import { EXIT, exitCodeFor, isSilent, reportOf } from './errors';
import { openTransport, type Transport } from './transport';

export type GlobalOptions = {
  json?: boolean;
  as?: string;
  address?: string;
  namespace?: string;
  taskQueue?: string;
  service?: string;
  token?: string;
};

export interface Output {
  write(text: string): unknown;
}

export class Cli {
  private options: GlobalOptions = {};
  private transport?: Transport;
  private failConnection!: (error: unknown) => void;
  /** Never resolves; rejects if the server cannot be reached, so no command waits on a dead connection. */
  private readonly unreachable = new Promise<never>((_, reject) => (this.failConnection = reject));
  /** Set by a command that ends without failing but not normally (tail stopped with Ctrl-C). */
  exitCode: number = EXIT.ok;

  constructor(
    private readonly stdout: Output = process.stdout,
    private readonly stderr: Output = process.stderr,
  ) {}

  get json(): boolean {
    return Boolean(this.options.json);
  }

  get identity(): string {
    return this.options.as ?? `cli:${userName()}`;
  }

  /** Wraps a command's handler: picks up the global options, then runs it with its arguments and options. */
  action<O>(handler: (args: unknown[], options: O) => Promise<void>): (...params: unknown[]) => Promise<void> {
    return (...params) => {
      const command = params[params.length - 1] as Command;
      this.options = command.optsWithGlobals<GlobalOptions>();
      return Promise.race([handler(command.processedArgs, command.opts() as O), this.unreachable]);
    };
  }

  /** Opened on first use, after a command has checked its own input, so usage errors come first. */
  api(): AndonApi {
    if (!this.transport) {
      this.transport = openTransport({ ...this.options, identity: this.identity });
      this.transport.ready?.catch(this.failConnection);
    }
    return this.transport.api;
  }

  session(id: string): SessionApi {
    return this.api().session(id);
  }

  /** One result: `value` as JSON with --json, else the human rendering. */
  print(value: unknown, human: () => string): void {
    this.stdout.write(`${this.json ? JSON.stringify(value, null, 2) : human()}\n`);
  }

  /** One item of a stream: a JSON line with --json. */
  line(value: unknown, human: () => string): void {
    this.stdout.write(`${this.json ? JSON.stringify(value) : human()}\n`);
  }

  /** Reports `error` and returns the exit code. `argv` decides --json when parsing failed before options were read. */
  fail(error: unknown, argv: readonly string[]): number {
    const code = exitCodeFor(error);
    if (isSilent(error)) return code;
    const report = reportOf(error);
    if (this.json || argv.slice(2).includes('--json')) this.stdout.write(`${JSON.stringify({ error: report })}\n`);
    else this.stderr.write(`error: ${report.message}\n`);
    return code;
  }

  async close(): Promise<void> {
    await this.transport?.api.close().catch(() => undefined);
  }
}

function userName(): string {
  try {
    return os.userInfo().username;
  } catch {
    return process.env.USER ?? 'unknown';
  }
}
