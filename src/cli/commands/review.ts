import type { Command } from 'commander';
import { ValidationError } from '../../client/errors';
import type { PendingReview, ReviewDecisionInput } from '../../client/api';
import { ReviewDecision } from '../../session/schema';
import type { SessionView } from '../../session/schema';
import type { Cli } from '../context';
import { UsageError } from '../errors';
import { formatReviews } from '../format';
import { integer, jsonObject } from '../parse';

type ReviewOptions = { reason?: string; args?: Record<string, unknown> };

const DONE: Record<ReviewDecision, string> = { approve: 'approved', deny: 'denied', edit: 'edited' };

export function register(program: Command, cli: Cli): void {
  program
    .command('reviews')
    .description('list tool calls awaiting review, across running sessions or of one session')
    .argument('[id]', 'only this session')
    .option('--limit <n>', 'across sessions: at most this many (default 100)', integer('limit', 1))
    .action(
      cli.action<{ limit?: number }>(async ([id], options) => {
        let reviews: PendingReview[];
        if (id === undefined) {
          reviews = await cli.api().reviews.list({ limit: options.limit });
        } else {
          // The view rather than reviews(): one call that also gives the title, so both forms print the same rows.
          const view = await cli.session(id as string).info();
          reviews = view.pendingReviews.map((review) => ({ ...review, sessionId: view.id, sessionTitle: view.title }));
        }
        cli.print(reviews, () => formatReviews(reviews));
      }),
    );

  program
    .command('review')
    .description('decide a tool call awaiting review: approve it, deny it (--reason), or edit its arguments (--args)')
    .argument('<id>', 'session id')
    .argument('<reviewId>', 'the review, e.g. review-1 (see `andon reviews`)')
    .argument('<decision>', `${ReviewDecision.options.join(', ')}`, decision)
    .option('--reason <text>', 'why: required to deny (the model reads it)')
    .option(
      '--args <json>',
      `with edit: the arguments the call runs with instead, as a JSON object, e.g. '{"service":"checkout-api"}'`,
      jsonObject('args'),
    )
    .action(
      cli.action<ReviewOptions>(async ([id, reviewId, chosen], options) => {
        const input = decisionInput(chosen as ReviewDecision, options);
        let view: SessionView;
        try {
          view = await cli.session(id as string).review(reviewId as string, input);
        } catch (error) {
          throw inArgs(error);
        }
        cli.print(view, () => `${DONE[input.decision]} ${reviewId as string} of session ${view.id}; now ${view.state}`);
      }),
    );
}

function decision(text: string): ReviewDecision {
  const parsed = ReviewDecision.safeParse(text.trim());
  if (!parsed.success) throw new UsageError(`invalid decision "${text}": expected one of ${ReviewDecision.options.join(', ')}`, 'decision');
  return parsed.data;
}

/** The options each decision needs, checked before anything connects. */
function decisionInput(chosen: ReviewDecision, { reason, args }: ReviewOptions): ReviewDecisionInput {
  if (chosen !== 'edit' && args !== undefined) throw new UsageError(`--args goes with edit, not ${chosen}`, 'args');
  switch (chosen) {
    case 'approve':
      return { decision: 'approve', reason };
    case 'deny':
      if (reason === undefined) throw new UsageError('deny needs --reason <text> (the model reads it)', 'reason');
      return { decision: 'deny', reason };
    case 'edit':
      if (args === undefined)
        throw new UsageError(`edit needs --args <json>: the call's new arguments, e.g. '{"service":"checkout-api"}'`, 'args');
      return { decision: 'edit', arguments: args, reason };
  }
}

/** The tool's schema refused an edited argument (`arguments.service`): say that it came from --args. */
function inArgs(error: unknown): unknown {
  if (!ValidationError.isInstance(error) || !/^arguments(\.|$)/.test(error.field)) return error;
  const where = error.field.slice('arguments.'.length);
  return new ValidationError(`${error.message} (in --args${where ? `: "${where}"` : ''})`, error.field);
}
