import type { Command } from 'commander';
import type { SessionState } from '../../session/schema';
import type { Cli } from '../context';
import { formatList } from '../format';
import { integer, since, stateList } from '../parse';

type ListOptions = { state?: SessionState[]; text?: string; since?: Date; limit?: number };

export function register(program: Command, cli: Cli): void {
  program
    .command('list')
    .description('list sessions, newest first')
    .option('--state <states>', 'only these states; repeatable or comma-separated', stateList)
    .option('--text <words>', 'only sessions whose title has these words')
    .option('--since <when>', 'only sessions created after an ISO time or a duration ago, e.g. 2h', (text: string) => since(text))
    .option('--limit <n>', 'at most this many (default 100)', integer('limit', 1))
    .action(
      cli.action<ListOptions>(async (_args, options) => {
        const sessions = await cli.api().sessions.list({
          state: options.state,
          text: options.text,
          createdAfter: options.since,
          limit: options.limit,
        });
        cli.print(sessions, () => formatList(sessions));
      }),
    );
}
