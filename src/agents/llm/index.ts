/** The LLM agent: any model the Vercel AI SDK reaches, working through reviewed tool calls. */
export { LlmAgent, type LlmAgentOptions } from './agent';
export { LlmBackendConfig, CommandTool, PROVIDERS, DEFAULT_API_KEY_ENV, type LlmBackendConfigInput } from './config';
export { createLanguageModel } from './provider';
export { toAgentError, retryAfterMs } from './provider-errors';
export { createTools, checkArguments, type AgentTool } from './tools';
export { TranscriptStore } from './transcripts';
