/**
 * A loopback server that speaks OpenAI's chat-completions wire protocol (POST /v1/chat/completions,
 * streamed and not; GET /v1/models), so tests can drive the real Vercel AI SDK clients
 * (`@ai-sdk/openai-compatible`, `@ai-sdk/openai` `.chat()`) without reaching an LLM API.
 *
 * It validates what the client sends the way OpenAI does (a zod schema for the request, plus
 * OpenAI's cross-field rules: tool messages answer a preceding assistant's tool_calls, strict
 * JSON schemas, json_object needs "json" in the messages, ...) and answers malformed requests
 * with a 400 in OpenAI's error shape. Replies are queued (`enqueue`) or picked per request
 * (`respondWith`): text, tool calls, structured JSON, errors (429 with Retry-After), a hang
 * until the client aborts, a dropped connection.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import { at } from './at';
import { firstIssue } from '../../src/protocol/issues';

// ---------------------------------------------------------------------------------------------
// Request schema (what the client must send)

const FunctionName = z
  .string()
  .regex(/^[a-zA-Z0-9_-]{1,64}$/, "string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]{1,64}$'");
const JsonObject = z.record(z.string(), z.unknown());

const TextPart = z.looseObject({ type: z.literal('text'), text: z.string() });
const UserPart = z.discriminatedUnion('type', [
  TextPart,
  z.looseObject({
    type: z.literal('image_url'),
    image_url: z.looseObject({ url: z.string(), detail: z.enum(['auto', 'low', 'high']).optional() }),
  }),
  z.looseObject({ type: z.literal('input_audio'), input_audio: z.looseObject({ data: z.string(), format: z.enum(['wav', 'mp3']) }) }),
  z.looseObject({
    type: z.literal('file'),
    file: z.looseObject({ file_data: z.string().optional(), file_id: z.string().optional(), filename: z.string().optional() }),
  }),
]);
const AssistantPart = z.discriminatedUnion('type', [TextPart, z.looseObject({ type: z.literal('refusal'), refusal: z.string() })]);

const ToolCallSchema = z.looseObject({
  id: z.string(),
  type: z.literal('function'),
  function: z.looseObject({ name: z.string(), arguments: z.string() }),
});

const MessageSchema = z.discriminatedUnion('role', [
  z.looseObject({ role: z.literal('system'), content: z.union([z.string(), z.array(TextPart).min(1)]), name: z.string().optional() }),
  z.looseObject({ role: z.literal('developer'), content: z.union([z.string(), z.array(TextPart).min(1)]), name: z.string().optional() }),
  z.looseObject({ role: z.literal('user'), content: z.union([z.string(), z.array(UserPart).min(1)]), name: z.string().optional() }),
  z.looseObject({
    role: z.literal('assistant'),
    content: z.union([z.string(), z.array(AssistantPart)]).nullish(),
    refusal: z.string().nullish(),
    name: z.string().optional(),
    tool_calls: z.array(ToolCallSchema).min(1).optional(),
  }),
  z.looseObject({ role: z.literal('tool'), tool_call_id: z.string(), content: z.union([z.string(), z.array(TextPart).min(1)]) }),
]);

const ToolSchema = z.looseObject({
  type: z.literal('function'),
  function: z.looseObject({
    name: FunctionName,
    description: z.string().optional(),
    parameters: JsonObject.optional(),
    strict: z.boolean().nullish(),
  }),
});

const ResponseFormatSchema = z.discriminatedUnion('type', [
  z.looseObject({ type: z.literal('text') }),
  z.looseObject({ type: z.literal('json_object') }),
  z.looseObject({
    type: z.literal('json_schema'),
    json_schema: z.looseObject({
      name: FunctionName,
      description: z.string().optional(),
      schema: JsonObject.optional(),
      strict: z.boolean().nullish(),
    }),
  }),
]);

/** The request body of POST /v1/chat/completions, as far as andon's clients use it (unknown extra fields are kept). */
export const ChatCompletionRequestSchema = z.looseObject({
  model: z.string().min(1),
  messages: z.array(MessageSchema).min(1),
  tools: z.array(ToolSchema).min(1).optional(),
  tool_choice: z
    .union([
      z.enum(['none', 'auto', 'required']),
      z.looseObject({ type: z.literal('function'), function: z.looseObject({ name: z.string() }) }),
    ])
    .optional(),
  parallel_tool_calls: z.boolean().optional(),
  stream: z.boolean().nullish(),
  stream_options: z.looseObject({ include_usage: z.boolean().optional() }).nullish(),
  response_format: ResponseFormatSchema.optional(),
  max_tokens: z.int().positive().nullish(),
  max_completion_tokens: z.int().positive().nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  /** OpenAI allows up to 128 choices; this server answers with one. */
  n: z.int().min(1).max(1).nullish(),
  stop: z.union([z.string(), z.array(z.string()).max(4)]).nullish(),
  seed: z.int().nullish(),
  user: z.string().optional(),
});

export type ChatCompletionRequest = z.infer<typeof ChatCompletionRequestSchema>;
export type ChatMessage = ChatCompletionRequest['messages'][number];

// ---------------------------------------------------------------------------------------------
// Public API

export interface ChatRequestRecord {
  body: ChatCompletionRequest;
  headers: Record<string, string | undefined>;
}

/** A request that never reached a reply: bad JSON, schema violation, bad API key, unknown model. */
export interface RejectedRequest {
  method: string;
  path: string;
  status: number;
  raw: string;
  error: OpenAIErrorBody['error'];
}

export interface Usage {
  promptTokens: number;
  completionTokens: number;
}

export type FinishReason = 'stop' | 'length' | 'content_filter';

export interface ToolCallReply {
  /** Default: call_<n>, unique per server. */
  id?: string;
  name: string;
  /** Sent as JSON.stringify(arguments); a string is sent as is (to send malformed JSON). */
  arguments: unknown;
}

export type ErrorStatus = 400 | 401 | 403 | 404 | 408 | 409 | 422 | 500 | 502 | 503;

export type Reply =
  /** Assistant text (finish_reason "stop" unless given). */
  | { text: string; finishReason?: FinishReason; usage?: Usage }
  /** Tool calls (finish_reason "tool_calls"), optionally with text before them. */
  | { toolCalls: ToolCallReply[]; text?: string; usage?: Usage }
  /** Structured output: content is JSON.stringify(json). */
  | { json: unknown; usage?: Usage }
  /** Rate limit: OpenAI's body, `retry-after` (whole seconds, rounded up) and `retry-after-ms`. */
  | { status: 429; retryAfterSeconds?: number; message?: string; type?: string; code?: string }
  /** Any other error status with OpenAI's error body (defaults per status). */
  | { status: ErrorStatus; message?: string; type?: string; code?: string | null; param?: string | null }
  /** No answer until the client aborts; a streaming request first gets the role chunk and `partial` text. */
  | { hang: true; partial?: string }
  /** The connection is destroyed without any response (a network failure). */
  | { drop: true };

export type Responder = (request: ChatCompletionRequest, index: number) => Reply | Promise<Reply>;

/** How the exchange for a request ended. */
export type Outcome = 'completed' | 'aborted' | 'dropped';

export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

export interface ServerOptions {
  /** When set, requests must carry `Authorization: Bearer <apiKey>` (else 401 as OpenAI answers). */
  apiKey?: string;
  /** When set, other models get OpenAI's 404 model_not_found; listed by GET /v1/models (default: one model, any accepted). */
  models?: string[];
}

export const DEFAULT_MODEL = 'gpt-4o-mini';

/** The text of a message's content (string, or the text parts joined). */
export function textOf(content: ChatMessage['content']): string {
  if (content == null) return '';
  if (typeof content === 'string') return content;
  return content.map((part) => ('text' in part && typeof part.text === 'string' ? part.text : '')).join('');
}

export class OpenAICompatibleServer {
  /** Valid chat-completion requests, in arrival order (headers lower-cased as Node gives them). */
  readonly requests: ChatRequestRecord[] = [];
  /** Requests answered with an error before any reply was taken (they consume no queued reply). */
  readonly rejected: RejectedRequest[] = [];
  private readonly queue: Reply[] = [];
  private responder: Responder | undefined;
  private readonly outcomes: Promise<Outcome>[] = [];
  private waiters: { count: number; resolve: () => void; reject: (error: Error) => void }[] = [];
  private sequence = 0;
  private closed = false;

  private constructor(
    private readonly server: http.Server,
    /** http://127.0.0.1:PORT */
    readonly origin: string,
    private readonly options: ServerOptions,
  ) {}

  static async start(options: ServerOptions = {}): Promise<OpenAICompatibleServer> {
    const server = http.createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        api.handle(request, Buffer.concat(chunks).toString('utf8'), response).catch((error: unknown) => {
          if (!response.headersSent) sendError(response, 500, serverError(`loopback OpenAI server failed: ${String(error)}`));
          else response.destroy();
        });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    // Requests arrive only once the server listens, after `api` is set.
    const api = new OpenAICompatibleServer(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`, options);
    return api;
  }

  /** The base URL to give the client: http://127.0.0.1:PORT/v1 */
  get baseURL(): string {
    return `${this.origin}/v1`;
  }

  /** Replies for the next requests, in order (used before the responder). */
  /** Drops the replies still queued (a test that failed half-way must not feed the next one). */
  clearQueue(): void {
    this.queue.length = 0;
  }

  enqueue(...replies: Reply[]): void {
    this.queue.push(...replies);
  }

  /** Picks the reply for each request once the queue is empty; `index` counts valid requests from 0. */
  respondWith(responder: Responder | undefined): void {
    this.responder = responder;
  }

  /** Replies still queued. */
  get pending(): number {
    return this.queue.length;
  }

  /** Resolves once `count` valid chat-completion requests have arrived (rejects if the server closes first). */
  waitForRequests(count: number): Promise<void> {
    if (this.requests.length >= count) return Promise.resolve();
    if (this.closed) return Promise.reject(new Error('loopback OpenAI server is closed'));
    return new Promise((resolve, reject) => this.waiters.push({ count, resolve, reject }));
  }

  /** How the exchange for requests[index] ended (event-driven; resolves when the response finishes or the client goes away). */
  outcome(index: number): Promise<Outcome> {
    return this.waitForRequests(index + 1).then(() => at(this.outcomes, index));
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const waiter of this.waiters) waiter.reject(new Error('loopback OpenAI server closed'));
    this.waiters = [];
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // -------------------------------------------------------------------------------------------

  private async handle(request: http.IncomingMessage, raw: string, response: http.ServerResponse): Promise<void> {
    const method = request.method ?? 'GET';
    const path = (request.url ?? '/').replace(/\?.*$/, '').replace(/\/+$/, '');
    const reject = (status: number, body: OpenAIErrorBody, headers: Record<string, string> = {}) => {
      this.rejected.push({ method, path, status, raw, error: body.error });
      sendError(response, status, body, headers);
    };

    const route = `${method} ${path}`;
    if (route !== 'POST /v1/chat/completions' && route !== 'GET /v1/models') {
      return reject(404, openAIError(`Invalid URL (${method} ${path})`, 'invalid_request_error'));
    }
    const authProblem = this.authProblem(request.headers.authorization);
    if (authProblem) return reject(401, authProblem);
    if (route === 'GET /v1/models') {
      const data = (this.options.models ?? [DEFAULT_MODEL]).map((id) => ({
        id,
        object: 'model',
        created: 1_700_000_000,
        owned_by: 'system',
      }));
      return sendJson(response, 200, { object: 'list', data });
    }

    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      return reject(
        400,
        openAIError(
          "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON. If you have trouble figuring out how to fix this, please contact us through our help center at help.openai.com.)",
          'invalid_request_error',
        ),
      );
    }
    const parsed = ChatCompletionRequestSchema.safeParse(json, { reportInput: true });
    if (!parsed.success) return reject(400, zodProblem(parsed.error));
    const body = parsed.data;
    const problem = requestProblem(body);
    if (problem) return reject(400, problem);
    if (this.options.models && !this.options.models.includes(body.model)) {
      return reject(
        404,
        openAIError(
          `The model \`${body.model}\` does not exist or you do not have access to it.`,
          'invalid_request_error',
          null,
          'model_not_found',
        ),
      );
    }

    const index = this.requests.length;
    this.requests.push({ body, headers: flatHeaders(request.headers) });
    let settle!: (outcome: Outcome) => void;
    this.outcomes.push(new Promise<Outcome>((resolve) => (settle = resolve)));
    response.on('close', () => settle(response.writableFinished ? 'completed' : 'aborted'));
    if (response.destroyed) settle('aborted');
    this.waiters = this.waiters.filter((waiter) => {
      if (this.requests.length < waiter.count) return true;
      waiter.resolve();
      return false;
    });

    const reply = this.queue.shift() ?? (await this.responder?.(body, index));
    if (response.destroyed) return;
    if (!reply) {
      return sendError(
        response,
        500,
        serverError(`loopback OpenAI server: no reply queued for request #${index} (enqueue one or set respondWith)`),
      );
    }
    await this.answer(body, reply, response, settle);
  }

  private authProblem(authorization: string | undefined): OpenAIErrorBody | undefined {
    const expected = this.options.apiKey;
    if (expected === undefined) return undefined;
    const key = /^Bearer\s+(.+)$/i.exec(authorization ?? '')?.[1]?.trim();
    if (!key) {
      return openAIError(
        "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), or as the password field (with blank username) if you're accessing the API from your browser and are prompted for a username and password. You can obtain an API key from https://platform.openai.com/account/api-keys.",
        'invalid_request_error',
      );
    }
    if (key !== expected) return invalidApiKey(key);
    return undefined;
  }

  private async answer(
    body: ChatCompletionRequest,
    reply: Reply,
    response: http.ServerResponse,
    settle: (outcome: Outcome) => void,
  ): Promise<void> {
    if ('drop' in reply) {
      settle('dropped');
      response.socket?.destroy();
      return;
    }
    if ('status' in reply) {
      if (reply.status === 429) {
        const seconds = reply.retryAfterSeconds;
        const headers: Record<string, string> =
          seconds === undefined ? {} : { 'retry-after': String(Math.ceil(seconds)), 'retry-after-ms': String(Math.round(seconds * 1000)) };
        const message =
          reply.message ??
          `Rate limit reached for ${body.model} in organization org-loopback on requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in ${seconds ?? 20}s. Visit https://platform.openai.com/account/rate-limits to learn more.`;
        return sendError(response, 429, openAIError(message, reply.type ?? 'requests', null, reply.code ?? 'rate_limit_exceeded'), headers);
      }
      const defaults = ERROR_DEFAULTS[reply.status];
      const error = openAIError(
        reply.message ?? defaults.message,
        reply.type ?? defaults.type,
        'param' in reply ? (reply.param ?? null) : null,
        'code' in reply && reply.code !== undefined ? reply.code : defaults.code,
      );
      return sendError(response, reply.status, error);
    }
    if ('hang' in reply) {
      if (body.stream) {
        const stream = new ChunkWriter(response, this.completionId(), body);
        await stream.send({ role: 'assistant', content: '', refusal: null });
        for (const piece of splitText(reply.partial ?? '')) await stream.send({ content: piece });
      }
      return; // until the client goes away (or close())
    }

    const text = 'json' in reply ? JSON.stringify(reply.json) : (reply.text ?? '');
    const toolCalls =
      'toolCalls' in reply
        ? reply.toolCalls.map((call) => ({
            id: call.id ?? `call_${++this.sequence}`,
            name: call.name,
            arguments: typeof call.arguments === 'string' ? call.arguments : JSON.stringify(call.arguments),
          }))
        : [];
    const finishReason = toolCalls.length > 0 ? 'tool_calls' : ('finishReason' in reply && reply.finishReason) || 'stop';
    const usage = toUsage(reply.usage ?? estimateUsage(body, text, toolCalls));
    const id = this.completionId();

    if (!body.stream) {
      return sendJson(response, 200, {
        id,
        object: 'chat.completion',
        created: nowSeconds(),
        model: body.model,
        choices: [
          {
            index: 0,
            message: {
              role: 'assistant',
              content: toolCalls.length > 0 && text === '' ? null : text,
              ...(toolCalls.length > 0 && {
                tool_calls: toolCalls.map((call) => ({
                  id: call.id,
                  type: 'function',
                  function: { name: call.name, arguments: call.arguments },
                })),
              }),
              refusal: null,
              annotations: [],
            },
            logprobs: null,
            finish_reason: finishReason,
          },
        ],
        usage,
        service_tier: 'default',
        system_fingerprint: 'fp_loopback',
      });
    }

    const stream = new ChunkWriter(response, id, body);
    if (text !== '' || toolCalls.length === 0) {
      await stream.send({ role: 'assistant', content: '', refusal: null });
      for (const piece of splitText(text)) await stream.send({ content: piece });
    }
    for (const [index, call] of toolCalls.entries()) {
      const head = { index, id: call.id, type: 'function', function: { name: call.name, arguments: '' } };
      await stream.send(
        index === 0 && text === '' ? { role: 'assistant', content: null, tool_calls: [head], refusal: null } : { tool_calls: [head] },
      );
      for (const fragment of splitArguments(call.arguments))
        await stream.send({ tool_calls: [{ index, function: { arguments: fragment } }] });
    }
    await stream.send({}, finishReason);
    if (body.stream_options?.include_usage) await stream.usage(usage);
    stream.done();
  }

  private completionId(): string {
    return `chatcmpl-loopback${++this.sequence}`;
  }
}

// ---------------------------------------------------------------------------------------------
// Streaming

/** Writes `data: {chunk}\n\n` events, yielding to the event loop between them so they arrive as separate reads. */
class ChunkWriter {
  private readonly created = nowSeconds();
  private readonly includeUsage: boolean;

  constructor(
    private readonly response: http.ServerResponse,
    private readonly id: string,
    private readonly body: ChatCompletionRequest,
  ) {
    this.includeUsage = body.stream_options?.include_usage === true;
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      'x-request-id': `req_${id}`,
    });
    response.flushHeaders();
  }

  async send(delta: Record<string, unknown>, finishReason: string | null = null): Promise<void> {
    await this.write({
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
      ...(this.includeUsage && { usage: null }),
    });
  }

  async usage(usage: OpenAIUsage): Promise<void> {
    await this.write({ choices: [], usage });
  }

  done(): void {
    if (!this.response.destroyed) this.response.end('data: [DONE]\n\n');
  }

  private async write(fields: Record<string, unknown>): Promise<void> {
    if (this.response.destroyed) return;
    const chunk = {
      id: this.id,
      object: 'chat.completion.chunk',
      created: this.created,
      model: this.body.model,
      service_tier: 'default',
      system_fingerprint: 'fp_loopback',
      ...fields,
    };
    this.response.write(`data: ${JSON.stringify(chunk)}\n\n`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** Words with their trailing whitespace (a single word is halved), so streamed text always takes several chunks. */
function splitText(text: string): string[] {
  const words = text.match(/\s*\S+\s*|\s+/g) ?? [];
  if (words.length !== 1) return words;
  const chars = Array.from(text);
  if (chars.length < 2) return words;
  const middle = Math.ceil(chars.length / 2);
  return [chars.slice(0, middle).join(''), chars.slice(middle).join('')];
}

/** Argument JSON in fragments of a few characters, as OpenAI streams them. */
function splitArguments(json: string): string[] {
  const chars = Array.from(json);
  const fragments: string[] = [];
  for (let i = 0; i < chars.length; i += 7) fragments.push(chars.slice(i, i + 7).join(''));
  return fragments;
}

// ---------------------------------------------------------------------------------------------
// Validation beyond the schema: OpenAI's cross-field rules

function requestProblem(body: ChatCompletionRequest): OpenAIErrorBody | undefined {
  if (body.stream_options != null && body.stream !== true) {
    return openAIError(
      "The 'stream_options' parameter is only allowed when 'stream' is enabled.",
      'invalid_request_error',
      'stream_options',
    );
  }
  if (body.tool_choice !== undefined && body.tools === undefined) {
    return openAIError(
      "Invalid value for 'tool_choice': 'tool_choice' is only allowed when 'tools' are specified.",
      'invalid_request_error',
      'tool_choice',
    );
  }
  if (
    typeof body.tool_choice === 'object' &&
    !body.tools?.some((tool) => tool.function.name === (body.tool_choice as { function: { name: string } }).function.name)
  ) {
    return openAIError(
      `Invalid value for 'tool_choice': function '${body.tool_choice.function.name}' is not among the tools.`,
      'invalid_request_error',
      'tool_choice',
    );
  }
  const messages = messagesProblem(body.messages);
  if (messages) return messages;
  for (const [i, tool] of (body.tools ?? []).entries()) {
    const parameters = tool.function.parameters;
    if (parameters === undefined) continue;
    const problem =
      parameters.type !== 'object' ? rootTypeProblem(parameters) : tool.function.strict ? strictSchemaProblem(parameters, []) : undefined;
    if (problem)
      return openAIError(
        `Invalid schema for function '${tool.function.name}': ${problem}`,
        'invalid_request_error',
        `tools[${i}].function.parameters`,
        'invalid_function_parameters',
      );
  }
  const format = body.response_format;
  if (format?.type === 'json_object' && !body.messages.some((message) => /json/i.test(textOf(message.content)))) {
    return openAIError(
      "'messages' must contain the word 'json' in some form, to use 'response_format' of type 'json_object'.",
      'invalid_request_error',
      'messages',
    );
  }
  if (format?.type === 'json_schema' && format.json_schema.strict && format.json_schema.schema) {
    const schema = format.json_schema.schema;
    const problem = schema.type !== 'object' ? rootTypeProblem(schema) : strictSchemaProblem(schema, []);
    if (problem)
      return openAIError(
        `Invalid schema for response_format '${format.json_schema.name}': ${problem}`,
        'invalid_request_error',
        'response_format',
        'invalid_json_schema',
      );
  }
  return undefined;
}

/** Every assistant tool call is answered by a tool message right after it, and every tool message answers one. */
function messagesProblem(messages: ChatMessage[]): OpenAIErrorBody | undefined {
  let open: { index: number; ids: Set<string>; unanswered: Set<string> } | undefined;
  const unanswered = (block: NonNullable<typeof open>) =>
    openAIError(
      `An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: ${[...block.unanswered].join(', ')}`,
      'invalid_request_error',
      `messages.[${block.index}].role`,
    );
  for (const [index, message] of messages.entries()) {
    if (message.role === 'tool') {
      if (!open) {
        return openAIError(
          "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.",
          'invalid_request_error',
          `messages.[${index}].role`,
        );
      }
      if (!open.ids.has(message.tool_call_id)) {
        return openAIError(
          `Invalid parameter: 'tool_call_id' of '${message.tool_call_id}' not found in 'tool_calls' of previous message.`,
          'invalid_request_error',
          `messages.[${index}].tool_call_id`,
        );
      }
      open.unanswered.delete(message.tool_call_id);
      continue;
    }
    if (open && open.unanswered.size > 0) return unanswered(open);
    open = undefined;
    if (message.role === 'assistant') {
      if (message.content == null && message.tool_calls === undefined) {
        return openAIError(
          "Invalid value for 'content': expected a string, got null.",
          'invalid_request_error',
          `messages.[${index}].content`,
        );
      }
      if (message.tool_calls) {
        const ids = new Set(message.tool_calls.map((call) => call.id));
        open = { index, ids, unanswered: new Set(ids) };
      }
    }
  }
  if (open && open.unanswered.size > 0) return unanswered(open);
  return undefined;
}

function rootTypeProblem(schema: Record<string, unknown>): string {
  return `schema must be a JSON Schema of 'type: "object"', got 'type: "${typeof schema.type === 'string' ? schema.type : 'None'}"'.`;
}

/** OpenAI's strict-mode rules: every object has additionalProperties: false and requires all of its properties. */
function strictSchemaProblem(schema: unknown, context: string[]): string | undefined {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) return undefined;
  const node = schema as Record<string, unknown>;
  const where = `In context=(${context.map((part) => `'${part}'`).join(', ')}${context.length === 1 ? ',' : ''})`;
  const types = Array.isArray(node.type) ? node.type : [node.type];
  if (types.includes('object') || node.properties !== undefined) {
    if (node.additionalProperties !== false) return `${where}, 'additionalProperties' is required to be supplied and to be false.`;
    const properties = (node.properties ?? {}) as Record<string, unknown>;
    const required = Array.isArray(node.required) ? node.required : [];
    const missing = Object.keys(properties).find((key) => !required.includes(key));
    if (missing !== undefined)
      return `${where}, 'required' is required to be supplied and to be an array including every key in properties. Missing '${missing}'.`;
    for (const [key, value] of Object.entries(properties)) {
      const problem = strictSchemaProblem(value, [...context, 'properties', key]);
      if (problem) return problem;
    }
  }
  const children: [string[], unknown][] = [];
  if (node.items !== undefined) children.push([[...context, 'items'], node.items]);
  for (const key of ['anyOf', 'allOf', 'oneOf'] as const) {
    if (Array.isArray(node[key])) (node[key] as unknown[]).forEach((child, i) => children.push([[...context, key, String(i)], child]));
  }
  for (const key of ['$defs', 'definitions'] as const) {
    const defs = node[key];
    if (typeof defs === 'object' && defs !== null)
      for (const [name, child] of Object.entries(defs)) children.push([[...context, key, name], child]);
  }
  for (const [childContext, child] of children) {
    const problem = strictSchemaProblem(child, childContext);
    if (problem) return problem;
  }
  return undefined;
}

/** The first schema issue, phrased the way OpenAI phrases its validation errors. */
function zodProblem(error: z.ZodError): OpenAIErrorBody {
  const issue = firstIssue(error);
  const param = issue.path.reduce<string>(
    (path, key) => (typeof key === 'number' ? `${path}[${key}]` : path ? `${path}.${String(key)}` : String(key)),
    '',
  );
  const input = (issue as { input?: unknown }).input;
  if (issue.code === 'invalid_type' && input === undefined) {
    return openAIError(`Missing required parameter: '${param}'.`, 'invalid_request_error', param, 'missing_required_parameter');
  }
  if (issue.code === 'invalid_type') {
    return openAIError(
      `Invalid type for '${param}': expected ${issue.expected}, but got ${jsonType(input)} instead.`,
      'invalid_request_error',
      param,
      'invalid_type',
    );
  }
  if (issue.code === 'too_small' && Array.isArray(input) && input.length === 0) {
    return openAIError(
      `Invalid '${param}': empty array. Expected an array with minimum length 1, but got an empty array instead.`,
      'invalid_request_error',
      param,
      'empty_array',
    );
  }
  if (issue.code === 'invalid_union' && 'note' in issue && issue.note === 'No matching discriminator') {
    return openAIError(
      `Invalid value: '${String(input === undefined ? '' : JSON.stringify(input))}' at '${param}'. ${issue.message}`,
      'invalid_request_error',
      param,
      'invalid_value',
    );
  }
  return openAIError(`Invalid '${param}': ${issue.message}.`, 'invalid_request_error', param, 'invalid_value');
}

function jsonType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'number') return Number.isInteger(value) ? 'an integer' : 'a decimal';
  if (typeof value === 'boolean') return 'a boolean';
  return `a ${typeof value}`;
}

// ---------------------------------------------------------------------------------------------
// Responses

interface OpenAIUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details: { cached_tokens: number; audio_tokens: number };
  completion_tokens_details: {
    reasoning_tokens: number;
    audio_tokens: number;
    accepted_prediction_tokens: number;
    rejected_prediction_tokens: number;
  };
}

function toUsage({ promptTokens, completionTokens }: Usage): OpenAIUsage {
  return {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
  };
}

/** About four characters a token: the prompt's messages and tools in, the text and tool calls out. */
export function estimateUsage(
  body: Pick<ChatCompletionRequest, 'messages' | 'tools'>,
  text: string,
  toolCalls: { name: string; arguments: string }[] = [],
): Usage {
  const tokens = (chars: number) => Math.max(1, Math.ceil(chars / 4));
  const prompt = JSON.stringify(body.messages).length + (body.tools ? JSON.stringify(body.tools).length : 0);
  const completion = text.length + toolCalls.reduce((sum, call) => sum + call.name.length + call.arguments.length, 0);
  return { promptTokens: tokens(prompt), completionTokens: tokens(completion) };
}

const ERROR_DEFAULTS: Record<ErrorStatus, { message: string; type: string; code: string | null }> = {
  400: { message: 'Bad request.', type: 'invalid_request_error', code: null },
  401: {
    message: 'Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.',
    type: 'invalid_request_error',
    code: 'invalid_api_key',
  },
  403: { message: 'You are not allowed to sample from this model', type: 'invalid_request_error', code: null },
  404: { message: 'The model does not exist or you do not have access to it.', type: 'invalid_request_error', code: 'model_not_found' },
  408: { message: 'Request timed out.', type: 'server_error', code: null },
  409: { message: 'Conflict.', type: 'invalid_request_error', code: null },
  422: { message: 'Unprocessable entity.', type: 'invalid_request_error', code: null },
  500: { message: 'The server had an error while processing your request. Sorry about that!', type: 'server_error', code: null },
  502: { message: 'Bad gateway.', type: 'server_error', code: null },
  503: { message: 'The server is overloaded or not ready yet.', type: 'server_error', code: null },
};

function openAIError(message: string, type: string, param: string | null = null, code: string | null = null): OpenAIErrorBody {
  return { error: { message, type, param, code } };
}

function serverError(message: string): OpenAIErrorBody {
  return openAIError(message, 'server_error');
}

function invalidApiKey(key: string): OpenAIErrorBody {
  const masked = key.length > 8 ? `${key.slice(0, 3)}${'*'.repeat(key.length - 7)}${key.slice(-4)}` : key;
  return openAIError(
    `Incorrect API key provided: ${masked}. You can find your API key at https://platform.openai.com/account/api-keys.`,
    'invalid_request_error',
    null,
    'invalid_api_key',
  );
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

function flatHeaders(headers: http.IncomingHttpHeaders): Record<string, string | undefined> {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, Array.isArray(value) ? value.join(', ') : value]));
}

function sendJson(response: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(text)),
    'x-request-id': `req_loopback${Date.now()}`,
    ...headers,
  });
  response.end(text);
}

function sendError(response: http.ServerResponse, status: number, body: OpenAIErrorBody, headers: Record<string, string> = {}): void {
  if (response.destroyed) return;
  sendJson(response, status, body, headers);
}
