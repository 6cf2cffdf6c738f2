import type { Command } from 'commander';
import type { SessionView } from '../../session/schema';
import type { Cli } from '../context';

export function register(program: Command, cli: Cli): void {
  program
    .command('pause')
    .description('pause the session after the current step')
    .argument('<id>', 'session id')
    .option('--reason <text>', 'why (recorded on the timeline)')
    .action(
      cli.action<{ reason?: string }>(async ([id], options) => {
        const view = await cli.session(id as string).pause({ reason: options.reason });
        cli.print(view, () => paused(view));
      }),
    );

  program
    .command('resume')
    .description('resume a paused session')
    .argument('<id>', 'session id')
    .action(
      cli.action(async ([id]) => {
        const view = await cli.session(id as string).resume();
        cli.print(view, () => `session ${view.id} resumed; now ${view.state}`);
      }),
    );

  program
    .command('cancel')
    .description('stop the session now (the andon cord): the work in flight is stopped')
    .argument('<id>', 'session id')
    .requiredOption('--reason <text>', 'why (recorded on the timeline)')
    .action(
      cli.action<{ reason: string }>(async ([id], options) => {
        const view = await cli.session(id as string).cancel(options.reason);
        cli.print(view, () => cancelled(view));
      }),
    );
}

function paused(view: SessionView): string {
  return view.state === 'paused' ? `session ${view.id} is paused` : `session ${view.id} pauses after the current step (${view.state})`;
}

function cancelled(view: SessionView): string {
  return `session ${view.id} is ${view.state}${view.reason ? `: ${view.reason}` : ''}`;
}
