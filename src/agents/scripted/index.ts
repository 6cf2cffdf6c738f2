/** The scripted agent: a deterministic backend that plays a JSON script (see ./script.ts for the format). */
export { ScriptedAgent } from './agent';
export {
  AgentScript,
  ScriptedFailure,
  ScriptedPlan,
  ScriptedReply,
  ScriptedStep,
  loadScript,
  parseScript,
  type AgentScriptInput,
} from './script';
