/**
 * Reviews and budgets from the `andon` CLI (child processes of bin/andon.js), straight to
 * Temporal and through the HTTP service, against a worker running the LLM agent and a loopback
 * model server: `reviews`, `review … approve|deny|edit`, `resume --budget-*`, and `show` with
 * pending reviews and usage.
 */
import type { SessionView, TimelineEvent } from '../../src/client';
import type { Review } from '../../src/session/schema';
import { json, killAll, runCli, type Run } from '../support/cli-process';
import { planReply, sessionAwaitingReview, startLlmHarness, type LlmHarness } from '../support/llm-harness';
import { TOKENS, startService, type TestService } from '../support/service-harness';

const T = { timeoutMs: 30_000 };

let h: LlmHarness;
let service: TestService;
beforeAll(async () => {
  h = await startLlmHarness();
  service = await startService(h.andon);
});
afterAll(async () => {
  killAll();
  await service?.close();
  await h?.close();
});

type PendingReview = Review & { sessionId: string; sessionTitle: string };

interface CliOptions {
  human?: boolean;
  /** Through the HTTP service with this token (default: straight to Temporal). */
  token?: string;
}

function cli(args: string[], options: CliOptions = {}): Promise<Run> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.ANDON_SERVICE_URL;
  delete env.ANDON_TOKEN;
  let transport = ['--address', h.address, '--task-queue', h.taskQueue];
  if (options.token !== undefined) {
    transport = ['--service', service.url, '--token', options.token];
    // Temporal out of reach: a command that went there instead of the service would fail.
    env.TEMPORAL_ADDRESS = '127.0.0.1:1';
  }
  return runCli([...args, ...transport, ...(options.human ? [] : ['--json'])], env).done;
}

const events = async (sessionId: string): Promise<TimelineEvent[]> => (await h.andon.session(sessionId).timeline({ limit: 1000 })).events;

/** `andon reviews` until it lists `reviewId` (visibility may trail the workflow by a moment). */
async function listedReviews(reviewId: string, options: CliOptions = {}): Promise<PendingReview[]> {
  for (let attempt = 0; ; attempt++) {
    const run = await cli(['reviews'], options);
    expect(run.code).toBe(0);
    const reviews = json<PendingReview[]>(run);
    if (reviews.some((r) => r.id === reviewId) || attempt >= 5) return reviews;
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

describe('andon review and reviews', () => {
  it('refuses bad input before connecting, naming the option', async () => {
    const [badJson, notObject, noArgs, argsWithApprove, noReason, badDecision, badBudget] = await Promise.all([
      cli(['review', 'some-session', 'review-1', 'edit', '--args', '{service: checkout-api}']),
      cli(['review', 'some-session', 'review-1', 'edit', '--args', '["checkout-api"]'], { human: true }),
      cli(['review', 'some-session', 'review-1', 'edit']),
      cli(['review', 'some-session', 'review-1', 'approve', '--args', '{}']),
      cli(['review', 'some-session', 'review-1', 'deny']),
      cli(['review', 'some-session', 'review-1', 'allow']),
      cli(['resume', 'some-session', '--budget-usd', 'lots']),
    ]);
    expect(badJson.code).toBe(2);
    expect(json(badJson)).toEqual({
      error: {
        type: 'UsageError',
        field: 'args',
        message: expect.stringMatching(/^invalid --args: not valid JSON .*expected a JSON object/),
      },
    });
    expect(notObject.code).toBe(2);
    expect(notObject.stderr).toBe(`error: invalid --args: expected a JSON object such as '{"service":"checkout-api"}', not an array\n`);
    expect(json(noArgs)).toEqual({ error: { type: 'UsageError', field: 'args', message: expect.stringContaining('edit needs --args') } });
    expect(json(argsWithApprove)).toEqual({ error: { type: 'UsageError', field: 'args', message: '--args goes with edit, not approve' } });
    expect(json(noReason)).toEqual({
      error: { type: 'UsageError', field: 'reason', message: expect.stringContaining('deny needs --reason') },
    });
    expect(json(badDecision)).toEqual({
      error: { type: 'UsageError', field: 'decision', message: 'invalid decision "allow": expected one of approve, deny, edit' },
    });
    expect(json(badBudget)).toEqual({
      error: { type: 'UsageError', field: 'budgetUsd', message: expect.stringContaining('--budget-usd') },
    });
    for (const run of [noArgs, argsWithApprove, noReason, badDecision, badBudget]) expect(run.code).toBe(2);
  });

  it('straight to Temporal: lists, shows, refuses a bad edit with the field, then denies with a reason', async () => {
    const { session, review } = await sessionAwaitingReview(h, { prompt: 'restart checkout-api (cli)' });

    const across = await listedReviews(review.id);
    expect(across).toContainEqual({ ...review, sessionId: session.id, sessionTitle: 'restart checkout-api (cli)' });

    const [own, ownHuman, shown, missing] = await Promise.all([
      cli(['reviews', session.id]),
      cli(['reviews', session.id], { human: true }),
      cli(['show', session.id], { human: true }),
      cli(['reviews', 'no-such-session-cli'], { human: true }),
    ]);
    expect(json<PendingReview[]>(own)).toEqual([{ ...review, sessionId: session.id, sessionTitle: 'restart checkout-api (cli)' }]);
    const [header, row, ...rest] = ownHuman.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^REVIEW\s+SESSION\s+CREATED\s+TOOL\s+WHY\s+ARGUMENTS$/);
    expect(row).toMatch(
      new RegExp(`^${review.id}\\s+${session.id}\\s+\\S+ \\S+\\s+restart\\s+outside the plan\\s+\\{"service":"payments"\\}$`),
    );
    expect(rest).toEqual([]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/^usage +\d+ tokens \(\d+ in, \d+ out\), \$\d+\.\d{4}$/m);
    expect(shown.stdout).toContain(`reviews  1 tool call awaiting review (andon review ${session.id} <review> approve|deny|edit)`);
    expect(shown.stdout).toContain(`  ${review.id}  restart {"service":"payments"} (outside the plan)`);
    expect(shown.stdout).toMatch(new RegExp(`reviewRequested  ${review.id}: restart`));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('error: session no-such-session-cli not found\n');

    // The tool's schema refuses the edit: exit 2, the field named, nothing decided.
    const [badEdit, badEditHuman, unknown] = await Promise.all([
      cli(['review', session.id, review.id, 'edit', '--args', '{"service":"-rf"}']),
      cli(['review', session.id, review.id, 'edit', '--args', '{"service":"-rf"}'], { human: true }),
      cli(['review', session.id, 'review-404', 'approve']),
    ]);
    expect(badEdit.code).toBe(2);
    expect(json(badEdit)).toEqual({
      error: {
        type: 'ValidationError',
        field: 'arguments.service',
        message: expect.stringMatching(/invalid arguments for restart: service: .*\(in --args: "service"\)$/),
      },
    });
    expect(badEditHuman.stderr).toMatch(/^error: invalid arguments for restart: service: .*\(in --args: "service"\)\n$/);
    expect(unknown.code).toBe(1);
    expect(json(unknown)).toEqual({
      error: { type: 'InvalidStateError', state: 'awaitingUserFeedback', message: expect.stringContaining('review-404') },
    });
    expect((await session.reviews()).map((r) => r.id)).toEqual([review.id]);

    const denied = await cli(['review', session.id, review.id, 'deny', '--reason', 'payments is not ours'], { human: true });
    expect(denied.code).toBe(0);
    expect(denied.stdout).toMatch(new RegExp(`^denied ${review.id} of session ${session.id}; now \\w+\\n$`));
    await session.result(T);
    const decided = (await events(session.id)).find((e) => e.type === 'reviewDecided');
    expect(decided).toMatchObject({
      reviewId: review.id,
      decision: 'deny',
      reason: 'payments is not ours',
      by: expect.stringMatching(/^cli:./),
    });
  });

  it('through the service: lists, edits as api:<token name>, and refuses a token without the approve scope', async () => {
    const { session, review } = await sessionAwaitingReview(h, { prompt: 'restart checkout-api (cli service)' });

    const across = await listedReviews(review.id, { token: TOKENS.reader });
    expect(across).toContainEqual(expect.objectContaining({ id: review.id, sessionId: session.id, tool: 'restart' }));
    const own = await cli(['reviews', session.id], { token: TOKENS.reader });
    expect(json<PendingReview[]>(own)).toEqual([expect.objectContaining({ id: review.id, sessionId: session.id })]);

    const [forbidden, badEdit] = await Promise.all([
      cli(['review', session.id, review.id, 'approve'], { token: TOKENS.writer }),
      cli(['review', session.id, review.id, 'edit', '--args', '{"service":"-rf"}'], { token: TOKENS.approver }),
    ]);
    expect(forbidden.code).toBe(1);
    expect(json(forbidden)).toEqual({ error: { type: 'AuthError', message: expect.stringContaining('"approve" scope') } });
    expect(badEdit.code).toBe(2);
    expect(json(badEdit)).toEqual({
      error: { type: 'ValidationError', field: 'arguments.service', message: expect.stringContaining('(in --args: "service")') },
    });

    const edited = await cli(
      ['review', session.id, review.id, 'edit', '--args', '{"service":"checkout-api"}', '--reason', 'wrong service'],
      { token: TOKENS.approver },
    );
    expect(edited.code).toBe(0);
    expect(json<SessionView>(edited)).toMatchObject({ id: session.id, pendingReviews: [] });
    await session.result(T);
    const timeline = await events(session.id);
    expect(timeline.find((e) => e.type === 'reviewDecided')).toMatchObject({
      decision: 'edit',
      by: 'api:approver',
      arguments: { service: 'checkout-api' },
    });
    expect(timeline.find((e) => e.type === 'toolCalled')).toMatchObject({ arguments: { service: 'checkout-api' }, status: 'ok' });
  });
});

describe('andon resume with a budget', () => {
  it.each([
    ['straight to Temporal', {}],
    // A new budget is an approver's decision: the token needs `approve` as well as `write`.
    ['through the service', { token: TOKENS.alice }],
  ] as const)('%s: a session that spent its budget resumes only with a higher one', async (_how, options) => {
    h.script(
      planReply([{ title: 'Look', tools: [{ tool: 'searchLog' }] }]),
      { text: 'Nothing alarming in the log.', usage: { promptTokens: 50, completionTokens: 10 } },
      { text: 'Looked; nothing to fix.' },
    );
    const session = await h.andon.session({ prompt: 'look around (cli budget)', budget: { tokens: 300 } });
    await session.waitFor('awaitingPlanApproval', T);
    await session.approve();
    await session.waitFor('paused', T);

    const shown = await cli(['show', session.id], { ...options, human: true });
    expect(shown.stdout).toMatch(/^usage +400 tokens \(300 in, 100 out\), \$0\.0007 of a budget of 300 tokens$/m);

    const refused = await cli(['resume', session.id], options);
    expect(refused.code).toBe(2);
    expect(json(refused)).toEqual({
      error: { type: 'ValidationError', field: 'budget', message: expect.stringMatching(/spent its budget/) },
    });

    const resumed = await cli(['resume', session.id, '--budget-tokens', '10000', '--budget-usd', '2.5'], { ...options, human: true });
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toMatch(new RegExp(`^session ${session.id} resumed with a budget of 10000 tokens / \\$2\\.5; now \\w+\\n$`));
    const outcome = await session.result(T);
    expect(outcome.summary).toBe('Looked; nothing to fix.');
    expect((await session.info()).budget).toEqual({ tokens: 10_000, costUsd: 2.5 });
  });
});
