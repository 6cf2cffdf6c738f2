/** One tool of the LLM agent: its name and input schema (what the model sees), and how it runs. */
import type { z } from 'zod';

export interface ToolContext {
  signal: AbortSignal;
  heartbeat(details?: unknown): void;
  /** Added to a command's environment: the call's idempotency key and attempt (see idempotencyEnv). */
  env?: Record<string, string>;
  /** Code sessions: the working tree on this worker (request.workspace.path); workspace tools refuse to run without it. */
  workspace?: string;
}

export interface AgentTool {
  name: string;
  description: string;
  input: z.ZodObject;
  /** Every call is reviewed, whatever the plan says. */
  risky: boolean;
  /** Offered only in code sessions (the request has `workspace`): it works in the session's working tree. */
  workspace?: boolean;
  /** It changes files of the working tree: the planner grants it per call, and the change is captured after it. */
  changesFiles?: boolean;
  run(args: Record<string, unknown>, context: ToolContext): Promise<{ ok: boolean; output: string }>;
}
