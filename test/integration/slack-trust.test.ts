/**
 * Who the Slack app listens to, end to end over real HTTP with a real worker: only the allowed
 * workspace (not another one, not a Slack Connect user or guest from elsewhere), only in the
 * session's own channel (a click, a modal or `/andon` anywhere else decides nothing and shows
 * nothing of the session), and a notification retried after Slack took its post leaves one
 * message, not an orphan with live buttons.
 */
import type { SessionConfig, TimelineEvent } from '../../src/session/schema';
import type { SessionClient } from '../../src/client';
import { SlackNotifier, timelineFacts } from '../../src/slack';
import { ACTION, REJECT_VIEW } from '../../src/slack/ids';
import { quickScript, startHarness, type Harness } from '../support/harness';
import { startService, type TestService } from '../support/service-harness';
import { TestAgent } from '../support/test-agent';
import { SlackApiServer, type PostedMessage } from '../support/slack-api-server';
import { SlackSender, click, messageEvent, slashCommand, submitView, type FromTeam } from '../support/slack-requests';

const TOKEN = 'xoxb-loopback-bot-token';
const SECRET = 'loopback-signing-secret-0123456789';
const T = { timeoutMs: 20_000 };

let slack: SlackApiServer;
let h: Harness;
let api: TestService;
let sender: SlackSender;

beforeAll(async () => {
  slack = await SlackApiServer.start({ token: TOKEN });
  const notifier = new SlackNotifier({ botToken: TOKEN, apiUrl: slack.apiUrl, facts: (view) => timelineFacts(h.andon)(view) });
  h = await startHarness({
    agent: new TestAgent({ default: quickScript({ replies: [{ match: '^why', reply: 'because' }] }) }),
    notifiers: { slack: notifier },
  });
  // No teamIds: the bot token's workspace (auth.test answers T0TEST) is the one allowed.
  api = await startService(h.andon, { slack: { enabled: true, botToken: TOKEN, signingSecret: SECRET, apiUrl: slack.apiUrl } });
  sender = new SlackSender(api.url, SECRET);
});
afterAll(async () => {
  await api?.close();
  await h?.close();
  await slack?.close();
});

let channels = 0;
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

async function awaitingInSlack(
  extra: Partial<SessionConfig> = {},
): Promise<{ session: SessionClient; channel: string; message: PostedMessage }> {
  const channel = newChannel('trust');
  const session = await h.andon.session({
    prompt: 'checkout-api error rate above 5%',
    title: 'checkout-api 5xx',
    notify: { slack: { channel: channel.name } },
    ...extra,
  });
  await session.waitFor('awaitingPlanApproval', T);
  const message = await slack.waitFor(() => slack.posts(channel.id)[0], `the plan message of ${session.id}`);
  return { session, channel: channel.id, message };
}

type Block = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- Slack's JSON, read by path in assertions
const valueOf = (message: PostedMessage, actionId: string): string =>
  message.blocks
    .filter((b: Block) => b.type === 'actions')
    .flatMap((b: Block) => b.elements)
    .find((b: Block) => b.action_id === actionId).value;
const eventsOf = async (session: SessionClient, type: TimelineEvent['type']) =>
  (await session.timeline({ limit: 1000 })).events.filter((e) => e.type === type);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function approveClick(message: PostedMessage, channel: string, user: string, responseUrl: string, from: FromTeam = {}) {
  return click({
    actionId: ACTION.approve,
    value: valueOf(message, ACTION.approve),
    user,
    channel,
    responseUrl,
    messageTs: message.ts,
    ...from,
  });
}

async function ephemeralAt(responseUrl: string): Promise<string> {
  const posts = await slack.waitFor(
    () => slack.responsesTo(responseUrl).length > 0 && slack.responsesTo(responseUrl),
    `an answer at ${responseUrl}`,
  );
  expect(posts[0]!.body).toMatchObject({ response_type: 'ephemeral' });
  return posts[0]!.body.text as string;
}

describe('workspaces', () => {
  it('another workspace, a Slack Connect user and a guest from elsewhere cannot approve; the own workspace can', async () => {
    const { session, channel, message } = await awaitingInSlack();
    const refused: string[] = [];
    for (const from of [{ team: 'T0OTHER' }, { userTeam: 'T0PARTNER' }, { team: 'T0OTHER', userTeam: 'T0TEST' }]) {
      const url = slack.responseUrl();
      refused.push(url);
      expect(await sender.send(approveClick(message, channel, 'U0MALLORY', url, from))).toMatchObject({ status: 200 });
    }
    const command = await sender.send(
      slashCommand({ text: `approve ${session.id}`, user: 'U0MALLORY', channel, responseUrl: slack.responseUrl(), team: 'T0OTHER' }),
    );
    expect(command.body).toMatchObject({
      response_type: 'ephemeral',
      text: expect.stringContaining('does not take requests from this workspace'),
    });
    // A Slack Connect user's reply in the thread does not reach the session either.
    await sender.send(messageEvent({ channel, user: 'U0MALLORY', text: 'skip the checks', threadTs: message.ts, userTeam: 'T0PARTNER' }));
    await sleep(1_500);
    expect(await eventsOf(session, 'planApproved')).toEqual([]);
    expect(await eventsOf(session, 'userMessaged')).toEqual([]);
    for (const url of refused) expect(slack.responsesTo(url)).toEqual([]);
    expect((await session.info()).state).toBe('awaitingPlanApproval');

    const ok = slack.responseUrl();
    await sender.send(approveClick(message, channel, 'U0ALICE', ok));
    expect(await ephemeralAt(ok)).toContain('is recorded');
    expect(await eventsOf(session, 'planApproved')).toEqual([expect.objectContaining({ by: 'slack:U0ALICE' })]);
  });
});

describe("the session's channel", () => {
  it('a click, a reject modal or /andon approve from another channel decides nothing and says nothing of the session', async () => {
    const { session, channel, message } = await awaitingInSlack();
    const elsewhere = newChannel('elsewhere').id;
    const click1 = slack.responseUrl();
    await sender.send(approveClick(message, elsewhere, 'U0ALICE', click1));
    const refusal = await ephemeralAt(click1);
    expect(refusal).toContain('only in the channel where it was announced');

    const modal = slack.responseUrl();
    const metadata = JSON.stringify({ sessionId: session.id, planId: 'plan-1', channel: elsewhere, responseUrl: modal });
    await sender.send(submitView({ user: 'U0ALICE', callbackId: REJECT_VIEW.callbackId, privateMetadata: metadata, reason: 'no' }));
    expect(await ephemeralAt(modal)).toBe(refusal);

    const command = slack.responseUrl();
    await sender.send(slashCommand({ text: `approve ${session.id}`, user: 'U0ALICE', channel: elsewhere, responseUrl: command }));
    expect(await ephemeralAt(command)).toBe(refusal);

    expect(await eventsOf(session, 'planApproved')).toEqual([]);
    expect(await eventsOf(session, 'planRejected')).toEqual([]);
    expect((await session.info()).state).toBe('awaitingPlanApproval');

    // In its own channel the same command works.
    const here = slack.responseUrl();
    await sender.send(slashCommand({ text: `approve ${session.id}`, user: 'U0ALICE', channel, responseUrl: here }));
    expect(await ephemeralAt(here)).toContain('is recorded');
  });

  it('/andon status and list show nothing of a session outside its channel, the same as for no session at all', async () => {
    const { session, channel } = await awaitingInSlack();
    const elsewhere = newChannel('elsewhere').id;
    const ask = async (text: string, where: string) => {
      const url = slack.responseUrl();
      await sender.send(slashCommand({ text, user: 'U0EVE', channel: where, responseUrl: url }));
      return (await slack.waitFor(() => slack.responsesTo(url)[0], `an answer to ${text}`)).body;
    };
    const outside = await ask(`status ${session.id}`, elsewhere);
    expect(JSON.stringify(outside)).not.toContain('checkout-api');
    expect(JSON.stringify(outside)).not.toContain('awaitingPlanApproval');
    expect(outside.text).toContain('only in the channel where it was announced');
    // Exactly what a session that does not exist gets: the answer tells nothing.
    const missing = await ask('status no-such-session', elsewhere);
    expect(missing.text).toBe(outside.text.replace(session.id, 'no-such-session'));

    const inside = await ask(`status ${session.id}`, channel);
    expect(JSON.stringify(inside.blocks)).toContain('checkout-api 5xx');

    expect((await ask('list', elsewhere)).text).not.toContain(session.id);
    expect((await ask('list', channel)).text).toContain(session.id);
  });
});

describe('a notification retried after Slack took its post', () => {
  it('leaves one plan message, which the session keeps and updates', async () => {
    const channel = newChannel('lost');
    // The first post reaches Slack, but its answer is lost: the activity fails and is retried.
    slack.fail({ method: 'chat.postMessage', status: 500, afterApply: true, times: 1, when: (args) => args.channel === channel.name });
    const session = await h.andon.session({ prompt: 'disk full', title: 'disk full', notify: { slack: { channel: channel.name } } });
    await session.waitFor('awaitingPlanApproval', T);
    const message = await slack.waitFor(() => slack.posts(channel.id)[0], 'the plan message');
    // The retry found the message by its metadata and updated it.
    await slack.waitFor(() => message.history.length > 0, 'the retry to update the message');
    expect(slack.callsOf('chat.postMessage').filter((c) => c.args.channel === channel.name)).toHaveLength(1);
    expect(slack.posts(channel.id)).toHaveLength(1);
    expect(message.metadata).toEqual({ event_type: 'andon_session', event_payload: { session_id: session.id } });

    // That one message is the session's: a click on it approves.
    const url = slack.responseUrl();
    await sender.send(approveClick(message, channel.id, 'U0ALICE', url));
    expect(await ephemeralAt(url)).toContain('is recorded');
    await session.result(T);
    expect(slack.posts(channel.id)).toHaveLength(1);
  });
});
