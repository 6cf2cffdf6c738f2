/**
 * How the configuration describes an agent: one of the built-in kinds (scripted, runbook, llm),
 * each with its own settings, or a module of your own (`{ module, export?, options? }`, kind
 * `module`). The worker turns each entry into an `Agent` when it starts (./registry.ts).
 */
import { z } from 'zod';
import { AgentName } from '../session/schema';
import { JulesBackendConfig } from './jules/config';
import { LlmBackendConfig } from './llm/config';
import { RunbookBackendConfig } from './runbook/config';

export { AgentName };

export const ScriptedAgentConfig = z.object({
  kind: z.literal('scripted'),
  /** The script file the scripted demo/test agent follows. Relative to the project root. */
  script: z.string().min(1).default('scripts/demo.json'),
});

/** An agent of your own, loaded from a module when the worker starts. */
export const ModuleAgentConfig = z.strictObject({
  kind: z.literal('module'),
  /** A file (relative to the project root, or absolute) or a package name. */
  module: z.string().min(1),
  /** The export that is (or makes) the agent. */
  export: z.string().min(1).default('default'),
  /** Passed to the export when it is a factory: `(options, { name, root }) => Agent`. */
  options: z.record(z.string(), z.unknown()).optional(),
});
export type ModuleAgentConfig = z.output<typeof ModuleAgentConfig>;

/** The built-in agents: what the single `backend` section may hold. */
export const BuiltinAgentConfig = z.discriminatedUnion('kind', [
  ScriptedAgentConfig,
  /** The offline runbook agent (./runbook/config.ts); its defaults run the shipped demo. */
  RunbookBackendConfig,
  /** An LLM through the Vercel AI SDK (./llm/config.ts): OpenAI, Anthropic, Google or any OpenAI-compatible API. */
  LlmBackendConfig,
  /** Jules over its REST API (./jules/config.ts): an andon session drives a Jules session. */
  JulesBackendConfig,
]);
export type BuiltinAgentConfig = z.output<typeof BuiltinAgentConfig>;

/** One entry of the `agents` section, as written: `{ module: ... }` needs no `kind`. */
export type AgentConfigInput =
  | z.input<typeof ScriptedAgentConfig>
  | z.input<typeof RunbookBackendConfig>
  | z.input<typeof LlmBackendConfig>
  | z.input<typeof JulesBackendConfig>
  | (Omit<z.input<typeof ModuleAgentConfig>, 'kind'> & { kind?: 'module' });

const AgentConfigSchema = z.discriminatedUnion('kind', [
  ScriptedAgentConfig,
  RunbookBackendConfig,
  LlmBackendConfig,
  JulesBackendConfig,
  ModuleAgentConfig,
]);
export type AgentConfig = z.output<typeof AgentConfigSchema>;

/** One entry of the `agents` section: a built-in kind with its settings, or a module. */
export const AgentConfig: z.ZodType<AgentConfig, AgentConfigInput> = z.preprocess(
  (value) =>
    typeof value === 'object' && value !== null && !Array.isArray(value) && 'module' in value && !('kind' in value)
      ? { ...value, kind: 'module' }
      : value,
  AgentConfigSchema,
) as unknown as z.ZodType<AgentConfig, AgentConfigInput>;

/**
 * The name the single `backend` section is registered under: its kind, or for an LLM its `name`
 * (default `llm`), which was already the key of its agent-scoped memories.
 */
export function backendAgentName(backend: BuiltinAgentConfig): string {
  return backend.kind === 'llm' ? backend.name : backend.kind;
}

/**
 * The agents a configuration registers, by name, and the default one; the problem, naming the
 * field, when it cannot work. `backend` (the single agent of earlier versions) joins the named
 * `agents` under its own name and is the default unless `defaultAgent` names another.
 */
export function configuredAgents(config: {
  backend?: BuiltinAgentConfig;
  agents: Record<string, AgentConfig>;
  defaultAgent?: string;
}): { ok: true; agents: Record<string, AgentConfig>; defaultAgent: string } | { ok: false; field: string; message: string } {
  const agents: Record<string, AgentConfig> = { ...config.agents };
  if (config.backend) {
    const name = backendAgentName(config.backend);
    if (name in agents) {
      return {
        ok: false,
        field: `agents.${name}`,
        message: `"${name}" is already the name of the agent in \`backend\`; rename one of them`,
      };
    }
    agents[name] = config.backend;
  }
  const names = Object.keys(agents);
  if (names.length === 0) return { ok: false, field: 'agents', message: 'no agent is configured: set `agents` (or `backend`)' };
  if (config.defaultAgent !== undefined) {
    if (!(config.defaultAgent in agents)) {
      return { ok: false, field: 'defaultAgent', message: `no agent is named "${config.defaultAgent}" (configured: ${names.join(', ')})` };
    }
    return { ok: true, agents, defaultAgent: config.defaultAgent };
  }
  if (config.backend) return { ok: true, agents, defaultAgent: backendAgentName(config.backend) };
  const [only, ...others] = names;
  if (only !== undefined && others.length === 0) return { ok: true, agents, defaultAgent: only };
  return { ok: false, field: 'defaultAgent', message: `name the agent of sessions that choose none (configured: ${names.join(', ')})` };
}
