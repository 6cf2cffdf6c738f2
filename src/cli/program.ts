/** The command tree: global options and every command, wired to one shared Cli context. */
import { Command } from 'commander';
import * as chat from './commands/chat';
import * as control from './commands/control';
import * as decide from './commands/decide';
import * as diff from './commands/diff';
import * as list from './commands/list';
import * as memory from './commands/memory';
import * as review from './commands/review';
import * as show from './commands/show';
import * as start from './commands/start';
import * as tail from './commands/tail';
import * as wait from './commands/wait';
import type { Cli } from './context';
import { nonEmpty } from './parse';
import { andonVersion } from '../client/version';

const COMMANDS = [start, list, show, diff, decide, review, chat, tail, control, wait, memory];

export function buildProgram(cli: Cli): Command {
  const program = new Command('andon')
    .description('Durable, human-in-the-loop agent sessions on Temporal, straight or through the andon service')
    .version(andonVersion())
    .option('--json', 'machine output: one JSON document per command (JSON lines for tail)')
    .option('--as <identity>', 'who you are, recorded as `by` (default: cli:<your user name>)', nonEmpty('as'))
    .option('--address <host:port>', 'Temporal address (default: TEMPORAL_ADDRESS, else the embedded dev server)', nonEmpty('address'))
    .option('--namespace <name>', 'Temporal namespace (default: TEMPORAL_NAMESPACE, else config)', nonEmpty('namespace'))
    .option('--task-queue <name>', 'task queue sessions start on (default: ANDON_TASK_QUEUE, else config)', nonEmpty('taskQueue'))
    .option(
      '--service <url>',
      'go through the andon HTTP service at this URL instead of Temporal (default: ANDON_SERVICE_URL)',
      nonEmpty('service'),
    )
    .option(
      '--token <token>',
      'API token for the service (default: ANDON_TOKEN, which keeps it out of your shell history)',
      nonEmpty('token'),
    )
    .addHelpText('after', '\nExit codes: 0 ok, 1 the operation failed, 2 invalid input or usage.')
    // Errors are reported by main (as text or JSON), never by commander exiting on its own.
    .exitOverride()
    .configureOutput({ outputError: () => undefined });
  // Subcommands copy these settings when created, so they must be set first.
  for (const command of COMMANDS) command.register(program, cli);
  return program;
}
