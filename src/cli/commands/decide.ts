import { InvalidArgumentError, type Command } from 'commander';
import { StepDecision } from '../../protocol/inputs';
import type { SessionView } from '../../session/schema';
import type { Cli } from '../context';

type ApproveOptions = { plan?: string; changeSet?: string; comment?: string };
type RejectOptions = { reason: string; replan?: boolean; plan?: string; changeSet?: string };
type StepOptions = { step?: string; reason?: string };

export function register(program: Command, cli: Cli): void {
  program
    .command('approve')
    .description("approve the plan awaiting approval (or a code session's change set awaiting approval)")
    .argument('<id>', 'session id')
    .option('--plan <planId>', 'refuse if this is no longer the plan awaiting approval')
    .option('--change-set <hash>', 'refuse if this is no longer the change set awaiting approval (see `andon show`)')
    .option('--comment <text>', 'a note recorded with the approval')
    .action(
      cli.action<ApproveOptions>(async ([id], options) => {
        const session = cli.session(id as string);
        const view = await session.approve({ planId: options.plan, changeSetHash: options.changeSet, comment: options.comment });
        const what = options.changeSet ? `change set ${options.changeSet}` : (view.plan?.id ?? 'the plan');
        cli.print(view, () => `approved ${what} of session ${view.id}; now ${view.state}`);
      }),
    );

  program
    .command('reject')
    .description("reject the plan (the session is cancelled, or re-plans with --replan), or a code session's change set")
    .argument('<id>', 'session id')
    .requiredOption('--reason <text>', 'why (the agent sees it when re-planning)')
    .option('--replan', 'ask the agent for a new plan instead of ending the session')
    .option('--plan <planId>', 'refuse if this is no longer the plan awaiting approval')
    .option('--change-set <hash>', 'refuse if this is no longer the change set awaiting approval (see `andon show`)')
    .action(
      cli.action<RejectOptions>(async ([id], options) => {
        const session = cli.session(id as string);
        const view = await session.reject(options.reason, {
          planId: options.plan,
          changeSetHash: options.changeSet,
          replan: options.replan,
        });
        const what = options.changeSet ? `change set ${options.changeSet}` : 'the plan';
        cli.print(view, () => `rejected ${what} of session ${view.id}; ${afterRejection(view)}`);
      }),
    );

  program
    .command('step')
    .description("decide a failed step under the session's approval policy: retry it, skip it, or abort the session")
    .argument('<id>', 'session id')
    .argument('<decision>', 'retry, skip or abort', (value: string) => {
      const parsed = StepDecision.safeParse(value);
      if (!parsed.success) throw new InvalidArgumentError(`expected retry, skip or abort, not "${value}"`);
      return parsed.data;
    })
    .option('--step <stepId>', 'refuse if this is not the failed step')
    .option('--reason <text>', 'a note recorded with the decision')
    .action(
      cli.action<StepOptions>(async ([id, decision], options) => {
        const session = cli.session(id as string);
        const view = await session.decideStep(decision as StepDecision, { stepId: options.step, reason: options.reason });
        cli.print(view, () => `${decision as string}: session ${view.id} is now ${view.state}`);
      }),
    );
}

function afterRejection(view: SessionView): string {
  return view.state === 'cancelled' ? 'the session is cancelled' : `now ${view.state} (a new plan is coming)`;
}
