import type { Command } from 'commander';
import { TERMINAL_STATES, type PublishMode, type SessionSource, type SessionState } from '../../session/schema';
import { UsageError } from '../errors';
import type { Cli } from '../context';
import { formatView } from '../format';
import { branchName, contextPair, duration, publishMode, sessionSource } from '../parse';

type StartOptions = {
  prompt: string;
  title?: string;
  id?: string;
  context?: Record<string, string>;
  agent?: string;
  source?: SessionSource;
  branch?: string;
  publish?: PublishMode;
  approveChanges?: boolean;
  draft?: boolean;
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
    .option(
      '--source <repo>',
      'the repository a code session works on: github:owner/repo[@branch], git:<clone URL or path>[@branch], or a local path',
      (text: string) => sessionSource(text),
    )
    .option('--branch <name>', 'with --source: the branch to start from (default: the repository default branch)', branchName)
    .option('--publish <mode>', 'with --source: none, branch or pullRequest (default: pullRequest for github, branch for git)', publishMode)
    .option('--approve-changes', 'with --source: the final diff awaits approval before anything is pushed')
    .option('--draft', 'with --source: open the pull request as a draft')
    .option('--no-approval', 'execute the plan without waiting for approval')
    .option('--follow-up <duration>', 'how long a completed session answers follow-up messages, e.g. 10m', duration('followUp'))
    .option('--wait', 'wait until the plan awaits approval (or the session ends), then print it')
    .option('--timeout <duration>', 'with --wait: give up after this long (default 10m)', duration('timeout'))
    .action(
      cli.action<StartOptions>(async (_args, options) => {
        const code = codeOptions(options);
        const session = await cli.api().session({
          ...code,
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

/** `source` and `publish` from --source, --branch, --publish, --approve-changes and --draft; the code options need a source. */
function codeOptions(options: StartOptions): {
  source?: SessionSource;
  publish?: { mode?: PublishMode; approveChanges?: boolean; draft?: boolean };
} {
  const needsSource = (
    [
      ['branch', options.branch !== undefined],
      ['publish', options.publish !== undefined],
      ['approve-changes', options.approveChanges === true],
      ['draft', options.draft === true],
    ] as const
  ).find(([, given]) => given);
  if (!options.source) {
    if (needsSource) throw new UsageError(`--${needsSource[0]} needs --source (the repository to work on)`, needsSource[0]);
    return {};
  }
  const source = options.branch ? { ...options.source, branch: options.branch } : options.source;
  const publish = {
    ...(options.publish ? { mode: options.publish } : {}),
    ...(options.approveChanges ? { approveChanges: true } : {}),
    ...(options.draft ? { draft: true } : {}),
  };
  return { source, ...(Object.keys(publish).length ? { publish } : {}) };
}
