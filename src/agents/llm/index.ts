/** The LLM agent: any model the Vercel AI SDK reaches, working through reviewed tool calls. */
export { LlmAgent, type LlmAgentOptions } from './agent';
export {
  LlmBackendConfig,
  CommandTool,
  PROVIDERS,
  DEFAULT_API_KEY_ENV,
  DEFAULT_WORKSPACE_COMMANDS,
  WorkspaceToolsConfig,
  type LlmBackendConfigInput,
} from './config';
export { createLanguageModel } from './provider';
export { toAgentError, retryAfterMs } from './provider-errors';
export { createTools, checkArguments, type AgentTool, type ToolContext } from './tools';
export { WORKSPACE_TOOL_NAMES, compileGlob, createWorkspaceTools } from './workspace-tools';
export { TranscriptStore, openTranscripts, type Transcripts } from './transcripts';
export type { PostgresTranscriptStore, PostgresTranscriptStoreOptions } from './transcripts-postgres';
