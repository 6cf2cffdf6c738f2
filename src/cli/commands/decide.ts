import type { Command } from 'commander';
import type { SessionView } from '../../session/schema';
import type { Cli } from '../context';

type ApproveOptions = { plan?: string; comment?: string };
type RejectOptions = { reason: string; replan?: boolean; plan?: string };

export function register(program: Command, cli: Cli): void {
  program
    .command('approve')
    .description('approve the plan awaiting approval')
    .argument('<id>', 'session id')
    .option('--plan <planId>', 'refuse if this is no longer the plan awaiting approval')
    .option('--comment <text>', 'a note recorded with the approval')
    .action(
      cli.action<ApproveOptions>(async ([id], options) => {
        const session = cli.session(id as string);
        const view = await session.approve({ planId: options.plan, comment: options.comment });
        cli.print(view, () => `approved ${view.plan?.id ?? 'the plan'} of session ${view.id}; now ${view.state}`);
      }),
    );

  program
    .command('reject')
    .description('reject the plan: the session is cancelled, or re-plans with --replan')
    .argument('<id>', 'session id')
    .requiredOption('--reason <text>', 'why (the agent sees it when re-planning)')
    .option('--replan', 'ask the agent for a new plan instead of ending the session')
    .option('--plan <planId>', 'refuse if this is no longer the plan awaiting approval')
    .action(
      cli.action<RejectOptions>(async ([id], options) => {
        const session = cli.session(id as string);
        const view = await session.reject(options.reason, { planId: options.plan, replan: options.replan });
        cli.print(view, () => `rejected the plan of session ${view.id}; ${afterRejection(view)}`);
      }),
    );
}

function afterRejection(view: SessionView): string {
  return view.state === 'cancelled' ? 'the session is cancelled' : `now ${view.state} (a new plan is coming)`;
}
