import type { Command } from 'commander';
import { TimeoutError } from '../../client/errors';
import type { Cli } from '../context';
import { EXIT } from '../errors';
import { formatEvent } from '../format';
import { integer, duration } from '../parse';

type TailOptions = { after?: number; timeout?: number };

export function register(program: Command, cli: Cli): void {
  program
    .command('tail')
    .description('print the timeline, then events as they happen, until the session ends (Ctrl-C stops)')
    .argument('<id>', 'session id')
    .option('--after <seq>', 'start after this event number (resume a dropped tail)', integer('after', 0))
    .option('--timeout <duration>', 'stop with an error if the session has not ended after this long', duration('timeout'))
    .action(
      cli.action<TailOptions>(async ([id], options) => {
        const session = cli.session(id as string);
        const controller = new AbortController();
        let stoppedBy: 'interrupt' | 'timeout' | undefined;
        const stop = (why: typeof stoppedBy) => () => {
          stoppedBy ??= why;
          controller.abort();
        };
        const interrupt = stop('interrupt');
        // Once: a second Ctrl-C falls through to Node's default and ends the process at once.
        process.once('SIGINT', interrupt);
        const timer = options.timeout === undefined ? undefined : setTimeout(stop('timeout'), options.timeout);
        try {
          for await (const event of session.stream({ after: options.after, signal: controller.signal })) {
            cli.line(event, () => formatEvent(event));
          }
        } finally {
          clearTimeout(timer);
          process.off('SIGINT', interrupt);
        }
        if (stoppedBy === 'timeout') {
          throw new TimeoutError(`session ${session.id} had not ended after ${options.timeout} ms`, options.timeout!);
        }
        if (stoppedBy === 'interrupt') cli.exitCode = EXIT.interrupted;
      }),
    );
}
