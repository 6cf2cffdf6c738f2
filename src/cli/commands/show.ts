import type { Command } from 'commander';
import type { SessionApi } from '../../client/api';
import type { TimelineEvent } from '../../session/schema';
import type { Cli } from '../context';
import { formatTimeline, formatView } from '../format';

const PAGE = 1000;

export function register(program: Command, cli: Cli): void {
  program
    .command('show')
    .description('show a session and its timeline')
    .argument('<id>', 'session id')
    .action(
      cli.action(async ([id]) => {
        const session = cli.session(id as string);
        const [view, events] = await Promise.all([session.info(), wholeTimeline(session)]);
        cli.print({ session: view, events }, () => `${formatView(view)}\n\ntimeline\n${formatTimeline(events)}`);
      }),
    );
}

export async function wholeTimeline(session: SessionApi): Promise<TimelineEvent[]> {
  const events: TimelineEvent[] = [];
  for (;;) {
    const page = await session.timeline({ after: events.at(-1)?.seq ?? 0, limit: PAGE });
    events.push(...page.events);
    if (page.events.length < PAGE) return events;
  }
}
