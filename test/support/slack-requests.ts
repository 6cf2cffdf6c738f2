/**
 * What Slack sends andon, signed the way Slack signs it (or deliberately not): button clicks,
 * modal submissions, slash commands and Events API callbacks, as Slack encodes each one.
 */
import { randomUUID } from 'node:crypto';
import { signature } from '../../src/slack/signature';

export interface SignOptions {
  /** Seconds since the epoch; default now. */
  timestamp?: number;
  /** Sign with another secret (a forged request). */
  secret?: string;
  /** No signature headers at all. */
  unsigned?: boolean;
}

export interface SlackRequest {
  path: string;
  body: string;
  contentType: string;
}

export interface SlackAnswer {
  status: number;
  /** Parsed JSON, the text, or undefined when empty. */
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- Slack's JSON, read by path in assertions
  /** How long andon took to answer, in ms (Slack gives up after 3 s). */
  tookMs: number;
}

export class SlackSender {
  constructor(
    private readonly serviceUrl: string,
    private readonly secret: string,
  ) {}

  /** Signs `request` now (or as told) and sends it. */
  async send(request: SlackRequest, options: SignOptions = {}): Promise<SlackAnswer> {
    return this.sendSigned(request, this.sign(request, options));
  }

  /** The signature headers for `request`: send them twice to replay it. */
  sign(request: SlackRequest, options: SignOptions = {}): Record<string, string> {
    if (options.unsigned) return {};
    const timestamp = options.timestamp ?? Math.floor(Date.now() / 1_000);
    return {
      'x-slack-request-timestamp': String(timestamp),
      'x-slack-signature': signature(options.secret ?? this.secret, timestamp, request.body),
    };
  }

  async sendSigned(request: SlackRequest, headers: Record<string, string>): Promise<SlackAnswer> {
    const started = Date.now();
    const response = await fetch(`${this.serviceUrl}${request.path}`, {
      method: 'POST',
      headers: { 'content-type': request.contentType, ...headers },
      body: request.body,
    });
    const text = await response.text();
    let body: unknown = text === '' ? undefined : text;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      // Not JSON: the test sees the text.
    }
    return { status: response.status, body, tookMs: Date.now() - started };
  }
}

const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
const FORM = 'application/x-www-form-urlencoded';

/**
 * Which workspace a request comes from: `team` (default T0TEST, the loopback bot token's) and the
 * person's own `userTeam` (default the same; another for a Slack Connect user or a guest).
 */
export interface FromTeam {
  team?: string;
  userTeam?: string;
}

/** A click on a button andon rendered (its action id and value as found in the message). */
export function click(
  input: {
    actionId: string;
    value: string;
    user: string;
    channel: string;
    responseUrl: string;
    messageTs?: string;
  } & FromTeam,
): SlackRequest {
  const team = input.team ?? 'T0TEST';
  const payload = {
    type: 'block_actions',
    user: { id: input.user, username: input.user.toLowerCase(), team_id: input.userTeam ?? team },
    api_app_id: 'A0ANDON',
    team: { id: team, domain: 'test' },
    container: { type: 'message', message_ts: input.messageTs ?? '1.1', channel_id: input.channel, is_ephemeral: false },
    trigger_id: `${Date.now()}.${randomUUID()}`,
    channel: { id: input.channel, name: 'ops' },
    response_url: input.responseUrl,
    actions: [
      { action_id: input.actionId, block_id: 'andon_actions', type: 'button', value: input.value, action_ts: `${Date.now() / 1_000}` },
    ],
  };
  return { path: '/v1/slack/interactions', body: form({ payload: JSON.stringify(payload) }), contentType: FORM };
}

/**
 * Submits a modal andon opened (its callback id and private metadata), with the values typed in:
 * the reject modal's `reason` and `replan`, or any text inputs by block id (`values`, whose action
 * id is the block id, as andon names them).
 */
export function submitView(
  input: {
    user: string;
    callbackId: string;
    privateMetadata: string;
    reason?: string | null;
    replan?: boolean;
    values?: Record<string, string | null>;
  } & FromTeam,
): SlackRequest {
  const typed = Object.fromEntries(
    Object.entries(input.values ?? {}).map(([block, value]) => [block, { [block]: { type: 'plain_text_input', value } }]),
  );
  const payload = {
    type: 'view_submission',
    user: { id: input.user, team_id: input.userTeam ?? input.team ?? 'T0TEST' },
    api_app_id: 'A0ANDON',
    team: { id: input.team ?? 'T0TEST' },
    view: {
      id: 'V0MODAL',
      type: 'modal',
      callback_id: input.callbackId,
      private_metadata: input.privateMetadata,
      state: {
        values: {
          reason: { reason: { type: 'plain_text_input', value: input.reason ?? null } },
          replan: {
            replan: {
              type: 'checkboxes',
              selected_options: input.replan ? [{ value: 'replan', text: { type: 'plain_text', text: 'x' } }] : [],
            },
          },
          ...typed,
        },
      },
    },
  };
  return { path: '/v1/slack/interactions', body: form({ payload: JSON.stringify(payload) }), contentType: FORM };
}

export function slashCommand(input: { text: string; user: string; channel: string; responseUrl: string } & FromTeam): SlackRequest {
  const body = form({
    token: 'deprecated-verification-token',
    team_id: input.team ?? 'T0TEST',
    channel_id: input.channel,
    user_id: input.user,
    command: '/andon',
    text: input.text,
    response_url: input.responseUrl,
    trigger_id: `${Date.now()}.${randomUUID()}`,
  });
  return { path: '/v1/slack/commands', body, contentType: FORM };
}

export function urlVerification(challenge: string): SlackRequest {
  return {
    path: '/v1/slack/events',
    body: JSON.stringify({ token: 'x', challenge, type: 'url_verification' }),
    contentType: 'application/json',
  };
}

/** A message event; a reply in a thread when `threadTs` is set. */
export function messageEvent(input: {
  channel: string;
  user?: string;
  text: string;
  ts?: string;
  threadTs?: string;
  botId?: string;
  subtype?: string;
  eventId?: string;
  team?: string;
  /** The author's own workspace (`user_team`), in a Slack Connect channel. */
  userTeam?: string;
}): SlackRequest {
  const ts = input.ts ?? `${Math.floor(Date.now() / 1_000)}.${String(Math.floor(Math.random() * 1e6)).padStart(6, '0')}`;
  const event = {
    type: 'message',
    channel: input.channel,
    user: input.user,
    text: input.text,
    ts,
    thread_ts: input.threadTs,
    bot_id: input.botId,
    subtype: input.subtype,
    channel_type: 'channel',
    ...(input.userTeam ? { user_team: input.userTeam } : {}),
  };
  const body = {
    token: 'x',
    team_id: input.team ?? 'T0TEST',
    api_app_id: 'A0ANDON',
    event,
    type: 'event_callback',
    event_id: input.eventId ?? `Ev${randomUUID().replace(/-/g, '').slice(0, 10).toUpperCase()}`,
    event_time: Math.floor(Date.now() / 1_000),
    authorizations: [{ team_id: 'T0TEST', user_id: 'UBOT', is_bot: true }],
  };
  return { path: '/v1/slack/events', body: JSON.stringify(body), contentType: 'application/json' };
}
