/** The language model the configuration names, built with its provider's official AI SDK package. */
import { createAnthropic } from '@ai-sdk/anthropic';
import { createGoogleGenerativeAI } from '@ai-sdk/google';
import { createOpenAI } from '@ai-sdk/openai';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import type { LanguageModel } from 'ai';
import { AgentError } from '../agent';
import { DEFAULT_API_KEY_ENV, type LlmBackendConfig } from './config';

export function createLanguageModel(config: LlmBackendConfig, env: NodeJS.ProcessEnv = process.env): LanguageModel {
  const keyEnv = config.apiKeyEnv ?? DEFAULT_API_KEY_ENV[config.provider];
  const apiKey = keyEnv ? env[keyEnv] : undefined;
  if (keyEnv && !apiKey && config.provider !== 'openai-compatible') {
    throw new AgentError(`the ${config.provider} provider needs an API key in the environment variable ${keyEnv}`, {
      retryable: false,
      code: 'AgentUnauthorized',
    });
  }
  const baseURL = config.baseURL;
  switch (config.provider) {
    case 'openai':
      // Chat Completions: the API every OpenAI-compatible server speaks too.
      return createOpenAI({ apiKey, baseURL }).chat(config.model);
    case 'anthropic':
      return createAnthropic({ apiKey, baseURL })(config.model);
    case 'google':
      return createGoogleGenerativeAI({ apiKey, baseURL })(config.model);
    case 'openai-compatible':
      return createOpenAICompatible({
        name: 'openai-compatible',
        baseURL: baseURL!,
        apiKey,
        // Usage in streams (for budgets), and plans as json_schema rather than bare json_object mode.
        includeUsage: true,
        supportsStructuredOutputs: config.structuredOutputs,
      })(config.model);
  }
}
