/**
 * The Slack app end to end, over real HTTP: a real worker whose Slack notifier talks to a
 * loopback Slack Web API, the real service with the Slack plugin, and requests signed as Slack
 * signs them. The plan message appears; a signed click approves (once, however often it is
 * clicked); forged, stale and replayed requests change nothing; the reject modal rejects with a
 * reason; thread replies reach the session and questions are answered in the thread; the slash
 * command works; Slack's rate limits and errors never hold a session up.
 */
import { SLACK_THREAD_ATTRIBUTE } from '../../src/session/search-attributes';
import type { SessionConfig, TimelineEvent } from '../../src/session/schema';
import type { SessionClient } from '../../src/client';
import { SlackNotifier, timelineFacts } from '../../src/slack';
import { ACTION } from '../../src/slack/ids';
import { quickScript, startHarness, type Harness } from '../support/harness';
import { startService, type TestService } from '../support/service-harness';
import { TestAgent } from '../support/test-agent';
import { SlackApiServer, type PostedMessage } from '../support/slack-api-server';
import { SlackSender, click, messageEvent, slashCommand, submitView, urlVerification } from '../support/slack-requests';
import { at } from '../support/at';

const TOKEN = 'xoxb-loopback-bot-token';
const SECRET = 'loopback-signing-secret-0123456789';
const T = { timeoutMs: 20_000 };
const TEMPORAL_UI = 'http://temporal-ui.test';

let slack: SlackApiServer;
let h: Harness;
let api: TestService;
let sender: SlackSender;

beforeAll(async () => {
  slack = await SlackApiServer.start({ token: TOKEN });
  const notifier = new SlackNotifier({
    botToken: TOKEN,
    apiUrl: slack.apiUrl,
    temporalUiUrl: TEMPORAL_UI,
    namespace: 'default',
    facts: (view) => timelineFacts(h.andon)(view),
  });
  h = await startHarness({
    agent: new TestAgent({
      default: quickScript({ replies: [{ match: '^why', reply: 'because the deploy at 14:02 broke it' }] }),
      question: quickScript({ question: 'Which host is affected by {title}?' }),
    }),
    notifiers: { slack: notifier },
  });
  api = await startService(h.andon, { slack: { enabled: true, botToken: TOKEN, signingSecret: SECRET, apiUrl: slack.apiUrl } });
  sender = new SlackSender(api.url, SECRET);
});
afterAll(async () => {
  await api?.close();
  await h?.close();
  await slack?.close();
});

let channels = 0;
/** A channel of the test's own: `#name` as configured, `C…` as Slack answers. */
function newChannel(label: string): { name: string; id: string } {
  const name = `#${label}-${++channels}`;
  return {
    name,
    id: `C${name
      .slice(1)
      .toUpperCase()
      .replace(/[^A-Z0-9]/g, '')}`,
  };
}

/** A session announced in a channel of its own, awaiting approval, and its plan message. */
async function awaitingInSlack(
  extra: Partial<SessionConfig> = {},
): Promise<{ session: SessionClient; channel: string; message: PostedMessage }> {
  const channel = newChannel('ops');
  const session = await h.andon.session({
    prompt: 'checkout-api error rate above 5%',
    title: 'checkout-api 5xx',
    context: { service: 'checkout-api' },
    notify: { slack: { channel: channel.name } },
    ...extra,
  });
  await session.waitFor('awaitingPlanApproval', T);
  const message = await slack.waitFor(() => slack.posts(channel.id)[0], `the plan message of ${session.id}`);
  return { session, channel: channel.id, message };
}

type Block = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- Slack's JSON, read by path in assertions
const buttonsOf = (message: PostedMessage): Block[] =>
  message.blocks.filter((b: Block) => b.type === 'actions').flatMap((b: Block) => b.elements);
const valueOf = (message: PostedMessage, actionId: string): string => buttonsOf(message).find((b) => b.action_id === actionId)!.value;
const shows = (message: PostedMessage, text: string) => JSON.stringify(message.blocks).includes(text);
const eventsOf = async (session: SessionClient, type: TimelineEvent['type']) =>
  (await session.timeline({ limit: 1000 })).events.filter((e) => e.type === type);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Approve clicks by `user` on the session's plan message, each a distinct request as Slack sends them. */
function approveClick(message: PostedMessage, channel: string, user: string, responseUrl = slack.responseUrl()) {
  return click({ actionId: ACTION.approve, value: valueOf(message, ACTION.approve), user, channel, responseUrl, messageTs: message.ts });
}

async function ephemeralAt(responseUrl: string, count = 1): Promise<string[]> {
  const posts = await slack.waitFor(
    () => slack.responsesTo(responseUrl).length >= count && slack.responsesTo(responseUrl),
    `${count} answer(s) at ${responseUrl}`,
  );
  for (const post of posts) expect(post.body).toMatchObject({ response_type: 'ephemeral', replace_original: false });
  return posts.map((p) => p.body.text as string);
}

describe('the plan message', () => {
  it('is posted when the session reaches approval: title, alert context, steps, buttons bound to the plan, Temporal UI link', async () => {
    const { session, channel, message } = await awaitingInSlack();
    expect(message.text).toBe('checkout-api 5xx: the plan awaits approval');
    expect(message.blocks[0]).toMatchObject({ type: 'header', text: { text: 'checkout-api 5xx' } });
    expect(shows(message, 'service=`checkout-api`')).toBe(true);
    expect(shows(message, '1. *Look* — look around')).toBe(true);
    expect(shows(message, '2. *Fix* — fix it')).toBe(true);
    const plan = (await session.info()).plan!;
    for (const actionId of [ACTION.approve, ACTION.reject]) {
      expect(JSON.parse(valueOf(message, actionId))).toEqual({ sessionId: session.id, planId: 'plan-1', planHash: plan.hash });
    }
    expect(buttonsOf(message).find((b) => b.action_id === ACTION.open)?.url).toBe(
      `${TEMPORAL_UI}/namespaces/default/workflows/${session.id}`,
    );

    // The session records where its message is: thread replies and clicks find it by this.
    const deadline = Date.now() + 10_000;
    let attribute: string | undefined;
    while (!attribute && Date.now() < deadline) {
      attribute = (await h.client.workflow.getHandle(session.id).describe()).typedSearchAttributes.get(SLACK_THREAD_ATTRIBUTE);
      if (!attribute) await sleep(100);
    }
    expect(attribute).toBe(`${channel}:${message.ts}`);
  });
});

describe('Approve', () => {
  it('moves the session on as the Slack user, updates the message, and tells the approver', async () => {
    const { session, channel, message } = await awaitingInSlack();
    const responseUrl = slack.responseUrl();
    const answer = await sender.send(approveClick(message, channel, 'U0ALICE', responseUrl));
    expect(answer).toMatchObject({ status: 200, body: undefined });
    expect(answer.tookMs).toBeLessThan(3_000);

    await session.waitFor(['inProgress', 'completed'], T);
    expect(await eventsOf(session, 'planApproved')).toEqual([expect.objectContaining({ by: 'slack:U0ALICE', planId: 'plan-1' })]);
    expect(await ephemeralAt(responseUrl)).toEqual([
      expect.stringMatching(/Your approval of `plan-1` of \*checkout-api 5xx\* is recorded/),
    ]);
    await slack.waitFor(() => shows(message, 'Approved by <@U0ALICE>'), 'the message to say who approved');
    expect(buttonsOf(message).map((b) => b.action_id)).toEqual([ACTION.open]);
    // The message follows the session to its end (every state update reaches it, the last included).
    await session.result(T);
    await slack.waitFor(() => shows(message, ':white_check_mark: *Done*'), 'the message to show the outcome');
  });

  it('counts a double click once; the second click is told why it did nothing', async () => {
    const { session, channel, message } = await awaitingInSlack();
    const [first, second] = [slack.responseUrl(), slack.responseUrl()];
    const answers = await Promise.all([
      sender.send(approveClick(message, channel, 'U0ALICE', first)),
      sender.send(approveClick(message, channel, 'U0ALICE', second)),
    ]);
    expect(answers.map((a) => a.status)).toEqual([200, 200]);
    const told = [...(await ephemeralAt(first)), ...(await ephemeralAt(second))];
    expect(told.filter((t) => /is recorded/.test(t))).toHaveLength(1);
    expect(told.filter((t) => /was not accepted: .*(no plan is awaiting approval|already approved)/.test(t))).toHaveLength(1);
    await session.waitFor(['inProgress', 'completed'], T);
    expect(await eventsOf(session, 'planApproved')).toHaveLength(1);
  });

  it('follows the approval policy: a disallowed person is told why, two of three approvers are needed', async () => {
    const { session, channel, message } = await awaitingInSlack({
      approval: { approvers: ['slack:U0ALICE', 'slack:U0BOB', 'slack:U0CAROL'], required: 2 },
    });
    const mallory = slack.responseUrl();
    await sender.send(approveClick(message, channel, 'U0MALLORY', mallory));
    expect(await ephemeralAt(mallory)).toEqual([expect.stringMatching(/not accepted: slack:U0MALLORY is not an approver/)]);

    const alice = slack.responseUrl();
    await sender.send(approveClick(message, channel, 'U0ALICE', alice));
    expect(await ephemeralAt(alice)).toEqual([expect.stringMatching(/is recorded \(the session is now awaitingPlanApproval\)/)]);
    const again = slack.responseUrl();
    await sender.send(approveClick(message, channel, 'U0ALICE', again));
    expect(await ephemeralAt(again)).toEqual([expect.stringMatching(/not accepted: slack:U0ALICE already approved/)]);
    expect((await session.info()).state).toBe('awaitingPlanApproval');

    await sender.send(approveClick(message, channel, 'U0BOB'));
    await session.waitFor(['inProgress', 'completed'], T);
    await slack.waitFor(() => shows(message, 'Approved by <@U0ALICE>, <@U0BOB>'), 'the message to name both approvers');
  });
});

describe('the approval deadline', () => {
  it('reminds in the thread, escalates to the channel naming who is now asked, and shows the deadline action', async () => {
    const { session, channel, message } = await awaitingInSlack({
      approval: {
        approvers: ['slack:U0ALICE'],
        deadline: { after: '4s', remindEvery: '1s', escalateAfter: '2s', escalateTo: ['slack:U0LEAD'], action: 'cancel' },
      },
    });
    const view = await session.waitFor('cancelled', T);
    expect(view.reason).toMatch(/before the deadline/);
    const thread = await slack.waitFor(() => {
      const replies = slack.thread(channel, message.ts);
      return replies.some((r) => r.text.includes('<@U0LEAD>')) && replies.some((r) => r.text.includes('Reminder')) && replies;
    }, 'a reminder and the escalation in the thread');
    expect(thread.filter((r) => r.text.includes('Reminder')).length).toBeGreaterThanOrEqual(1);
    await slack.waitFor(() => shows(message, '*Cancelled*'), 'the message to show the deadline cancelled the session');
  });
  it('posts each reminder and the escalation once when Slack takes a post but its answer is lost (the activity retries)', async () => {
    const { session, channel, message } = await awaitingInSlack({
      approval: {
        approvers: ['slack:U0ALICE'],
        deadline: { after: '6s', remindEvery: '2s', escalateAfter: '3s', escalateTo: ['slack:U0LEAD'], action: 'cancel' },
      },
    });
    // The first reminder and the escalation: Slack posts them, then answers 500, so the notify activity runs again.
    const inThread = (args: Record<string, unknown>) => args.thread_ts === message.ts;
    slack.fail({
      method: 'chat.postMessage',
      status: 500,
      afterApply: true,
      times: 1,
      when: (a) => inThread(a) && /Reminder/.test(a.text),
    });
    slack.fail({
      method: 'chat.postMessage',
      status: 500,
      afterApply: true,
      times: 1,
      when: (a) => inThread(a) && /<@U0LEAD>/.test(a.text),
    });
    await session.waitFor('cancelled', T);
    // Both retries have looked in the thread (and found their post there).
    await slack.waitFor(
      () => slack.callsOf('conversations.replies').filter((c) => c.args.ts === message.ts).length >= 2 || undefined,
      'the retried notifications',
    );
    const thread = slack.thread(channel, message.ts);
    const reminders = thread.filter((r) => r.text.includes('Reminder'));
    const escalations = thread.filter((r) => r.text.includes('<@U0LEAD>'));
    expect(reminders.length).toBeGreaterThanOrEqual(1);
    expect(escalations).toHaveLength(1);
    // One post per reminder the session recorded, each under its own key.
    expect(reminders).toHaveLength((await eventsOf(session, 'approvalReminded')).length);
    const keys = thread.map((r) => r.metadata?.event_payload.key);
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys).toEqual(
      expect.arrayContaining([expect.stringMatching(/^reminder:awaitingPlanApproval:.+:1$/), expect.stringMatching(/^escalation:/)]),
    );
  });
});

describe('requests not from Slack', () => {
  it('are refused with 401 and change nothing: forged, stale, unsigned, replayed', async () => {
    const { session, channel, message } = await awaitingInSlack();
    const responseUrl = slack.responseUrl();
    const request = () => approveClick(message, channel, 'U0MALLORY', responseUrl);
    const now = Math.floor(Date.now() / 1_000);
    const refused = [
      await sender.send(request(), { secret: 'not-the-signing-secret' }),
      await sender.send(request(), { timestamp: now - 6 * 60 }),
      await sender.send(request(), { timestamp: now + 6 * 60 }),
      await sender.send(request(), { unsigned: true }),
    ];
    for (const answer of refused) expect(answer).toMatchObject({ status: 401, body: { error: { code: 'unauthorized' } } });

    // A genuine click works once; the same signed request again is a replay.
    const genuine = approveClick(message, channel, 'U0ALICE', responseUrl);
    const headers = sender.sign(genuine);
    expect((await sender.sendSigned(genuine, headers)).status).toBe(200);
    expect(await sender.sendSigned(genuine, headers)).toMatchObject({
      status: 401,
      body: { error: { message: expect.stringMatching(/replay/) } },
    });

    await session.waitFor(['inProgress', 'completed'], T);
    await sleep(500);
    expect(await eventsOf(session, 'planApproved')).toEqual([expect.objectContaining({ by: 'slack:U0ALICE' })]);
    // Had any refused request been read, the session would have recorded the attempt, and someone been answered.
    expect([...(await eventsOf(session, 'approvalRefused')), ...(await eventsOf(session, 'inputRejected'))]).toEqual([]);
    expect(slack.responsesTo(responseUrl)).toHaveLength(1);
  });
});

describe('Reject', () => {
  it('opens a modal asking why; its submission rejects with the reason', async () => {
    const { session, channel, message } = await awaitingInSlack();
    const responseUrl = slack.responseUrl();
    const opened = slack.callsOf('views.open').length;
    const value = valueOf(message, ACTION.reject);
    const answer = await sender.send(
      click({ actionId: ACTION.reject, value, user: 'U0DAVE', channel, responseUrl, messageTs: message.ts }),
    );
    expect(answer.status).toBe(200);
    const open = await slack.waitFor(() => slack.callsOf('views.open')[opened], 'views.open');
    expect(open.args.trigger_id).toEqual(expect.any(String));
    const view = open.args.view;
    expect(view).toMatchObject({ type: 'modal', callback_id: 'andon_reject' });
    expect(JSON.parse(view.private_metadata)).toMatchObject({ sessionId: session.id, planId: 'plan-1', channel, responseUrl });

    const empty = await sender.send(
      submitView({ user: 'U0DAVE', callbackId: view.callback_id, privateMetadata: view.private_metadata, reason: '   ' }),
    );
    expect(empty.body).toEqual({ response_action: 'errors', errors: { reason: expect.any(String) } });
    expect((await session.info()).state).toBe('awaitingPlanApproval');

    const submitted = await sender.send(
      submitView({
        user: 'U0DAVE',
        callbackId: view.callback_id,
        privateMetadata: view.private_metadata,
        reason: 'not during peak traffic',
      }),
    );
    // An empty 200 closes the modal.
    expect(submitted).toMatchObject({ status: 200, body: undefined });
    await session.waitFor('cancelled', T);
    expect(await eventsOf(session, 'planRejected')).toEqual([
      expect.objectContaining({ by: 'slack:U0DAVE', reason: 'not during peak traffic', replan: false }),
    ]);
    expect(await ephemeralAt(responseUrl)).toEqual([expect.stringMatching(/Your rejection of \*checkout-api 5xx\* is recorded/)]);
    await slack.waitFor(() => shows(message, '*Rejected* by <@U0DAVE>: not during peak traffic'), 'the message to show the rejection');
  });

  it('can ask for a new plan instead', async () => {
    const { session, channel, message } = await awaitingInSlack();
    const oldPlan = valueOf(message, ACTION.approve);
    const opened = slack.callsOf('views.open').length;
    await sender.send(
      click({ actionId: ACTION.reject, value: valueOf(message, ACTION.reject), user: 'U0DAVE', channel, responseUrl: slack.responseUrl() }),
    );
    const view = (await slack.waitFor(() => slack.callsOf('views.open')[opened], 'views.open')).args.view;
    await sender.send(
      submitView({
        user: 'U0DAVE',
        callbackId: view.callback_id,
        privateMetadata: view.private_metadata,
        reason: 'try a canary',
        replan: true,
      }),
    );
    await slack.waitFor(
      () => slack.thread(channel, message.ts).find((m) => m.text.includes('A new plan (`plan-2`) awaits approval')),
      'the new plan note',
    );
    // The same message now offers the new plan.
    await slack.waitFor(() => JSON.parse(valueOf(message, ACTION.approve)).planId === 'plan-2', 'the buttons to carry plan-2');
    expect((await session.info()).state).toBe('awaitingPlanApproval');

    // A click on the old plan (a stale copy of the message, a slow client) approves nothing.
    const stale = slack.responseUrl();
    await sender.send(click({ actionId: ACTION.approve, value: oldPlan, user: 'U0ALICE', channel, responseUrl: stale }));
    expect(await ephemeralAt(stale)).toEqual([expect.stringMatching(/not accepted: .*(no longer current|plan changed)/)]);
    expect((await session.info()).state).toBe('awaitingPlanApproval');
  });
});

describe('the thread', () => {
  it('passes replies to the session as the person, and answers questions there; ignores bots, the app, edits and re-deliveries', async () => {
    const { session, channel, message } = await awaitingInSlack();
    expect((await sender.send(urlVerification('challenge-123'))).body).toEqual({ challenge: 'challenge-123' });
    await waitForThread(session.id, `${channel}:${message.ts}`);

    const reply = await sender.send(
      messageEvent({ channel, user: 'U0BOB', text: 'the deploy at 14:02 &amp; the flag flip', threadTs: message.ts }),
    );
    expect(reply.status).toBe(200);
    await waitForEvent(
      session,
      (e) => e.type === 'userMessaged' && e.by === 'slack:U0BOB' && e.message === 'the deploy at 14:02 & the flag flip',
    );

    await sender.send(messageEvent({ channel, user: 'U0BOB', text: 'why roll back?', threadTs: message.ts }));
    await slack.waitFor(
      () => slack.thread(channel, message.ts).find((m) => m.text === 'because the deploy at 14:02 broke it'),
      "the agent's answer in the thread",
    );

    // Not conversation: another bot, the app itself, a top-level message, an edit.
    await sender.send(messageEvent({ channel, user: 'U0OTHER', botId: 'B0OTHER', text: 'bot noise', threadTs: message.ts }));
    await sender.send(messageEvent({ channel, user: 'UBOT', text: 'the app itself', threadTs: message.ts }));
    await sender.send(messageEvent({ channel, user: 'U0BOB', text: 'top level' }));
    await sender.send(messageEvent({ channel, user: 'U0BOB', text: 'edited', threadTs: message.ts, subtype: 'message_changed' }));
    // Slack re-delivers an event (same id, new signature) when it did not see the answer in time.
    const redelivered = messageEvent({ channel, user: 'U0CAROL', text: 'once only', threadTs: message.ts, eventId: 'Ev0REDELIVERED' });
    await sender.send(redelivered);
    await sender.send(redelivered, { timestamp: Math.floor(Date.now() / 1_000) - 1 });

    await waitForEvent(session, (e) => e.type === 'userMessaged' && e.message === 'once only');
    await sleep(500);
    const said = (await eventsOf(session, 'userMessaged')).map((e) => (e.type === 'userMessaged' ? e.message : ''));
    expect(said).toEqual(['the deploy at 14:02 & the flag flip', 'why roll back?', 'once only']);
  });

  it('tells the person when the session cannot take their message', async () => {
    const { session, channel, message } = await awaitingInSlack();
    await waitForThread(session.id, `${channel}:${message.ts}`);
    await session.cancel('wrong alert');
    const ephemerals = slack.callsOf('chat.postEphemeral').length;
    await sender.send(messageEvent({ channel, user: 'U0BOB', text: 'still there?', threadTs: message.ts }));
    const told = await slack.waitFor(() => slack.callsOf('chat.postEphemeral')[ephemerals], 'an ephemeral answer');
    expect(told.args).toMatchObject({ channel, user: 'U0BOB', thread_ts: message.ts, text: expect.stringMatching(/not accepted/) });
  });
});

describe("the agent's question", () => {
  it('is shown on the message; the answer in the thread lets the agent plan, and the same message offers the plan', async () => {
    const channel = newChannel('question');
    const session = await h.andon.session({
      prompt: 'disk full',
      title: 'disk alarm',
      context: { script: 'question' },
      notify: { slack: { channel: channel.name } },
    });
    await session.waitFor('awaitingUserFeedback', T);
    const message = await slack.waitFor(() => slack.posts(channel.id)[0], 'the session message');
    await slack.waitFor(() => shows(message, '*The agent asks*: Which host is affected by disk alarm?'), 'the question on the message');
    await waitForThread(session.id, `${channel.id}:${message.ts}`);

    await sender.send(messageEvent({ channel: channel.id, user: 'U0BOB', text: 'db-7', threadTs: message.ts }));
    await session.waitFor('awaitingPlanApproval', T);
    await slack.waitFor(
      () => buttonsOf(message).some((b) => b.action_id === ACTION.approve),
      'the plan with its buttons on the same message',
    );
    expect(slack.posts(channel.id)).toHaveLength(1);
  });
});

describe('/andon', () => {
  it('answers help and usage at once, and status, list, ask and approve through the response URL', async () => {
    const { session, channel } = await awaitingInSlack();
    const command = (text: string, responseUrl = slack.responseUrl()) =>
      sender.send(slashCommand({ text, user: 'U0ERIN', channel, responseUrl }));

    expect((await command('help')).body).toMatchObject({ response_type: 'ephemeral', text: expect.stringContaining('`status <id>`') });
    expect((await command(`reject ${session.id}`)).body).toMatchObject({ text: expect.stringContaining('Usage: `/andon reject') });

    const status = slack.responseUrl();
    expect(await command(`status ${session.id}`, status)).toMatchObject({ status: 200, body: undefined });
    const statusPost = at(await slack.waitFor(() => slack.responsesTo(status).length > 0 && slack.responsesTo(status), 'the status'), 0);
    expect(JSON.stringify(statusPost.body.blocks)).toContain('The plan awaits approval');
    expect(JSON.stringify(statusPost.body.blocks)).toContain(ACTION.approve);

    const list = slack.responseUrl();
    await command('list awaitingPlanApproval', list);
    expect(await ephemeralAt(list)).toEqual([expect.stringContaining(`\`${session.id}\` awaitingPlanApproval`)]);

    const ask = slack.responseUrl();
    expect((await command(`ask ${session.id} why this plan?`, ask)).body).toMatchObject({ text: expect.stringContaining('Asking') });
    expect(await ephemeralAt(ask)).toEqual([`*${session.id}* answers: because the deploy at 14:02 broke it`]);

    const approve = slack.responseUrl();
    await command(`approve ${session.id} plan-1 go ahead`, approve);
    expect(await ephemeralAt(approve)).toEqual([expect.stringContaining('is recorded')]);
    expect(await eventsOf(session, 'planApproved')).toEqual([expect.objectContaining({ by: 'slack:U0ERIN', comment: 'go ahead' })]);

    const twice = slack.responseUrl();
    await command(`approve ${session.id}`, twice);
    expect(await ephemeralAt(twice)).toEqual([expect.stringContaining('not accepted')]);

    const missing = slack.responseUrl();
    await command('status no-such-session', missing);
    // Not even whether it exists: the same answer as for a session of another channel.
    expect(await ephemeralAt(missing)).toEqual([expect.stringContaining('only in the channel where it was announced')]);
  });
});

describe("Slack's failures", () => {
  it('a 429 is retried after its Retry-After, while the session goes on to completion', async () => {
    const channel = newChannel('limited');
    slack.fail({ method: 'chat.postMessage', status: 429, retryAfter: 3, times: 2, when: (args) => args.channel === channel.name });
    const session = await h.andon.session({
      prompt: 'disk full on db-7',
      title: 'db-7 disk',
      notify: { slack: { channel: channel.name } },
    });
    await session.waitFor('awaitingPlanApproval', T);
    await session.approve({ by: 'api:alice' });
    await session.result(T);
    // Done while Slack still refuses: the session never waited for it.
    expect(slack.posts(channel.id)).toEqual([]);

    const message = await slack.waitFor(() => slack.posts(channel.id)[0], 'the post after the rate limit', 30_000);
    const attempts = slack.callsOf('chat.postMessage').filter((c) => c.args.channel === channel.name);
    expect(attempts.slice(0, 3).map((a) => a.status)).toEqual([429, 429, 200]);
    expect(at(attempts, 1).at - at(attempts, 0).at).toBeGreaterThanOrEqual(2_900);
    expect(at(attempts, 2).at - at(attempts, 1).at).toBeGreaterThanOrEqual(2_900);
    await slack.waitFor(() => shows(message, ':white_check_mark: *Done*'), 'the message to catch up with the outcome', 30_000);
  });

  it('an ok:false channel_not_found is given up at once, and the session is unaffected', async () => {
    const channel = newChannel('missing');
    slack.fail({ method: 'chat.postMessage', error: 'channel_not_found', when: (args) => args.channel === channel.name });
    const session = await h.andon.session({
      prompt: 'disk full on db-8',
      title: 'db-8 disk',
      notify: { slack: { channel: channel.name } },
    });
    await session.waitFor('awaitingPlanApproval', T);
    await slack.waitFor(() => slack.callsOf('chat.postMessage').some((c) => c.args.channel === channel.name), 'the first attempt');
    await session.approve({ by: 'api:alice' });
    expect((await session.result(T)).summary).toBe('done: disk full on db-8');
    // Well past Temporal's first retry interval (1 s): nothing was retried.
    await sleep(2_500);
    const attempts = slack.callsOf('chat.postMessage').filter((c) => c.args.channel === channel.name);
    expect(attempts.every((a) => !a.ok)).toBe(true);
    expect(attempts.filter((a) => JSON.stringify(a.args.blocks).includes(ACTION.approve))).toHaveLength(1);
    const attribute = (await h.client.workflow.getHandle(session.id).describe()).typedSearchAttributes.get(SLACK_THREAD_ATTRIBUTE);
    expect(attribute).toBeUndefined();
  });
});

/** Waits until Temporal visibility finds the session by its thread (what a thread reply relies on). */
async function waitForThread(sessionId: string, thread: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  const query = `${SLACK_THREAD_ATTRIBUTE.name} = '${thread}'`;
  for (;;) {
    for await (const execution of h.client.workflow.list({ query })) if (execution.workflowId === sessionId) return;
    if (Date.now() > deadline) throw new Error(`visibility never found ${sessionId} by ${thread}`);
    await sleep(200);
  }
}

async function waitForEvent(session: SessionClient, predicate: (e: TimelineEvent) => boolean): Promise<TimelineEvent> {
  for await (const event of session.stream({ signal: AbortSignal.timeout(20_000) })) if (predicate(event)) return event;
  throw new Error(`session ${session.id} ended without the event`);
}
