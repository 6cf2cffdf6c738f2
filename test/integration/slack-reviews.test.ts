/**
 * Tool-call reviews in Slack, end to end: the real LLM agent (against the loopback model server)
 * makes a call outside its approved plan; the worker's Slack notifier asks in the session's
 * thread, with Approve, Deny and Edit; signed Slack requests decide it through the real service.
 * Approve by button, deny through a modal with a reason, edit through a modal (bad JSON and a
 * field the tool's schema refuses are shown in the modal, and change nothing), a second click
 * on a decided call, a call whose session ended, and `/andon reviews`.
 */
import type { SessionClient } from '../../src/client';
import type { Review, TimelineEvent } from '../../src/session/schema';
import { SlackNotifier, timelineFacts } from '../../src/slack';
import { ACTION, REVIEW_VIEW } from '../../src/slack/ids';
import { sessionAwaitingReview, startLlmHarness, type LlmHarness } from '../support/llm-harness';
import { startService, type TestService } from '../support/service-harness';
import { SlackApiServer, type PostedMessage } from '../support/slack-api-server';
import { SlackSender, click, slashCommand, submitView } from '../support/slack-requests';

const TOKEN = 'xoxb-loopback-bot-token';
const SECRET = 'loopback-signing-secret-0123456789';
const T = { timeoutMs: 30_000 };

let slack: SlackApiServer;
let h: LlmHarness;
let api: TestService;
let sender: SlackSender;
/** The sessions started here and their Slack messages, to end them all at the end. */
const started: { session: SessionClient; parent: PostedMessage }[] = [];

beforeAll(async () => {
  slack = await SlackApiServer.start({ token: TOKEN });
  const notifier = new SlackNotifier({
    botToken: TOKEN,
    apiUrl: slack.apiUrl,
    namespace: 'default',
    facts: (view) => timelineFacts(h.andon)(view),
  });
  h = await startLlmHarness({ notifiers: { slack: notifier } });
  api = await startService(h.andon, { slack: { enabled: true, botToken: TOKEN, signingSecret: SECRET, apiUrl: slack.apiUrl } });
  sender = new SlackSender(api.url, SECRET);
});
afterAll(async () => {
  // Nothing left waiting for review in the shared namespace (reviews.list looks across it), and
  // no notification in flight when the worker stops (its who-decided lookup would wait for it).
  await Promise.all(started.map(({ session }) => session.cancel('test over').catch(() => undefined)));
  await slack
    ?.waitFor(() => started.every(({ parent }) => /: (cancelled|done)$/.test(parent.text)), 'every session message to show its end')
    .catch(() => undefined);
  await api?.close();
  await h?.close();
  await slack?.close();
});

type Block = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- Slack's JSON, read by path in assertions
const buttonsOf = (message: PostedMessage): Block[] =>
  message.blocks.filter((b: Block) => b.type === 'actions').flatMap((b: Block) => b.elements);
const valueOf = (message: PostedMessage, actionId: string): string => buttonsOf(message).find((b) => b.action_id === actionId)!.value;
const shows = (message: PostedMessage, text: string) => JSON.stringify(message.blocks).includes(text);
const eventsOf = async <E extends TimelineEvent['type']>(session: SessionClient, type: E) =>
  (await session.timeline({ limit: 1000 })).events.filter((e): e is Extract<TimelineEvent, { type: E }> => e.type === type);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let channels = 0;

interface InSlack {
  session: SessionClient;
  review: Review;
  channel: string;
  /** The session's own message (the thread's parent). */
  parent: PostedMessage;
  /** The review message in its thread. */
  message: PostedMessage;
}

/** A real session whose call outside the plan awaits review, and the review message in its thread. */
async function reviewInSlack(): Promise<InSlack> {
  const name = `#reviews-${++channels}`;
  const channel = `C${name
    .slice(1)
    .toUpperCase()
    .replace(/[^A-Z0-9]/g, '')}`;
  const { session, review } = await sessionAwaitingReview(h, { notify: { slack: { channel: name } } });
  const parent = await slack.waitFor(() => slack.posts(channel)[0], `the session message of ${session.id}`);
  started.push({ session, parent });
  const message = await slack.waitFor(
    () => slack.thread(channel, parent.ts).find((m) => buttonsOf(m).some((b) => b.action_id === ACTION.reviewApprove)),
    `the review message of ${review.id}`,
  );
  return { session, review, channel, parent, message };
}

function reviewClick(at: InSlack, actionId: string, user: string, responseUrl = slack.responseUrl()) {
  return click({ actionId, value: valueOf(at.message, actionId), user, channel: at.channel, responseUrl, messageTs: at.message.ts });
}

/** Clicks a button that opens a modal, and returns the modal as andon opened it. */
async function openModal(at: InSlack, actionId: string, user: string, responseUrl = slack.responseUrl()): Promise<Block> {
  const opened = slack.callsOf('views.open').length;
  const answer = await sender.send(reviewClick(at, actionId, user, responseUrl));
  expect(answer).toMatchObject({ status: 200, body: undefined });
  return (await slack.waitFor(() => slack.callsOf('views.open')[opened], 'views.open')).args.view;
}

async function ephemeralAt(responseUrl: string, count = 1): Promise<string[]> {
  const posts = await slack.waitFor(
    () => slack.responsesTo(responseUrl).length >= count && slack.responsesTo(responseUrl),
    `${count} answer(s) at ${responseUrl}`,
  );
  for (const post of posts) expect(post.body).toMatchObject({ response_type: 'ephemeral', replace_original: false });
  return posts.map((p) => p.body.text as string);
}

describe('the review message', () => {
  it('asks in the thread with the tool, its arguments and why; the session message says a call awaits review', async () => {
    const { session, review, channel, parent, message } = await reviewInSlack();
    expect(message.broadcast).toBe(true);
    expect(message.text).toBe(`Review a tool call in ${(await session.info()).title}: restart (outside the approved plan)`);
    expect(shows(message, 'the agent wants to run `restart` (step 1/1: Restart checkout-api)')).toBe(true);
    expect(shows(message, 'it is outside the approved plan')).toBe(true);
    expect(shows(message, '```\\n{\\n  \\"service\\": \\"payments\\"\\n}\\n```')).toBe(true);
    expect(JSON.parse(valueOf(message, ACTION.reviewApprove))).toEqual({ sessionId: session.id, reviewId: review.id, tool: 'restart' });
    await slack.waitFor(() => shows(parent, '1 tool call awaits review'), 'the session message to show the review');
    expect(slack.posts(channel)).toHaveLength(1);
  });
});

describe('Approve', () => {
  it('runs the call as the Slack user, and the message then says who approved it; a second click is told it was decided', async () => {
    const at = await reviewInSlack();
    const answer = await sender.send(reviewClick(at, ACTION.reviewApprove, 'U0ALICE'));
    expect(answer).toMatchObject({ status: 200, body: undefined });
    expect(answer.tookMs).toBeLessThan(3_000);

    await slack.waitFor(() => shows(at.message, '*Approved* by <@U0ALICE>'), 'the review message to say who approved');
    expect(buttonsOf(at.message)).toEqual([]);
    expect(await eventsOf(at.session, 'reviewDecided')).toEqual([
      expect.objectContaining({ reviewId: at.review.id, decision: 'approve', by: 'slack:U0ALICE' }),
    ]);
    expect((await at.session.result(T)).summary).toBe('Restarted the service.');
    expect(await eventsOf(at.session, 'toolCalled')).toEqual([
      expect.objectContaining({ tool: 'restart', arguments: { service: 'payments' }, status: 'ok', reviewedBy: 'slack:U0ALICE' }),
    ]);

    // A stale copy of the message (another client, a slow refresh): nothing happens twice.
    const late = slack.responseUrl();
    await sender.send(
      click({
        actionId: ACTION.reviewApprove,
        value: JSON.stringify({ sessionId: at.session.id, reviewId: at.review.id }),
        user: 'U0BOB',
        channel: at.channel,
        responseUrl: late,
        messageTs: at.message.ts,
      }),
    );
    expect(await ephemeralAt(late)).toEqual([expect.stringMatching(/already decided: approved by <@U0ALICE>\. Nothing changed\./)]);
    expect(await eventsOf(at.session, 'reviewDecided')).toHaveLength(1);
  });
});

describe('Deny', () => {
  it('opens a modal asking why; an empty reason is pointed out; the submission denies with the reason', async () => {
    const at = await reviewInSlack();
    const responseUrl = slack.responseUrl();
    const view = await openModal(at, ACTION.reviewDeny, 'U0BOB', responseUrl);
    expect(view).toMatchObject({ type: 'modal', callback_id: REVIEW_VIEW.denyCallbackId });
    expect(JSON.parse(view.private_metadata)).toEqual({
      sessionId: at.session.id,
      reviewId: at.review.id,
      tool: 'restart',
      channel: at.channel,
      messageTs: at.message.ts,
      responseUrl,
    });

    const submit = (reason: string) =>
      sender.send(
        submitView({
          user: 'U0BOB',
          callbackId: view.callback_id,
          privateMetadata: view.private_metadata,
          values: { [REVIEW_VIEW.reasonBlock]: reason },
        }),
      );
    expect((await submit('  ')).body).toEqual({
      response_action: 'errors',
      errors: { [REVIEW_VIEW.reasonBlock]: expect.stringContaining('Say why') },
    });
    expect((await at.session.reviews()).map((r) => r.id)).toEqual([at.review.id]);

    // An empty 200 closes the modal.
    expect(await submit('payments is healthy, restart checkout-api instead')).toMatchObject({ status: 200, body: undefined });
    await slack.waitFor(
      () => shows(at.message, '*Denied* by <@U0BOB>: payments is healthy, restart checkout-api instead'),
      'the review message to show the denial',
    );
    expect(buttonsOf(at.message)).toEqual([]);
    expect(await eventsOf(at.session, 'reviewDecided')).toEqual([
      expect.objectContaining({ decision: 'deny', by: 'slack:U0BOB', reason: 'payments is healthy, restart checkout-api instead' }),
    ]);
    await at.session.result(T);
    expect(await eventsOf(at.session, 'toolCalled')).toEqual([expect.objectContaining({ tool: 'restart', status: 'denied' })]);
    // The review message said it all: nobody was told twice.
    expect(slack.responsesTo(responseUrl)).toEqual([]);
  });
});

describe('Edit', () => {
  it('opens the arguments as JSON; bad JSON and a field the tool refuses are shown in the modal and change nothing; good arguments run', async () => {
    const at = await reviewInSlack();
    const view = await openModal(at, ACTION.reviewEdit, 'U0CAROL');
    expect(view).toMatchObject({ type: 'modal', callback_id: REVIEW_VIEW.editCallbackId });
    const input = view.blocks.find((b: Block) => b.type === 'input');
    expect(input).toMatchObject({
      block_id: REVIEW_VIEW.argumentsBlock,
      element: { action_id: REVIEW_VIEW.argumentsBlock, multiline: true },
    });
    expect(JSON.parse(input.element.initial_value)).toEqual({ service: 'payments' });

    const submit = (text: string) =>
      sender.send(
        submitView({
          user: 'U0CAROL',
          callbackId: view.callback_id,
          privateMetadata: view.private_metadata,
          values: { [REVIEW_VIEW.argumentsBlock]: text },
        }),
      );
    const fieldError = (message: RegExp) => ({
      status: 200,
      body: { response_action: 'errors', errors: { [REVIEW_VIEW.argumentsBlock]: expect.stringMatching(message) } },
    });

    expect(await submit('{"service": checkout-api}')).toMatchObject(fieldError(/^Not valid JSON: /));
    expect(await submit('["checkout-api"]')).toMatchObject(fieldError(/Expected a JSON object/));
    // Checked by the session against the tool's schema, in time to answer the modal.
    const refused = await submit('{"service": "-rf"}');
    expect(refused).toMatchObject(fieldError(/invalid arguments for restart: service: expected one plain word/));
    expect(refused.tookMs).toBeLessThan(3_000);
    expect((await at.session.reviews()).map((r) => r.id)).toEqual([at.review.id]);
    expect(await eventsOf(at.session, 'reviewDecided')).toEqual([]);
    expect(buttonsOf(at.message).map((b) => b.action_id)).toEqual([ACTION.reviewApprove, ACTION.reviewDeny, ACTION.reviewEdit]);

    expect(await submit('{\n  "service": "checkout-api"\n}')).toMatchObject({ status: 200, body: undefined });
    await slack.waitFor(() => shows(at.message, '*Edited* by <@U0CAROL>'), 'the review message to show the edit');
    expect(shows(at.message, '\\"service\\": \\"checkout-api\\"')).toBe(true);
    expect(buttonsOf(at.message)).toEqual([]);
    expect(await eventsOf(at.session, 'reviewDecided')).toEqual([
      expect.objectContaining({ decision: 'edit', by: 'slack:U0CAROL', arguments: { service: 'checkout-api' } }),
    ]);
    await at.session.result(T);
    expect(await eventsOf(at.session, 'toolCalled')).toEqual([
      expect.objectContaining({ tool: 'restart', arguments: { service: 'checkout-api' }, status: 'ok', reviewedBy: 'slack:U0CAROL' }),
    ]);

    // Edit on a decided call opens nothing, and says so.
    const opened = slack.callsOf('views.open').length;
    const late = slack.responseUrl();
    await sender.send(
      click({
        actionId: ACTION.reviewEdit,
        value: JSON.stringify({ sessionId: at.session.id, reviewId: at.review.id }),
        user: 'U0DAVE',
        channel: at.channel,
        responseUrl: late,
      }),
    );
    expect(await ephemeralAt(late)).toEqual([expect.stringMatching(/already decided: edited by <@U0CAROL>/)]);
    expect(slack.callsOf('views.open')).toHaveLength(opened);
  });
});

describe('/andon reviews and sessions that end', () => {
  it('lists the calls awaiting review; a call whose session was cancelled can no longer be decided, and its message says so', async () => {
    const at = await reviewInSlack();
    const list = slack.responseUrl();
    const answer = await sender.send(slashCommand({ text: 'reviews', user: 'U0ERIN', channel: at.channel, responseUrl: list }));
    expect(answer).toMatchObject({ status: 200, body: undefined });
    const [text] = await ephemeralAt(list);
    expect(text).toMatch(/tool calls? awaits? review\*/);
    expect(text).toContain(`\`restart\` \`{"service":"payments"}\` (outside the plan) in`);
    expect(text).toContain(`\`${at.session.id}\` \`${at.review.id}\``);

    const help = await sender.send(slashCommand({ text: 'help', user: 'U0ERIN', channel: at.channel, responseUrl: slack.responseUrl() }));
    expect(help.body.text).toContain('`reviews`');

    await at.session.cancel('wrong incident', { by: 'api:alice' });
    const late = slack.responseUrl();
    await sender.send(reviewClick(at, ACTION.reviewApprove, 'U0ALICE', late));
    expect(await ephemeralAt(late)).toEqual([
      expect.stringMatching(/no longer awaits review: the session is cancelled\. Nothing changed\./),
    ]);
    await slack.waitFor(
      () => shows(at.message, '*No longer awaits review*: the session is cancelled.'),
      'the review message to say it closed',
    );
    expect(buttonsOf(at.message)).toEqual([]);
    await sleep(300);
    expect(await eventsOf(at.session, 'reviewDecided')).toEqual([]);
  });
});
