/**
 * A worker whose agent is the real LLM agent, talking to a loopback OpenAI-compatible server
 * (openai-server.ts). Tests script the model's replies in order and drive sessions to plans,
 * tool calls and reviews through the real wire protocol.
 */
import { LlmAgent, TranscriptStore, type LlmBackendConfigInput } from '../../src/agents/llm';
import type { SessionClient } from '../../src/client';
import type { Review } from '../../src/session/schema';
import { startHarness, type Harness, type HarnessOptions } from './harness';
import { OpenAICompatibleServer, type Reply } from './openai-server';

export const LLM_KEY = 'sk-andon-loopback';
export const LLM_MODEL = 'gpt-4o-mini';
const T = { timeoutMs: 30_000 };

/** Diagnostics over the demo, and two command tools: `restart` (plain) and `flushCache` (risky). */
export function llmConfig(baseURL: string): LlmBackendConfigInput {
  return {
    kind: 'llm',
    provider: 'openai-compatible',
    model: LLM_MODEL,
    baseURL,
    apiKeyEnv: 'ANDON_TEST_LLM_KEY',
    pricing: { inputPerMillionTokens: 1, outputPerMillionTokens: 4 },
    diagnostics: { workdir: process.cwd(), allowedRoots: ['demo'], readOnlyCommands: ['node demo/bin/status.js'] },
    commands: {
      restart: {
        description: 'Restart a service',
        argv: ['node', '-e', 'console.log("restarted " + process.argv[1])', '{service}'],
        params: { service: 'the service' },
      },
      flushCache: {
        description: 'Flush the cache of a service',
        argv: ['node', '-e', 'console.log("flushed " + process.argv[1])', '{service}'],
        params: { service: 'the service' },
        risky: true,
      },
    },
  };
}

export interface LlmHarness extends Harness {
  server: OpenAICompatibleServer;
  /** Replaces the model's queued replies with these, answered one per request in order. */
  script(...replies: Reply[]): void;
}

export async function startLlmHarness(options: Omit<HarnessOptions, 'agent'> = {}): Promise<LlmHarness> {
  const server = await OpenAICompatibleServer.start({ apiKey: LLM_KEY, models: [LLM_MODEL] });
  const transcripts = TranscriptStore.open(':memory:');
  const agent = new LlmAgent({ config: llmConfig(server.baseURL), env: { ANDON_TEST_LLM_KEY: LLM_KEY }, transcripts });
  const h = await startHarness({ ...options, agent });
  return {
    ...h,
    server,
    script(...replies) {
      server.respondWith(undefined);
      server.clearQueue();
      server.enqueue(...replies);
    },
    async close() {
      await h.close();
      await server.close();
      transcripts.close();
    },
  };
}

/** The model's structured plan: steps and the tool calls each may make without review. */
export function planReply(
  steps: { title: string; tools: { tool: string; arguments?: Record<string, unknown> }[] }[],
  usage = { promptTokens: 300, completionTokens: 100 },
): Reply {
  return {
    json: {
      title: 'Fix checkout-api',
      question: null,
      steps: steps.map((s) => ({
        title: s.title,
        description: `${s.title}.`,
        tools: s.tools.map((t) => ({ tool: t.tool, arguments: t.arguments ? JSON.stringify(t.arguments) : null })),
      })),
    },
    usage,
  };
}

/** The model calls one tool. */
export function toolCallReply(name: string, args: Record<string, unknown>, id?: string): Reply {
  return { toolCalls: [{ id, name, arguments: args }] };
}

/**
 * Starts a session whose one step calls `restart` on the wrong service (outside the plan), and
 * returns it once that call awaits review. After a decision the model says it is done.
 */
export async function sessionAwaitingReview(
  h: LlmHarness,
  config: { prompt?: string; notify?: { slack: { channel: string } } } = {},
): Promise<{ session: SessionClient; review: Review }> {
  h.script(
    planReply([{ title: 'Restart checkout-api', tools: [{ tool: 'restart', arguments: { service: 'checkout-api' } }] }]),
    toolCallReply('restart', { service: 'payments' }),
    { text: 'Restarted.' },
    { text: 'Restarted the service.' },
  );
  const session = await h.andon.session({
    prompt: config.prompt ?? 'restart checkout-api',
    context: { service: 'checkout-api' },
    notify: config.notify,
  });
  await session.waitFor('awaitingPlanApproval', T);
  await session.approve();
  const view = await session.waitFor('awaitingUserFeedback', T);
  const review = view.pendingReviews[0];
  if (!review) throw new Error(`session ${session.id} has no pending review`);
  return { session, review };
}
