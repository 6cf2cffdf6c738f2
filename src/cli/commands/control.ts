import type { Command } from 'commander';
import type { SessionView } from '../../session/schema';
import type { Cli } from '../context';
import { budgetText } from '../format';
import { integer, positiveNumber } from '../parse';

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
    .description('resume a paused session (one that spent its budget needs a higher one)')
    .argument('<id>', 'session id')
    .option('--budget-tokens <n>', 'new token budget (input plus output tokens of its model calls)', integer('budgetTokens', 1))
    .option('--budget-usd <amount>', 'new cost budget in US dollars, e.g. 2.5', positiveNumber('budgetUsd'))
    .action(
      cli.action<{ budgetTokens?: number; budgetUsd?: number }>(async ([id], options) => {
        const budget =
          options.budgetTokens === undefined && options.budgetUsd === undefined
            ? undefined
            : { tokens: options.budgetTokens, costUsd: options.budgetUsd };
        const view = await cli.session(id as string).resume({ budget });
        cli.print(view, () => `session ${view.id} resumed${budget ? ` with a budget of ${budgetText(budget)}` : ''}; now ${view.state}`);
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
