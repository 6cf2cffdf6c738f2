/**
 * Tells one person the outcome of what they did, visible to them alone. A click or a command
 * comes with a `response_url`, which works in any channel (including ones the app was never
 * invited to); a modal submission or a thread message has none, so those get
 * `chat.postEphemeral` in the channel where the session's message is.
 */
import type { WebClient } from '@slack/web-api';
import type { SlackMessage } from './blocks';

export interface Audience {
  user: string;
  responseUrl?: string;
  channel?: string;
  /** Show it in this thread (thread replies). */
  threadTs?: string;
}

type Warn = (message: string) => void;

const RESPONSE_URL_TIMEOUT_MS = 5_000;

export class Responder {
  constructor(
    private readonly web: WebClient,
    private readonly warn: Warn,
  ) {}

  /** Never throws: an answer that cannot be delivered is logged, and nothing else depends on it. */
  async tell(audience: Audience, message: SlackMessage): Promise<void> {
    try {
      if (audience.responseUrl) {
        await postToResponseUrl(audience.responseUrl, { response_type: 'ephemeral', replace_original: false, ...message });
      } else if (audience.channel) {
        await this.web.chat.postEphemeral({ channel: audience.channel, user: audience.user, thread_ts: audience.threadTs, ...message });
      } else {
        this.warn(`slack: no way to tell ${audience.user}: ${message.text}`);
      }
    } catch (error) {
      this.warn(`slack: could not tell ${audience.user} "${message.text.slice(0, 200)}": ${(error as Error).message}`);
    }
  }
}

/** Slack's response URLs take a JSON message (https://docs.slack.dev/interactivity/handling-user-interaction#message_responses). */
async function postToResponseUrl(url: string, body: unknown): Promise<void> {
  if (!/^https?:\/\//.test(url)) throw new Error('the response_url is not an http(s) URL');
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json; charset=utf-8' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(RESPONSE_URL_TIMEOUT_MS),
  });
  if (!response.ok) throw new Error(`the response_url answered HTTP ${response.status}`);
}
