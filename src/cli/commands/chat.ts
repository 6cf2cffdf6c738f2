import type { Command } from 'commander';
import type { Cli } from '../context';
import { duration } from '../parse';

export function register(program: Command, cli: Cli): void {
  program
    .command('ask')
    .description("send a message and print the agent's reply")
    .argument('<id>', 'session id')
    .argument('<message...>', 'the message (words are joined with spaces)')
    .option('--timeout <duration>', 'give up waiting for the reply after this long (default 2m)', duration('timeout'))
    .action(
      cli.action<{ timeout?: number }>(async ([id, words], options) => {
        const session = cli.session(id as string);
        const answer = await session.ask((words as string[]).join(' '), { timeoutMs: options.timeout });
        cli.print(answer, () => answer.reply);
      }),
    );

  program
    .command('send')
    .description('send a message without waiting for the reply (it appears on the timeline)')
    .argument('<id>', 'session id')
    .argument('<message...>', 'the message (words are joined with spaces)')
    .action(
      cli.action(async ([id, words]) => {
        const session = cli.session(id as string);
        const sent = await session.send((words as string[]).join(' '));
        cli.print({ sessionId: session.id, ...sent }, () => `sent message ${sent.messageId} to session ${session.id}`);
      }),
    );
}
