/**
 * Agents: the interface (./agent.ts), how configuration describes one (./agent-config.ts) and the
 * registry a worker holds them in by name (./registry.ts). Each built-in agent lives in its own
 * folder (scripted, runbook, llm) and is made by its factory in AGENT_FACTORIES, the same path a
 * module of your own takes.
 */
import type { Agent } from './agent';
import type { AgentConfigInput } from './agent-config';
import { AgentRegistry } from './registry';

/** Makes one agent from its configuration (a built-in kind or a module), checked like a worker's. */
export async function createAgent(
  name: string,
  config: AgentConfigInput,
  options: { root?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<Agent> {
  return (await AgentRegistry.create({ [name]: config }, options)).resolve(name).agent;
}

export * from './agent';
export * from './agent-config';
export * from './registry';
