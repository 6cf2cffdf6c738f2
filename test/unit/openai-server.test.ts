/**
 * The loopback OpenAI chat-completions server, driven by the real Vercel AI SDK clients
 * (`@ai-sdk/openai-compatible` and `@ai-sdk/openai` `.chat()`), plus a few raw requests for the
 * parts of the wire format a client hides (chunk shapes, error bodies, routes).
 */
import { createOpenAI } from '@ai-sdk/openai';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { APICallError, generateText, NoOutputGeneratedError, Output, stepCountIs, streamText, tool, type ModelMessage } from 'ai';
import { z } from 'zod';
import { OpenAICompatibleServer, textOf } from '../support/openai-server';
import { at } from '../support/at';

const API_KEY = 'sk-loopback-test-key';

let server: OpenAICompatibleServer;

// The warnings a test provokes are asserted through result.warnings, not printed.
let logWarnings: typeof globalThis.AI_SDK_LOG_WARNINGS;
beforeAll(() => {
  logWarnings = globalThis.AI_SDK_LOG_WARNINGS;
  globalThis.AI_SDK_LOG_WARNINGS = false;
});
afterAll(() => {
  globalThis.AI_SDK_LOG_WARNINGS = logWarnings;
});

beforeEach(async () => {
  server = await OpenAICompatibleServer.start({ apiKey: API_KEY });
});

afterEach(async () => {
  await server.close();
});

function compatible(options: { includeUsage?: boolean; supportsStructuredOutputs?: boolean; apiKey?: string } = {}) {
  return createOpenAICompatible({ name: 'loopback', baseURL: server.baseURL, apiKey: API_KEY, ...options })('loopback-model');
}

function openaiChat(model = 'gpt-4o-mini') {
  return createOpenAI({ baseURL: server.baseURL, apiKey: API_KEY }).chat(model);
}

const weatherTool = tool({
  description: 'Current weather in a city',
  inputSchema: z.object({ city: z.string(), unit: z.enum(['celsius', 'fahrenheit']) }),
});

/** The `data:` payloads of an SSE body. */
function sseData(body: string): string[] {
  return body
    .split('\n\n')
    .filter((event) => event.startsWith('data: '))
    .map((event) => event.slice('data: '.length));
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('text', () => {
  it('answers generateText with the queued text and usage, and records what the client sent', async () => {
    server.enqueue({ text: 'Hello from the loopback.', usage: { promptTokens: 12, completionTokens: 5 } });

    const result = await generateText({
      model: compatible(),
      system: 'Be brief.',
      prompt: 'Say hello',
      maxRetries: 0,
      temperature: 0.3,
      maxOutputTokens: 50,
    });

    expect(result.text).toBe('Hello from the loopback.');
    expect(result.finishReason).toBe('stop');
    expect(result.usage).toMatchObject({ inputTokens: 12, outputTokens: 5, totalTokens: 17 });
    expect(result.response.id).toMatch(/^chatcmpl-/);
    expect(result.response.modelId).toBe('loopback-model');

    expect(server.requests).toHaveLength(1);
    const { body, headers } = at(server.requests, 0);
    expect(body).toMatchObject({
      model: 'loopback-model',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Say hello' },
      ],
      temperature: 0.3,
      max_tokens: 50,
    });
    expect(body.stream).toBeUndefined();
    expect(headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(headers['content-type']).toContain('application/json');
  });

  it('estimates usage deterministically when the reply gives none', async () => {
    server.enqueue({ text: 'twelve chars' }, { text: 'twelve chars' });
    const first = await generateText({ model: compatible(), prompt: 'same prompt', maxRetries: 0 });
    const second = await generateText({ model: compatible(), prompt: 'same prompt', maxRetries: 0 });
    expect(first.usage.outputTokens).toBe(3);
    expect(first.usage.inputTokens).toBeGreaterThan(0);
    expect(second.usage).toMatchObject({ inputTokens: first.usage.inputTokens, outputTokens: first.usage.outputTokens });
  });

  it('streams text in several chunks; usage reaches the client when it asks for it (includeUsage)', async () => {
    server.enqueue({ text: 'The quick brown fox jumps.', usage: { promptTokens: 9, completionTokens: 6 } });

    const result = streamText({ model: compatible({ includeUsage: true }), prompt: 'A sentence, please', maxRetries: 0 });
    const pieces: string[] = [];
    for await (const piece of result.textStream) pieces.push(piece);

    expect(pieces.length).toBeGreaterThan(1);
    expect(pieces.join('')).toBe('The quick brown fox jumps.');
    expect(await result.finishReason).toBe('stop');
    expect(await result.usage).toMatchObject({ inputTokens: 9, outputTokens: 6 });
    expect(server.requests[0]?.body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
  });

  it('gives openai-compatible streams no usage unless includeUsage is set (the client sends no stream_options)', async () => {
    server.enqueue({ text: 'No usage here.' });
    const result = streamText({ model: compatible(), prompt: 'hi', maxRetries: 0 });
    expect(await result.text).toBe('No usage here.');
    expect((await result.usage).inputTokens).toBeUndefined();
    expect(server.requests[0]?.body.stream_options).toBeUndefined();
  });

  it('serves @ai-sdk/openai chat models, streamed (always with include_usage) and not', async () => {
    server.enqueue(
      { text: 'Plain answer.', usage: { promptTokens: 4, completionTokens: 3 } },
      { text: 'Streamed answer here.', usage: { promptTokens: 7, completionTokens: 4 } },
    );

    const plain = await generateText({ model: openaiChat(), prompt: 'one', maxRetries: 0 });
    expect(plain.text).toBe('Plain answer.');
    expect(plain.usage).toMatchObject({ inputTokens: 4, outputTokens: 3 });

    const streamed = streamText({ model: openaiChat(), prompt: 'two', maxRetries: 0 });
    expect(await streamed.text).toBe('Streamed answer here.');
    expect(await streamed.usage).toMatchObject({ inputTokens: 7, outputTokens: 4 });

    expect(server.requests.map((request) => request.body.stream_options)).toEqual([undefined, { include_usage: true }]);
  });

  it('passes a finish reason of "length" through', async () => {
    server.enqueue({ text: 'Cut sho', finishReason: 'length' });
    const result = await generateText({ model: compatible(), prompt: 'long story', maxRetries: 0 });
    expect(result.finishReason).toBe('length');
  });
});

describe('tool calls', () => {
  it('returns tool calls with parsed input, and sees the tool result on the second turn', async () => {
    server.enqueue(
      { toolCalls: [{ id: 'call_weather_1', name: 'get_weather', arguments: { city: 'Oslo', unit: 'celsius' } }] },
      { text: 'It is 3°C in Oslo.' },
    );
    const tools = { get_weather: weatherTool };
    const messages: ModelMessage[] = [{ role: 'user', content: 'Weather in Oslo?' }];

    const first = await generateText({ model: compatible(), messages, tools, maxRetries: 0 });
    expect(first.finishReason).toBe('tool-calls');
    expect(first.toolCalls).toHaveLength(1);
    expect(first.toolCalls[0]).toMatchObject({
      toolCallId: 'call_weather_1',
      toolName: 'get_weather',
      input: { city: 'Oslo', unit: 'celsius' },
    });
    expect(first.toolResults).toEqual([]);

    const { tools: sentTools } = at(server.requests, 0).body;
    expect(sentTools).toEqual([
      {
        type: 'function',
        function: expect.objectContaining({
          name: 'get_weather',
          description: 'Current weather in a city',
          parameters: expect.objectContaining({ type: 'object', required: ['city', 'unit'], additionalProperties: false }),
        }),
      },
    ]);

    messages.push(...first.response.messages, {
      role: 'tool',
      content: [
        { type: 'tool-result', toolCallId: 'call_weather_1', toolName: 'get_weather', output: { type: 'json', value: { temperature: 3 } } },
      ],
    });
    const second = await generateText({ model: compatible(), messages, tools, maxRetries: 0 });
    expect(second.text).toBe('It is 3°C in Oslo.');

    expect(server.requests[1]?.body.messages).toEqual([
      { role: 'user', content: 'Weather in Oslo?' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'call_weather_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo","unit":"celsius"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'call_weather_1', content: '{"temperature":3}' },
    ]);
  });

  it('streams several tool calls the OpenAI way and the client reassembles them', async () => {
    for (const model of [compatible({ includeUsage: true }), openaiChat()]) {
      server.enqueue({
        toolCalls: [
          { name: 'get_weather', arguments: { city: 'Bergen', unit: 'celsius' } },
          { name: 'get_weather', arguments: { city: 'Tromsø', unit: 'fahrenheit' } },
        ],
      });
      const result = streamText({ model, prompt: 'Weather in Bergen and Tromsø?', tools: { get_weather: weatherTool }, maxRetries: 0 });
      const calls = await result.toolCalls;
      expect(calls.map((call) => call.input)).toEqual([
        { city: 'Bergen', unit: 'celsius' },
        { city: 'Tromsø', unit: 'fahrenheit' },
      ]);
      expect(calls.map((call) => call.toolCallId)).toEqual([expect.stringMatching(/^call_/), expect.stringMatching(/^call_/)]);
      expect(new Set(calls.map((call) => call.toolCallId)).size).toBe(2);
      expect(await result.finishReason).toBe('tool-calls');
    }
  });

  it('runs a multi-step tool loop with a responder that answers from the request', async () => {
    server.respondWith((request) => {
      const last = at(request.messages, -1);
      if (last.role === 'tool') return { text: `The tool said ${textOf(last.content)}.` };
      return { toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris', unit: 'celsius' } }] };
    });
    const execute = jest.fn(async ({ city }: { city: string }) => ({ city, temperature: 18 }));

    const result = await generateText({
      model: compatible(),
      prompt: 'Weather in Paris?',
      tools: { get_weather: tool({ ...weatherTool, execute }) },
      stopWhen: stepCountIs(3),
      maxRetries: 0,
    });

    expect(execute).toHaveBeenCalledWith({ city: 'Paris', unit: 'celsius' }, expect.anything());
    expect(result.text).toBe('The tool said {"city":"Paris","temperature":18}.');
    expect(result.steps).toHaveLength(2);
    expect(server.requests).toHaveLength(2);
    const [, assistant, toolMessage] = at(server.requests, 1).body.messages;
    expect(assistant).toMatchObject({ role: 'assistant', tool_calls: [{ id: result.steps[0]?.toolCalls[0]?.toolCallId }] });
    expect(toolMessage).toEqual({
      role: 'tool',
      tool_call_id: result.steps[0]?.toolCalls[0]?.toolCallId,
      content: '{"city":"Paris","temperature":18}',
    });
  });
});

describe('structured output', () => {
  const Verdict = z.object({ severity: z.enum(['low', 'high']), summary: z.string(), actions: z.array(z.string()) });
  const verdict = { severity: 'high', summary: 'Disk full on db-1', actions: ['rotate logs', 'grow volume'] };

  it('answers Output.object with a json_schema response_format (openai-compatible with supportsStructuredOutputs)', async () => {
    server.enqueue({ json: verdict, usage: { promptTokens: 30, completionTokens: 20 } });

    const result = await generateText({
      model: compatible({ supportsStructuredOutputs: true }),
      prompt: 'Assess the alert',
      output: Output.object({ schema: Verdict }),
      maxRetries: 0,
    });

    expect(result.output).toEqual(verdict);
    expect(result.usage).toMatchObject({ inputTokens: 30, outputTokens: 20 });
    expect(server.requests[0]?.body.response_format).toEqual({
      type: 'json_schema',
      json_schema: {
        name: 'response',
        strict: true,
        schema: expect.objectContaining({ type: 'object', required: ['severity', 'summary', 'actions'] }),
      },
    });
  });

  it('streams structured output for @ai-sdk/openai chat models', async () => {
    server.enqueue({ json: verdict });
    const result = streamText({
      model: openaiChat(),
      prompt: 'Assess the alert',
      output: Output.object({ schema: Verdict }),
      maxRetries: 0,
    });
    expect(await result.output).toEqual(verdict);
    expect(server.requests[0]?.body.response_format?.type).toBe('json_schema');
  });

  it("rejects json_object mode (openai-compatible's default) unless the prompt mentions JSON, as OpenAI does", async () => {
    const error = await rejection(
      generateText({ model: compatible(), prompt: 'Assess the alert', output: Output.object({ schema: Verdict }), maxRetries: 0 }),
    );
    expect(APICallError.isInstance(error) && error.statusCode).toBe(400);
    expect((error as APICallError).message).toContain("must contain the word 'json'");
    expect(server.rejected[0]?.raw).toContain('"json_object"');

    server.enqueue({ json: verdict });
    const result = await generateText({
      model: compatible(),
      prompt: 'Assess the alert; answer in JSON',
      output: Output.object({ schema: Verdict }),
      maxRetries: 0,
    });
    expect(result.output).toEqual(verdict);
    expect(result.warnings).toEqual([expect.objectContaining({ type: 'unsupported', feature: 'responseFormat' })]);
    expect(server.requests[0]?.body.response_format).toEqual({ type: 'json_object' });
  });

  it('rejects a strict schema with an optional property, as OpenAI does', async () => {
    const error = await rejection(
      generateText({
        model: openaiChat(),
        prompt: 'x',
        output: Output.object({ schema: z.object({ a: z.string(), b: z.string().optional() }) }),
        maxRetries: 0,
      }),
    );
    expect(APICallError.isInstance(error) && error.statusCode).toBe(400);
    expect((error as APICallError).message).toBe(
      "Invalid schema for response_format 'response': In context=(), 'required' is required to be supplied and to be an array including every key in properties. Missing 'b'.",
    );
    expect(server.requests).toHaveLength(0);
  });
});

describe('errors', () => {
  it("answers 429 with OpenAI's body and Retry-After headers; the client sees a retryable APICallError", async () => {
    server.enqueue({ status: 429, retryAfterSeconds: 7 });

    const error = await rejection(generateText({ model: compatible(), prompt: 'hi', maxRetries: 0 }));

    expect(APICallError.isInstance(error)).toBe(true);
    const apiError = error as APICallError;
    expect(apiError.statusCode).toBe(429);
    expect(apiError.isRetryable).toBe(true);
    expect(apiError.responseHeaders).toMatchObject({ 'retry-after': '7', 'retry-after-ms': '7000' });
    expect(apiError.message).toMatch(/^Rate limit reached for loopback-model/);
    expect(JSON.parse(apiError.responseBody!)).toEqual({
      error: { message: apiError.message, type: 'requests', param: null, code: 'rate_limit_exceeded' },
    });
  });

  it('lets the client retry after retry-after-ms', async () => {
    server.enqueue({ status: 429, retryAfterSeconds: 0.05 }, { text: 'second time lucky' });
    const result = await generateText({ model: openaiChat(), prompt: 'hi', maxRetries: 1 });
    expect(result.text).toBe('second time lucky');
    expect(server.requests).toHaveLength(2);
    expect(await server.outcome(0)).toBe('completed');
  });

  it('surfaces a 429 in a stream through onError, and result.text rejects', async () => {
    server.enqueue({ status: 429, retryAfterSeconds: 1 });
    const errors: unknown[] = [];
    const result = streamText({ model: compatible(), prompt: 'hi', maxRetries: 0, onError: ({ error }) => void errors.push(error) });
    expect(NoOutputGeneratedError.isInstance(await rejection(Promise.resolve(result.text)))).toBe(true);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({
      statusCode: 429,
      isRetryable: true,
      responseHeaders: expect.objectContaining({ 'retry-after': '1' }),
    });
  });

  it('answers a wrong API key with 401 invalid_api_key, not retryable', async () => {
    const error = await rejection(generateText({ model: compatible({ apiKey: 'sk-wrong-key-123456' }), prompt: 'hi', maxRetries: 0 }));

    expect(APICallError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ statusCode: 401, isRetryable: false });
    expect(JSON.parse((error as APICallError).responseBody!)).toEqual({
      error: {
        message:
          'Incorrect API key provided: sk-************3456. You can find your API key at https://platform.openai.com/account/api-keys.',
        type: 'invalid_request_error',
        param: null,
        code: 'invalid_api_key',
      },
    });
    expect(server.requests).toHaveLength(0);
    expect(server.rejected).toMatchObject([{ status: 401, path: '/v1/chat/completions', error: { code: 'invalid_api_key' } }]);
  });

  it('answers a missing API key with 401', async () => {
    const model = createOpenAICompatible({ name: 'loopback', baseURL: server.baseURL })('loopback-model');
    const error = await rejection(generateText({ model, prompt: 'hi', maxRetries: 0 }));
    expect(error).toMatchObject({ statusCode: 401, isRetryable: false });
    expect((error as APICallError).message).toMatch(/^You didn't provide an API key/);
  });

  it.each([
    [500, true, 'server_error'],
    [503, true, 'server_error'],
    [400, false, 'invalid_request_error'],
    [404, false, 'invalid_request_error'],
  ] as const)("answers a queued %i in OpenAI's error shape (retryable: %s)", async (status, retryable, type) => {
    server.enqueue({ status, message: `boom ${status}` });
    const error = await rejection(generateText({ model: openaiChat(), prompt: 'hi', maxRetries: 0 }));
    expect(error).toMatchObject({ statusCode: status, isRetryable: retryable, message: `boom ${status}` });
    expect(JSON.parse((error as APICallError).responseBody!)).toMatchObject({ error: { message: `boom ${status}`, type, param: null } });
  });

  it('answers 500 when no reply is queued, saying so', async () => {
    const error = await rejection(generateText({ model: compatible(), prompt: 'hi', maxRetries: 0 }));
    expect(error).toMatchObject({ statusCode: 500 });
    expect((error as APICallError).message).toContain('no reply queued for request #0');
  });

  it('drops the connection on demand', async () => {
    server.enqueue({ drop: true });
    const error = await rejection(generateText({ model: compatible(), prompt: 'hi', maxRetries: 0 }));
    // Outside jest the client turns this into a retryable APICallError("Cannot connect to API: other
    // side closed"). Under jest, fetch's TypeError belongs to Node's realm, not the test's, so
    // provider-utils' `instanceof TypeError` misses it and the raw TypeError surfaces (ai won't retry it).
    if (APICallError.isInstance(error))
      expect(error).toMatchObject({ isRetryable: true, message: 'Cannot connect to API: other side closed' });
    else
      expect(error).toMatchObject({
        name: 'TypeError',
        message: 'fetch failed',
        cause: expect.objectContaining({ message: 'other side closed' }),
      });
    expect(await server.outcome(0)).toBe('dropped');
  });
});

describe('cancellation', () => {
  it('hangs until generateText is aborted', async () => {
    server.enqueue({ hang: true });
    const controller = new AbortController();
    const pending = rejection(generateText({ model: compatible(), prompt: 'hi', maxRetries: 0, abortSignal: controller.signal }));

    await server.waitForRequests(1);
    controller.abort();

    expect(await pending).toMatchObject({ name: 'AbortError' });
    expect(await server.outcome(0)).toBe('aborted');
  });

  it('hangs a stream after partial text until streamText is aborted', async () => {
    server.enqueue({ hang: true, partial: 'Thinking about it' });
    const controller = new AbortController();
    const result = streamText({ model: compatible(), prompt: 'hi', maxRetries: 0, abortSignal: controller.signal });

    let seen = '';
    for await (const piece of result.textStream) {
      seen += piece;
      if (seen === 'Thinking about it') controller.abort();
    }

    expect(seen).toBe('Thinking about it');
    expect(await rejection(Promise.resolve(result.text))).toMatchObject({ name: 'AbortError' });
    expect(await server.outcome(0)).toBe('aborted');
  });

  it('holds a reply until the test releases it (a responder returning a promise)', async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    server.respondWith(async () => {
      await released;
      return { text: 'released' };
    });

    const pending = generateText({ model: compatible(), prompt: 'wait for it', maxRetries: 0 });
    await server.waitForRequests(1);
    expect(server.requests[0]?.body.messages).toEqual([{ role: 'user', content: 'wait for it' }]);
    release();
    expect((await pending).text).toBe('released');
  });

  it('rejects waiters when the server closes', async () => {
    const waiting = server.waitForRequests(1);
    await server.close();
    await expect(waiting).rejects.toThrow('closed');
    server = await OpenAICompatibleServer.start(); // for afterEach
  });
});

describe('request validation', () => {
  it('rejects an invalid tool name sent by the real client with 400', async () => {
    const error = await rejection(
      generateText({ model: openaiChat(), prompt: 'hi', tools: { 'get weather': weatherTool }, maxRetries: 0 }),
    );
    expect(error).toMatchObject({ statusCode: 400, isRetryable: false });
    expect(JSON.parse((error as APICallError).responseBody!)).toMatchObject({
      error: { type: 'invalid_request_error', param: 'tools[0].function.name', code: 'invalid_value' },
    });
    expect(server.rejected).toHaveLength(1);
  });

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the response body, read by path in assertions
  async function post(body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: any }> {
    const response = await fetch(`${server.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: response.status, json: await response.json() };
  }

  const user = { role: 'user', content: 'hi' };
  const assistantCall = {
    role: 'assistant',
    content: null,
    tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{}' } }],
  };

  it.each([
    ['invalid JSON', '{"model":', null, /could not parse the JSON body/],
    ['missing model', { messages: [user] }, 'model', /^Missing required parameter: 'model'\.$/],
    ['empty messages', { model: 'm', messages: [] }, 'messages', /empty array/],
    ['unknown role', { model: 'm', messages: [{ role: 'bot', content: 'hi' }] }, 'messages[0].role', /Invalid value/],
    ['wrong content type', { model: 'm', messages: [{ role: 'user', content: 42 }] }, 'messages[0].content', /Invalid/],
    [
      'tool message without a preceding tool call',
      { model: 'm', messages: [user, { role: 'tool', tool_call_id: 'call_1', content: 'x' }] },
      'messages.[1].role',
      /must be a response to a preceeding message with 'tool_calls'/,
    ],
    [
      'tool message without tool_call_id',
      { model: 'm', messages: [user, assistantCall, { role: 'tool', content: 'x' }] },
      'messages[2].tool_call_id',
      /Missing required parameter/,
    ],
    [
      'unanswered tool call',
      { model: 'm', messages: [user, assistantCall, user] },
      'messages.[1].role',
      /did not have response messages: call_1$/,
    ],
    [
      'tool call without arguments string',
      {
        model: 'm',
        messages: [user, { ...assistantCall, tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: {} } }] }],
      },
      'messages[1].tool_calls[0].function.arguments',
      /Invalid type/,
    ],
    [
      'tool without type function',
      { model: 'm', messages: [user], tools: [{ type: 'code', function: { name: 'f', parameters: { type: 'object' } } }] },
      'tools[0].type',
      /Invalid/,
    ],
    [
      'tool parameters not an object schema',
      { model: 'm', messages: [user], tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'string' } } }] },
      'tools[0].function.parameters',
      /schema must be a JSON Schema of 'type: "object"'/,
    ],
    [
      'stream_options without stream',
      { model: 'm', messages: [user], stream_options: { include_usage: true } },
      'stream_options',
      /only allowed when 'stream' is enabled/,
    ],
    ['temperature above 2', { model: 'm', messages: [user], temperature: 3 }, 'temperature', /Invalid 'temperature'/],
    ['max_tokens not an integer', { model: 'm', messages: [user], max_completion_tokens: 1.5 }, 'max_completion_tokens', /Invalid type/],
    [
      'unknown response_format',
      { model: 'm', messages: [user], response_format: { type: 'xml' } },
      'response_format.type',
      /Invalid value/,
    ],
  ])("rejects %s with 400 in OpenAI's error shape", async (_name, body, param, message) => {
    const { status, json } = await post(body);
    expect(status).toBe(400);
    expect(Object.keys(json)).toEqual(['error']);
    expect(Object.keys(json.error)).toEqual(['message', 'type', 'param', 'code']);
    expect(json.error).toMatchObject({ message: expect.stringMatching(message), type: 'invalid_request_error', param });
    expect(json.error.code === null || typeof json.error.code === 'string').toBe(true);
    expect(server.requests).toHaveLength(0);
  });
});

describe('wire format', () => {
  it('streams chunks like OpenAI: role first, text pieces, finish_reason, a usage chunk with no choices, [DONE]', async () => {
    server.enqueue({ text: 'one two three', usage: { promptTokens: 3, completionTokens: 3 } });
    const response = await fetch(`${server.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: 'count' }],
        stream: true,
        stream_options: { include_usage: true },
      }),
    });
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const data = sseData(await response.text());

    expect(data[data.length - 1]).toBe('[DONE]');
    const chunks = data.slice(0, -1).map((line) => JSON.parse(line));
    for (const chunk of chunks)
      expect(chunk).toMatchObject({ id: chunks[0].id, object: 'chat.completion.chunk', model: 'gpt-4o-mini', created: expect.any(Number) });
    expect(chunks[0].choices[0]).toEqual({
      index: 0,
      delta: { role: 'assistant', content: '', refusal: null },
      logprobs: null,
      finish_reason: null,
    });
    expect(chunks.slice(1, 4).map((chunk) => chunk.choices[0].delta.content)).toEqual(['one ', 'two ', 'three']);
    expect(chunks[4].choices[0]).toMatchObject({ delta: {}, finish_reason: 'stop' });
    expect(chunks[4].usage).toBeNull();
    expect(chunks[5]).toMatchObject({ choices: [], usage: { prompt_tokens: 3, completion_tokens: 3, total_tokens: 6 } });
    expect(chunks).toHaveLength(6);
  });

  it('streams tool calls like OpenAI: index+id+type+name first, then index+argument fragments', async () => {
    server.enqueue({ toolCalls: [{ id: 'call_a', name: 'lookup', arguments: { query: 'disk usage on db-1' } }] });
    const response = await fetch(`${server.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        model: 'm',
        messages: [{ role: 'user', content: 'q' }],
        stream: true,
        tools: [
          { type: 'function', function: { name: 'lookup', parameters: { type: 'object', properties: { query: { type: 'string' } } } } },
        ],
      }),
    });
    const chunks = sseData(await response.text())
      .slice(0, -1)
      .map((line) => JSON.parse(line));
    const deltas = chunks.map((chunk) => chunk.choices[0]);

    expect(deltas[0].delta).toEqual({
      role: 'assistant',
      content: null,
      tool_calls: [{ index: 0, id: 'call_a', type: 'function', function: { name: 'lookup', arguments: '' } }],
      refusal: null,
    });
    const fragments = deltas.slice(1, -1).map((choice) => choice.delta.tool_calls[0]);
    expect(fragments.length).toBeGreaterThan(1);
    for (const fragment of fragments) expect(Object.keys(fragment).sort()).toEqual(['function', 'index']);
    expect(fragments.map((fragment) => fragment.function.arguments).join('')).toBe('{"query":"disk usage on db-1"}');
    expect(deltas[deltas.length - 1]).toMatchObject({ delta: {}, finish_reason: 'tool_calls' });
    expect(chunks.every((chunk) => !('usage' in chunk))).toBe(true);
  });

  it('answers non-streaming tool calls in the chat.completion shape', async () => {
    server.enqueue({ toolCalls: [{ name: 'lookup', arguments: { q: 1 } }], usage: { promptTokens: 2, completionTokens: 1 } });
    const response = await fetch(`${server.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}` },
      body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'q' }] }),
    });
    expect(await response.json()).toEqual({
      id: expect.stringMatching(/^chatcmpl-/),
      object: 'chat.completion',
      created: expect.any(Number),
      model: 'm',
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: null,
            tool_calls: [{ id: expect.stringMatching(/^call_/), type: 'function', function: { name: 'lookup', arguments: '{"q":1}' } }],
            refusal: null,
            annotations: [],
          },
          logprobs: null,
          finish_reason: 'tool_calls',
        },
      ],
      usage: expect.objectContaining({ prompt_tokens: 2, completion_tokens: 1, total_tokens: 3 }),
      service_tier: 'default',
      system_fingerprint: 'fp_loopback',
    });
  });

  it('lists its model, answers unknown routes with 404, and checks models when told which exist', async () => {
    const auth = { authorization: `Bearer ${API_KEY}` };
    const models = await fetch(`${server.baseURL}/models`, { headers: auth });
    expect(await models.json()).toEqual({
      object: 'list',
      data: [{ id: 'gpt-4o-mini', object: 'model', created: expect.any(Number), owned_by: 'system' }],
    });

    const unknown = await fetch(`${server.baseURL}/completions`, { method: 'POST', headers: auth, body: '{}' });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({
      error: { message: 'Invalid URL (POST /v1/completions)', type: 'invalid_request_error', param: null, code: null },
    });

    const strict = await OpenAICompatibleServer.start({ models: ['gpt-4o'] });
    try {
      const model = createOpenAI({ baseURL: strict.baseURL, apiKey: 'any' }).chat('gpt-5-imaginary');
      const error = await rejection(generateText({ model, prompt: 'hi', maxRetries: 0 }));
      expect(error).toMatchObject({
        statusCode: 404,
        message: 'The model `gpt-5-imaginary` does not exist or you do not have access to it.',
      });
    } finally {
      await strict.close();
    }
  });
});
