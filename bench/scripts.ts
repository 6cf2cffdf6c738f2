/**
 * The agent the benchmarks drive: the demo script (a standard session: plan, approval, five
 * steps, a summary) with every delay set to 0, so the numbers are andon's and Temporal's, not
 * the demo agent's pacing (its steps "work" 350-500 ms and replies 200 ms).
 */
import path from 'node:path';
import type { AgentScript } from '../src/agents/scripted';

export const DEMO_SCRIPT_PATH = path.resolve(__dirname, '../scripts/demo.json');

export function zeroDelays(script: AgentScript): AgentScript {
  return {
    ...script,
    planDelayMs: 0,
    replyDelayMs: 0,
    plans: script.plans.map((plan) => ({ ...plan, steps: plan.steps.map((step) => ({ ...step, delayMs: 0 })) })),
  };
}

/** The name `bench growth` registers a plan of `n` steps under (bench/worker.ts --plan-steps). */
export function stepsAgentName(n: number): string {
  return `steps-${n}`;
}

/** The script with its first plan cut or extended (cycling its steps, numbered) to exactly `n` steps. */
export function withSteps(script: AgentScript, n: number): AgentScript {
  const [first, ...rest] = script.plans;
  if (!first) throw new Error('the script has no plan');
  const steps = Array.from({ length: n }, (_, i) => {
    const step = first.steps[i % first.steps.length]!;
    return i < first.steps.length ? step : { ...step, title: `${step.title} (${i + 1})` };
  });
  return { ...script, plans: [{ ...first, steps }, ...rest] };
}
