/**
 * A loopback server that speaks enough of Slack's Web API for andon (chat.postMessage,
 * chat.update, chat.postEphemeral, views.open, auth.test) and of its response URLs, records
 * every call andon makes, keeps each posted message's latest content, and fails on demand:
 * `ok: false` errors, HTTP 429 with Retry-After, 5xx.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedCall {
  method: string;
  /** Form fields, with JSON-valued ones (blocks, view) parsed. */
  args: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- Slack Web API JSON, read by path in assertions
  /** What the call was answered with: 200 (ok or not), 429, 5xx. */
  status: number;
  ok: boolean;
  at: number;
}

export interface PostedMessage {
  channel: string;
  ts: string;
  text: string;
  blocks: any[]; // eslint-disable-line @typescript-eslint/no-explicit-any -- Slack Web API JSON, read by path in assertions
  threadTs?: string;
  broadcast: boolean;
  /** The message's metadata (`event_type`, `event_payload`), as posted. */
  metadata?: { event_type: string; event_payload: Record<string, unknown> };
  /** Content before each update, oldest first. */
  history: { text: string; blocks: any[] }[]; // eslint-disable-line @typescript-eslint/no-explicit-any -- Slack Web API JSON, read by path in assertions
}

export interface ResponseUrlPost {
  url: string;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- Slack Web API JSON, read by path in assertions
  at: number;
}

export interface Fault {
  method: string;
  /** `ok: false` with this error code (HTTP 200, as Slack does). */
  error?: string;
  /** An HTTP status instead (429, 500, 503, ...). */
  status?: number;
  /** Seconds, sent as Retry-After with a 429. */
  retryAfter?: number;
  /** How many calls fail (default: every matching one). */
  times?: number;
  /**
   * Do what was asked, then answer with the failure anyway (`status`, or a dropped connection
   * without one): Slack took the call but andon never learns it did.
   */
  afterApply?: boolean;
  /** Only calls for which this holds. */
  when?: (args: Record<string, any>) => boolean; // eslint-disable-line @typescript-eslint/no-explicit-any -- Slack Web API JSON, read by path in assertions
}

const JSON_FIELDS = new Set(['blocks', 'attachments', 'view', 'metadata']);

export class SlackApiServer {
  readonly calls: RecordedCall[] = [];
  readonly responses: ResponseUrlPost[] = [];
  /** Messages by `<channel>:<ts>`, as they are now. */
  readonly messages = new Map<string, PostedMessage>();
  private faults: Fault[] = [];
  /** Channels posted to by `#name`: conversations.list answers with these. */
  private readonly channelNames = new Map<string, string>();
  private sequence = 0;

  private constructor(
    private readonly server: http.Server,
    readonly url: string,
    private readonly token: string,
  ) {}

  static async start(options: { token: string }): Promise<SlackApiServer> {
    const server = http.createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => api.handle(request, Buffer.concat(chunks).toString('utf8'), response));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    // Requests arrive only once the server listens, after `api` is set.
    const api = new SlackApiServer(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`, options.token);
    return api;
  }

  /** The Web API base URL to configure andon with. */
  get apiUrl(): string {
    return `${this.url}/api/`;
  }

  /** A fresh response URL (what Slack puts in a click or a command). */
  responseUrl(): string {
    return `${this.url}/respond/${++this.sequence}`;
  }

  fail(fault: Fault): void {
    this.faults.push({ ...fault });
  }

  clearFaults(): void {
    this.faults = [];
  }

  callsOf(method: string): RecordedCall[] {
    return this.calls.filter((call) => call.method === method);
  }

  /** Top-level messages posted to `channel` (not thread replies), oldest first. */
  posts(channel?: string): PostedMessage[] {
    return [...this.messages.values()].filter((m) => !m.threadTs && (channel === undefined || m.channel === channel));
  }

  /** Replies in the thread of `<channel>:<ts>`, oldest first. */
  thread(channel: string, ts: string): PostedMessage[] {
    return [...this.messages.values()].filter((m) => m.channel === channel && m.threadTs === ts);
  }

  responsesTo(url: string): ResponseUrlPost[] {
    return this.responses.filter((r) => r.url === url);
  }

  /** Polls `probe` until it returns something other than undefined/false. */
  async waitFor<T>(probe: () => T | undefined | false, what: string, timeoutMs = 20_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = probe();
      if (value !== undefined && value !== false) return value;
      if (Date.now() > deadline) throw new Error(`loopback Slack: timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // -------------------------------------------------------------------------------------------

  private handle(request: http.IncomingMessage, body: string, response: http.ServerResponse): void {
    const path = (request.url ?? '').replace(/\?.*$/, '');
    if (path.startsWith('/respond/')) {
      this.responses.push({ url: `${this.url}${path}`, body: JSON.parse(body), at: Date.now() });
      return send(response, 200, 'ok', 'text/plain');
    }
    const method = /^\/api\/([\w.]+)$/.exec(path)?.[1];
    if (!method) return send(response, 404, 'not found', 'text/plain');
    const args = parseArgs(request.headers['content-type'] ?? '', body);
    const record = (status: number, ok: boolean) => this.calls.push({ method, args, status, ok, at: Date.now() });

    const fault = this.takeFault(method, args);
    if (fault?.afterApply) {
      this.apply(method, args);
      record(fault.status ?? 0, false);
      if (fault.status) return send(response, fault.status, JSON.stringify({ ok: false, error: 'server_error' }));
      response.socket?.destroy();
      return;
    }
    if (fault?.status) {
      record(fault.status, false);
      const headers: Record<string, string> = fault.retryAfter !== undefined ? { 'retry-after': String(fault.retryAfter) } : {};
      return send(
        response,
        fault.status,
        JSON.stringify({ ok: false, error: fault.status === 429 ? 'ratelimited' : 'server_error' }),
        'application/json',
        headers,
      );
    }
    if (fault?.error || request.headers.authorization !== `Bearer ${this.token}`) {
      record(200, false);
      return send(response, 200, JSON.stringify({ ok: false, error: fault?.error ?? 'invalid_auth' }));
    }
    const result = this.apply(method, args);
    record(200, result.ok === true);
    send(response, 200, JSON.stringify(result));
  }

  private takeFault(method: string, args: Record<string, unknown>): Fault | undefined {
    const fault = this.faults.find((f) => f.method === method && (f.when?.(args) ?? true) && (f.times === undefined || f.times > 0));
    if (fault?.times !== undefined) fault.times -= 1;
    return fault;
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- Slack Web API JSON, read by path in assertions
  private apply(method: string, args: Record<string, any>): Record<string, unknown> {
    switch (method) {
      case 'auth.test':
        return { ok: true, user_id: 'UBOT', bot_id: 'BBOT', team_id: 'T0TEST' };
      case 'chat.postMessage': {
        if (!args.channel) return { ok: false, error: 'channel_not_found' };
        if (!args.text && !args.blocks) return { ok: false, error: 'no_text' };
        const channel = channelId(String(args.channel));
        // Now, as Slack's are (conversations.history reads by time); the sequence keeps each unique.
        const ts = `${Math.floor(Date.now() / 1_000)}.${String(++this.sequence).padStart(6, '0')}`;
        const threadTs = args.thread_ts ? String(args.thread_ts) : undefined;
        if (threadTs && !this.messages.has(`${channel}:${threadTs}`)) return { ok: false, error: 'thread_not_found' };
        this.messages.set(`${channel}:${ts}`, {
          channel,
          ts,
          text: String(args.text ?? ''),
          blocks: args.blocks ?? [],
          threadTs,
          broadcast: args.reply_broadcast === 'true' || args.reply_broadcast === true,
          metadata: args.metadata,
          history: [],
        });
        if (String(args.channel).startsWith('#')) this.channelNames.set(String(args.channel).slice(1), channel);
        return { ok: true, channel, ts, message: { text: args.text, ts } };
      }
      case 'chat.update': {
        const message = this.messages.get(`${args.channel}:${args.ts}`);
        if (!message) return { ok: false, error: 'message_not_found' };
        message.history.push({ text: message.text, blocks: message.blocks });
        message.text = String(args.text ?? '');
        message.blocks = args.blocks ?? [];
        return { ok: true, channel: message.channel, ts: message.ts, text: message.text };
      }
      case 'conversations.history': {
        // Newest first, as Slack answers; metadata only when asked for.
        const oldest = Number(args.oldest ?? 0);
        const found = this.posts(String(args.channel))
          .filter((m) => Number(m.ts) > oldest)
          .reverse()
          .slice(0, Number(args.limit ?? 100))
          .map((m) => ({
            type: 'message',
            ts: m.ts,
            text: m.text,
            bot_id: 'BBOT',
            ...(args.include_all_metadata === 'true' || args.include_all_metadata === true ? { metadata: m.metadata } : {}),
          }));
        return { ok: true, messages: found, has_more: false };
      }
      case 'conversations.replies': {
        const parent = this.messages.get(`${args.channel}:${args.ts}`);
        if (!parent) return { ok: false, error: 'thread_not_found' };
        const withMetadata = args.include_all_metadata === 'true' || args.include_all_metadata === true;
        const found = [parent, ...this.thread(String(args.channel), String(args.ts))].slice(0, Number(args.limit ?? 100)).map((m) => ({
          type: 'message',
          ts: m.ts,
          thread_ts: parent.ts,
          text: m.text,
          ...(withMetadata ? { metadata: m.metadata } : {}),
        }));
        return { ok: true, messages: found, has_more: false };
      }
      case 'conversations.list':
        return {
          ok: true,
          channels: [...this.channelNames].map(([name, id]) => ({ id, name, is_channel: true })),
          response_metadata: { next_cursor: '' },
        };
      case 'chat.postEphemeral':
        if (!args.channel || !args.user) return { ok: false, error: 'invalid_arguments' };
        return { ok: true, message_ts: `${1_700_000_000 + ++this.sequence}.000000` };
      case 'views.open':
        if (!args.trigger_id) return { ok: false, error: 'invalid_trigger_id' };
        return { ok: true, view: { id: `V${++this.sequence}`, ...args.view } };
      default:
        return { ok: false, error: 'unknown_method' };
    }
  }
}

/** Slack answers with the channel id even when given "#name": C + the name, upper-cased. */
function channelId(channel: string): string {
  return channel.startsWith('#')
    ? `C${channel
        .slice(1)
        .toUpperCase()
        .replace(/[^A-Z0-9]/g, '')}`
    : channel;
}

function parseArgs(contentType: string, body: string): Record<string, unknown> {
  if (contentType.includes('application/json')) return body ? (JSON.parse(body) as Record<string, unknown>) : {};
  const args: Record<string, unknown> = {};
  for (const [key, value] of new URLSearchParams(body)) {
    args[key] = JSON_FIELDS.has(key) ? JSON.parse(value) : value;
  }
  return args;
}

function send(
  response: http.ServerResponse,
  status: number,
  body: string,
  type = 'application/json',
  headers: Record<string, string> = {},
): void {
  response.writeHead(status, { 'content-type': `${type}; charset=utf-8`, ...headers });
  response.end(body);
}
