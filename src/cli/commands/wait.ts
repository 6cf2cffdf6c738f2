import type { Command } from 'commander';
import type { Cli } from '../context';
import { UsageError } from '../errors';
import { formatOutcome, formatView } from '../format';
import { duration, states } from '../parse';

export function register(program: Command, cli: Cli): void {
  program
    .command('wait')
    .description('wait until the session is in one of the states, then print it (fails if it ends in another)')
    .argument('<id>', 'session id')
    .argument('<state...>', 'states to wait for, e.g. awaitingPlanApproval completed')
    .option('--timeout <duration>', 'give up after this long (default 10m)', duration('timeout'))
    .action(
      cli.action<{ timeout?: number }>(async ([id, wanted], options) => {
        const targets = states(wanted as string[], 'state');
        if (targets.length === 0) throw new UsageError('expected at least one state to wait for', 'state');
        const view = await cli.session(id as string).waitFor(targets, { timeoutMs: options.timeout });
        cli.print(view, () => formatView(view));
      }),
    );

  program
    .command('result')
    .description('wait for the session to complete and print its outcome (fails if it fails or is cancelled)')
    .argument('<id>', 'session id')
    .option('--timeout <duration>', 'give up after this long (default 10m)', duration('timeout'))
    .action(
      cli.action<{ timeout?: number }>(async ([id], options) => {
        const outcome = await cli.session(id as string).result({ timeoutMs: options.timeout });
        cli.print(outcome, () => formatOutcome(outcome));
      }),
    );
}
