/**
 * Picks the agent backend the configuration names. Each backend lives in its own folder under
 * src/backends/ and implements `AgentBackend` (./agent.ts).
 */
import type { AndonConfig } from '../config';
import type { AgentBackend } from './agent';
import { LlmAgent } from './llm';
import { RunbookAgent } from './runbook';
import { ScriptedAgent } from './scripted';

export function createBackend(config: AndonConfig['backend']): AgentBackend {
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
