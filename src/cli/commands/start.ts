import type { Command } from 'commander';
import { TERMINAL_STATES, type SessionState } from '../../session/schema';
import type { Cli } from '../context';
import { formatView } from '../format';
import { contextPair, duration } from '../parse';

type StartOptions = {
  prompt: string;
  title?: string;
  id?: string;
  context?: Record<string, string>;
  agent?: string;
  approval: boolean;
  followUp?: number;
  wait?: boolean;
  timeout?: number;
};

/** Where --wait stops: a person has to act (approve, answer) or there is nothing left to wait for. */
const WAIT_STATES: SessionState[] = ['awaitingPlanApproval', 'awaitingUserFeedback', ...TERMINAL_STATES];

export function register(program: Command, cli: Cli): void {
  program
    .command('start')
    .description('start a session (starting an --id that exists returns that session)')
    .requiredOption('--prompt <text>', 'what the agent should do')
    .option('--title <text>', 'a short title (default: the first line of the prompt)')
    .option('--id <id>', 'the session id, e.g. an alert fingerprint (default: generated)')
    .option('--context <key=value>', 'a fact for the agent; repeatable', contextPair)
    .option('--agent <name>', "which of the worker's agents works on it (default: the worker's default agent)")
    .option('--no-approval', 'execute the plan without waiting for approval')
    .option('--follow-up <duration>', 'how long a completed session answers follow-up messages, e.g. 10m', duration('followUp'))
    .option('--wait', 'wait until the plan awaits approval (or the session ends), then print it')
    .option('--timeout <duration>', 'with --wait: give up after this long (default 10m)', duration('timeout'))
    .action(
      cli.action<StartOptions>(async (_args, options) => {
        const session = await cli.api().session({
          prompt: options.prompt,
          title: options.title,
          id: options.id,
          context: options.context,
          agent: options.agent,
          // Unset rather than true, so the configured default applies.
          requirePlanApproval: options.approval ? undefined : false,
          followUpWindow: options.followUp,
        });
        const view = options.wait ? await session.waitFor(WAIT_STATES, { timeoutMs: options.timeout }) : await session.info();
        cli.print(view, () => formatView(view));
      }),
    );
}
