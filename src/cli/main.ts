/**
 * The `andon` command line: `andon <command> [options]`, over the client SDK. Run through
 * bin/andon.js (installed as `andon`) or `npm run andon -- <command>`.
 */
import { Cli } from './context';
import { buildProgram } from './program';

/** Runs one command and returns its exit code; never throws, never prints a stack trace. */
export async function main(argv: readonly string[] = process.argv, cli = new Cli()): Promise<number> {
  let code: number;
  try {
    await buildProgram(cli).parseAsync([...argv]);
    code = cli.exitCode;
  } catch (error) {
    code = cli.fail(error, argv);
  }
  await cli.close();
  return code;
}

/** main, then exit once stdout and stderr have drained (exiting earlier can cut off piped output). */
export async function run(argv: readonly string[] = process.argv): Promise<void> {
  const code = await main(argv);
  await Promise.all([drain(process.stdout), drain(process.stderr)]);
  process.exit(code);
}

function drain(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => stream.write('', () => resolve()));
}

if (require.main === module) void run();
