/**
 * The LLM agent's parts on their own: configuration, provider selection and keys, how provider
 * errors map to retries, the tools' bounds, and the transcript store's idempotent turns.
 */
import { APICallError } from 'ai';
import { AgentError } from '../../src/agents/agent';
import {
  LlmBackendConfig,
  WORKSPACE_TOOL_NAMES,
  checkArguments,
  createLanguageModel,
  createTools,
  retryAfterMs,
  toAgentError,
} from '../../src/agents/llm';
import { loadConfig } from '../../src/config';

const base = { kind: 'llm' as const, provider: 'openai' as const, model: 'gpt-4.1-mini' };
const apiError = (statusCode: number, headers: Record<string, string> = {}) =>
  new APICallError({
    message: `status ${statusCode}`,
    url: 'http://x',
    requestBodyValues: {},
    statusCode,
    responseHeaders: headers,
    isRetryable: statusCode >= 500 || statusCode === 429,
  });

describe('configuration', () => {
  it('needs a base URL for openai-compatible', () => {
    const parsed = LlmBackendConfig.safeParse({ ...base, provider: 'openai-compatible' });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]).toMatchObject({ path: ['baseURL'], message: expect.stringContaining('base URL') });
  });
  it('is chosen by ANDON_BACKEND=llm with provider, model and base URL from the environment', () => {
    const config = loadConfig({
      env: {
        ANDON_BACKEND: 'llm',
        ANDON_LLM_PROVIDER: 'openai-compatible',
        ANDON_LLM_MODEL: 'llama3.1',
        ANDON_LLM_BASE_URL: 'http://127.0.0.1:11434/v1',
      },
    });
    expect(config.backend).toMatchObject({
      kind: 'llm',
      provider: 'openai-compatible',
      model: 'llama3.1',
      baseURL: 'http://127.0.0.1:11434/v1',
    });
    if (config.backend?.kind === 'llm') expect(config.backend.transcripts).toMatch(/transcripts\.db$/);
  });
  it('refuses an unknown provider, naming the field and the variable', () => {
    expect(() => loadConfig({ env: { ANDON_BACKEND: 'llm', ANDON_LLM_PROVIDER: 'acme', ANDON_LLM_MODEL: 'm' } })).toThrow(
      /backend\.provider.*ANDON_LLM_PROVIDER/,
    );
  });
});

describe('provider', () => {
  it('builds each provider, reading the key from the environment only', () => {
    expect(createLanguageModel(LlmBackendConfig.parse(base), { OPENAI_API_KEY: 'k' })).toMatchObject({
      modelId: 'gpt-4.1-mini',
      provider: 'openai.chat',
    });
    expect(
      createLanguageModel(LlmBackendConfig.parse({ ...base, provider: 'anthropic', model: 'claude-sonnet-4-5' }), {
        ANTHROPIC_API_KEY: 'k',
      }),
    ).toMatchObject({ provider: 'anthropic.messages' });
    expect(
      createLanguageModel(LlmBackendConfig.parse({ ...base, provider: 'google', model: 'gemini-2.5-flash' }), {
        GOOGLE_GENERATIVE_AI_API_KEY: 'k',
      }),
    ).toMatchObject({ modelId: 'gemini-2.5-flash' });
    expect(
      createLanguageModel(
        LlmBackendConfig.parse({ ...base, provider: 'openai-compatible', baseURL: 'http://127.0.0.1:1/v1', model: 'llama3.1' }),
        {},
      ),
    ).toMatchObject({ modelId: 'llama3.1' });
  });
  it('fails clearly without a key, naming the variable', () => {
    expect(() => createLanguageModel(LlmBackendConfig.parse(base), {})).toThrow(
      'the openai provider needs an API key in the environment variable OPENAI_API_KEY',
    );
    expect(() => createLanguageModel(LlmBackendConfig.parse({ ...base, apiKeyEnv: 'MY_KEY' }), {})).toThrow(/MY_KEY/);
  });
});

describe('errors', () => {
  it('does not retry bad credentials or refused requests', () => {
    for (const status of [400, 401, 403, 404, 422]) {
      const error = toAgentError(apiError(status), 'openai');
      expect(AgentError.isInstance(error) && error.retryable).toBe(false);
    }
    expect(toAgentError(apiError(401), 'openai')).toMatchObject({ code: 'AgentUnauthorized' });
  });
  it("retries rate limits after the provider's Retry-After, and server errors", () => {
    expect(toAgentError(apiError(429, { 'retry-after': '7' }), 'openai')).toMatchObject({
      retryable: true,
      code: 'AgentRateLimited',
      retryAfterMs: 7_000,
    });
    expect(toAgentError(apiError(429, { 'retry-after-ms': '250', 'retry-after': '1' }), 'openai')).toMatchObject({ retryAfterMs: 250 });
    expect(toAgentError(apiError(503), 'openai')).toMatchObject({ retryable: true, code: 'AgentUnavailable' });
    expect(toAgentError(new TypeError('fetch failed'), 'openai')).toMatchObject({ retryable: true });
  });
  it('reads Retry-After as seconds, milliseconds or a date', () => {
    expect(retryAfterMs({ 'retry-after': '1.5' })).toBe(1_500);
    expect(retryAfterMs({ 'retry-after': new Date(Date.now() + 60_000).toUTCString() })).toBeGreaterThan(50_000);
    expect(retryAfterMs({})).toBeUndefined();
  });
});

describe('tools', () => {
  const config = LlmBackendConfig.parse({
    ...base,
    diagnostics: { workdir: process.cwd(), allowedRoots: ['demo'], readOnlyCommands: ['node demo/bin/status.js'] },
    commands: {
      restart: {
        description: 'Restart',
        argv: ['node', '-e', 'console.log(process.argv[1])', '{service}'],
        params: { service: 'the service' },
      },
    },
    risky: ['restart'],
  });
  const tools = createTools(config);
  const context = { signal: new AbortController().signal, heartbeat: () => undefined };

  it('offers the diagnostics and the configured commands, risky as configured, and the workspace tools of code sessions', () => {
    expect([...tools.values()].filter((t) => !t.workspace).map((t) => t.name)).toEqual([
      'searchLog',
      'httpCheck',
      'runReadOnlyCommand',
      'restart',
    ]);
    expect([...tools.values()].filter((t) => t.workspace).map((t) => t.name)).toEqual([...WORKSPACE_TOOL_NAMES]);
    expect(tools.get('restart')!.risky).toBe(true);
    expect(tools.get('searchLog')!.risky).toBe(false);
  });
  it('refuses a command tool named like a built-in tool', () => {
    expect(() =>
      createTools(
        LlmBackendConfig.parse({ ...base, commands: { readFile: { description: 'x', argv: ['cat', '{file}'], params: { file: 'f' } } } }),
      ),
    ).toThrow('invalid configuration: backend.commands.readFile: "readFile" is the name of a built-in tool; choose another');
  });
  it('confines log reads to the allowed roots', async () => {
    await expect(tools.get('searchLog')!.run({ path: 'package.json', pattern: 'x' }, context)).rejects.toThrow(
      /outside|not under|allowed/i,
    );
    const found = await tools.get('searchLog')!.run({ path: 'demo/logs/checkout-api.log', pattern: 'ERROR' }, context);
    expect(found.output).toMatch(/^\d+ of \d+ lines match \/ERROR\//);
  });
  it('refuses commands outside the allow-list and unsafe parameter values', async () => {
    await expect(tools.get('runReadOnlyCommand')!.run({ argv: ['node', '-e', '1'] }, context)).rejects.toThrow(/readOnlyCommands/);
    expect(checkArguments(tools.get('restart'), 'restart', { service: '--all' })).toMatchObject({ ok: false, field: 'service' });
    expect(checkArguments(undefined, 'nope', {})).toMatchObject({ ok: false, field: '(tool)' });
    const ran = await tools.get('restart')!.run({ service: 'checkout-api' }, context);
    expect(ran).toMatchObject({ ok: true, output: expect.stringContaining('checkout-api') });
  });
  it('refuses a risky entry that names no tool', () => {
    expect(() => createTools(LlmBackendConfig.parse({ ...base, risky: ['nope'] }))).toThrow(/backend\.risky.*nope/);
  });
});
