/**
 * Picks the agent backend the configuration names. Each backend lives in its own folder under
 * src/backends/ and implements `AgentBackend` (./agent.ts).
 */
import type { AgentBackend } from './agent';
import { LlmAgent } from './llm';
import type { LlmBackendConfig } from './llm/config';
import { RunbookAgent } from './runbook';
import type { RunbookBackendConfig } from './runbook/config';
import { ScriptedAgent } from './scripted';

/** The `backend` of the project configuration (src/config/schema.ts), once parsed. */
export type BackendConfig = { kind: 'scripted'; script: string } | RunbookBackendConfig | LlmBackendConfig;

export function createBackend(config: BackendConfig): AgentBackend {
  switch (config.kind) {
    case 'scripted':
      return ScriptedAgent.fromFile(config.script);
    case 'runbook':
      return RunbookAgent.fromConfig(config);
    case 'llm':
      return LlmAgent.fromConfig(config);
  }
}

export * from './agent';
