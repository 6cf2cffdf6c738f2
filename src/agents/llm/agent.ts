/**
 * The LLM agent: plans, steps, replies and summaries by a language model through the Vercel AI
 * SDK. The session workflow drives it one model call at a time (`turn`) and runs each tool call
 * as its own activity (`runTool`), so every call is durable, reviewable and visible in Temporal.
 * The SDK's own retries are off: Temporal owns them (provider-errors.ts says which are worth it).
 */
import {
  Output,
  streamText,
  generateText,
  type LanguageModel,
  type LanguageModelUsage,
  type ModelMessage,
  type ToolSet,
  tool as aiTool,
} from 'ai';
import { z } from 'zod';
import { STEP_FAILED } from '../../protocol/failures';
import {
  AgentError,
  type Agent,
  type ArgumentsCheck,
  type CallOptions,
  type PlanRequest,
  type PlanResult,
  type ReplyRequest,
  type ReplyResult,
  type StepRequest,
  type StepResult,
  type SummarizeRequest,
  type SummaryResult,
  type ToolRequest,
  type ToolRunResult,
  type TurnRequest,
  type TurnResult,
  type WorkspaceFacts,
  formatRecalledMemories,
} from '../agent';
import { NotAllowedError, idempotencyEnv } from '../runbook/sandbox';
import type { Usage } from '../../session/schema';
import { LlmBackendConfig, type LlmBackendConfigInput } from './config';
import { toAgentError } from './provider-errors';
import { createLanguageModel } from './provider';
import { checkArguments, createTools, type AgentTool } from './tools';
import { openTranscripts, type TranscriptStoreOptions, type Transcripts } from './transcripts';

/** How much of a tool's output the timeline gets (the model reads the whole stored output). */
const OUTPUT_HEAD_CHARS = 2_000;

/**
 * The plan the model proposes: steps, and the tool calls each step may make without review.
 * Shaped for strict structured outputs (OpenAI's json_schema mode): every field required, absent
 * values null, and grant arguments as a JSON text, since strict schemas allow no free-form objects.
 */
const ModelPlan = z.object({
  title: z.string().describe('a short title for the plan'),
  question: z.string().nullable().describe('null, unless you cannot plan without an answer from the user; leave steps empty then'),
  steps: z
    .array(
      z.object({
        title: z.string().min(1),
        description: z.string().describe('what the step does and why'),
        tools: z
          .array(
            z.object({
              tool: z.string().describe('the name of a tool this step will call'),
              arguments: z
                .string()
                .nullable()
                .describe(
                  'a JSON object of exactly the arguments the call will have, or null for a call without arguments; a call with other arguments waits for a person',
                ),
            }),
          )
          .describe('every tool call the step needs; calls not listed here wait for a person'),
      }),
    )
    .describe('the steps, in order'),
});

export interface LlmAgentOptions {
  config: LlmBackendConfigInput;
  /** The model; built from the config (provider, model, key from the environment) when not given. */
  model?: LanguageModel;
  transcripts: Transcripts;
  env?: NodeJS.ProcessEnv;
}

export class LlmAgent implements Agent {
  readonly name: string;
  private readonly config: LlmBackendConfig;
  private readonly model: LanguageModel;
  private readonly transcripts: Transcripts;
  readonly tools: ReadonlyMap<string, AgentTool>;

  constructor(options: LlmAgentOptions) {
    this.config = LlmBackendConfig.parse(options.config);
    this.name = this.config.name;
    this.model = options.model ?? createLanguageModel(this.config, options.env);
    this.transcripts = options.transcripts;
    this.tools = createTools(this.config);
  }

  /**
   * `transcripts` is a SQLite file or a `postgres://` URL (shared by every worker); with `encryption`
   * (the configured keys), the transcripts are sealed (docs/encryption.md).
   */
  static fromConfig(config: LlmBackendConfigInput, env: NodeJS.ProcessEnv = process.env, options: TranscriptStoreOptions = {}): LlmAgent {
    const parsed = LlmBackendConfig.parse(config);
    return new LlmAgent({ config: parsed, env, transcripts: openTranscripts(parsed.transcripts ?? 'data/transcripts.db', options) });
  }

  async plan(request: PlanRequest, options: CallOptions): Promise<PlanResult> {
    const { output, usage } = await this.call(
      () =>
        generateText({
          ...this.settings(options),
          system: `${ROLE}\nPlan how to handle the request below, step by step, for a person to approve. ${this.toolCatalogue(request)}`,
          prompt: planPrompt(request),
          output: Output.object({ schema: ModelPlan }),
        }),
      options.signal,
    );
    if (output.question && output.steps.length === 0) return { kind: 'question', question: output.question, usage: this.usage(usage) };
    if (output.steps.length === 0)
      throw new AgentError('the model proposed a plan without steps', { retryable: true, code: 'AgentInvalidOutput' });
    const steps = output.steps.map((step) => ({
      title: step.title,
      description: step.description,
      tools: step.tools.map((grant) => {
        if (!this.toolsFor(request).has(grant.tool))
          throw new AgentError(`the model planned a call of "${grant.tool}", which is not a tool`, {
            retryable: true,
            code: 'AgentInvalidOutput',
          });
        const args = grant.arguments === null || grant.arguments.trim() === '' ? undefined : parseObject(grant.arguments);
        if (args === null)
          throw new AgentError(`the model planned "${grant.tool}" with arguments that are not a JSON object: ${grant.arguments}`, {
            retryable: true,
            code: 'AgentInvalidOutput',
          });
        return args ? { tool: grant.tool, arguments: args } : { tool: grant.tool };
      }),
    }));
    return { kind: 'plan', title: output.title, steps, usage: this.usage(usage) };
  }

  /** Plans from this agent grant tools, so the workflow calls `turn` for its steps; this is for plans from elsewhere. */
  async executeStep(request: StepRequest): Promise<StepResult> {
    throw new AgentError(`step "${request.step.title}" has no tool grants: the LLM agent carries out steps of its own plans only`, {
      retryable: false,
      code: STEP_FAILED,
    });
  }

  async turn(request: TurnRequest, options: CallOptions): Promise<TurnResult> {
    const { sessionId, step } = request;
    if (request.turn >= this.config.maxTurnsPerStep) {
      throw new AgentError(`step "${step.title}" took ${request.turn} model turns without finishing`, {
        retryable: false,
        code: STEP_FAILED,
      });
    }
    const input: ModelMessage[] = request.turn === 0 ? [{ role: 'user', content: stepPrompt(request) }] : [await this.toolResults(request)];
    const messages = [...(await this.transcripts.history(sessionId, step.id, request.turn)), ...input];
    return this.call(async () => {
      const result = streamText({
        ...this.settings(options),
        system: `${ROLE}\nYou are carrying out an approved plan. Call the tools you need; when the step is done, answer with a short report and call no tool. ${this.toolCatalogue(request)}`,
        messages,
        tools: this.aiTools(request),
      });
      // Text streams in here and reaches the timeline in one batch per turn, never token by token through the workflow.
      let text = '';
      for await (const part of result.fullStream) {
        if (part.type === 'text-delta') {
          text += part.text;
          options.heartbeat({ turn: request.turn, chars: text.length });
        } else if (part.type === 'error') {
          throw part.error;
        }
      }
      const [toolCalls, usage, response] = await Promise.all([result.toolCalls, result.usage, result.response]);
      await this.transcripts.saveTurn(sessionId, step.id, request.turn, [...input, ...response.messages]);
      return {
        text,
        toolCalls: toolCalls.map((call) => ({
          id: call.toolCallId,
          tool: call.toolName,
          arguments: isObject(call.input) ? call.input : { input: call.input },
          risky: this.tools.get(call.toolName)?.risky ?? false,
        })),
        usage: this.usage(usage),
      };
    }, options.signal);
  }

  async runTool(request: ToolRequest, options: CallOptions): Promise<ToolRunResult> {
    const { call } = request;
    const tool = this.tools.get(call.tool);
    const check = checkArguments(tool, call.tool, call.arguments);
    let outcome: { ok: boolean; output: string };
    if (!check.ok) outcome = { ok: false, output: `invalid arguments: ${check.field}: ${check.message}` };
    else if (tool!.workspace && !request.workspace)
      outcome = { ok: false, output: `${call.tool} works in a code session's working tree, and this session has none (it has no source)` };
    else {
      try {
        outcome = await tool!.run(check.arguments, {
          signal: options.signal,
          heartbeat: options.heartbeat,
          env: idempotencyEnv({ sessionId: request.sessionId, stepId: request.stepId, callId: call.id, attempt: options.attempt }),
          workspace: request.workspace?.path,
        });
      } catch (error) {
        if (options.signal.aborted) throw error;
        // Refusals and failures of the tool are the model's to read and work around, not the session's.
        if (!(error instanceof NotAllowedError) && !(error instanceof Error && 'code' in error)) throw error;
        outcome = { ok: false, output: error.message };
      }
    }
    await this.transcripts.saveToolOutput(request.sessionId, call.id, outcome.output);
    return { status: outcome.ok ? 'ok' : 'error', output: head(outcome.output) };
  }

  checkToolArguments(tool: string, args: Record<string, unknown>): ArgumentsCheck {
    return checkArguments(this.tools.get(tool), tool, args);
  }

  async reply(request: ReplyRequest, options: CallOptions): Promise<ReplyResult> {
    const { text, usage } = await this.call(
      () =>
        generateText({
          ...this.settings(options),
          system: `${ROLE}\nAnswer the user's message briefly, from the facts of the session below.\n\n${sessionFacts(request)}`,
          messages: [
            ...request.transcript.map((t): ModelMessage =>
              t.role === 'user' ? { role: 'user', content: t.text } : { role: 'assistant', content: t.text },
            ),
            { role: 'user', content: request.message },
          ],
        }),
      options.signal,
    );
    if (!text.trim()) throw new AgentError('the model gave an empty reply', { retryable: true, code: 'AgentInvalidOutput' });
    return { message: text.trim(), usage: this.usage(usage) };
  }

  async summarize(request: SummarizeRequest, options: CallOptions): Promise<SummaryResult> {
    const { text, usage } = await this.call(
      () =>
        generateText({
          ...this.settings(options),
          system: `${ROLE}\nSummarize for the person who approved the plan what was done and what came of it, in a few sentences.`,
          prompt: `${sessionFacts(request)}\n\nOutcomes:\n${request.steps.map((s, i) => `${i + 1}. ${s.title}: ${s.description}`).join('\n')}`,
        }),
      options.signal,
    );
    return { summary: text.trim() || 'Done.', outputs: [], usage: this.usage(usage) };
  }

  async close(): Promise<void> {
    await this.transcripts.close();
  }

  // ---------------------------------------------------------------------------------------------

  private settings(options: CallOptions) {
    return {
      model: this.model,
      // Temporal retries the activity, with backoff and the provider's Retry-After: never both.
      maxRetries: 0,
      abortSignal: options.signal,
      temperature: this.config.temperature,
      maxOutputTokens: this.config.maxOutputTokens,
    };
  }

  private async call<T>(run: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    try {
      return await run();
    } catch (error) {
      // Cancelled by Temporal: that is no provider failure, and must not be retried as one.
      if (signal?.aborted) throw signal.reason ?? error;
      throw toAgentError(error, this.config.provider);
    }
  }

  /** The tools a call may use: the workspace tools only in code sessions (the request has a working tree). */
  private toolsFor(request: { workspace?: WorkspaceFacts }): Map<string, AgentTool> {
    return new Map([...this.tools].filter(([, t]) => !t.workspace || request.workspace !== undefined));
  }

  /** Tools as the model sees them: schema and description, no execute function (the workflow decides what runs). */
  private aiTools(request: { workspace?: WorkspaceFacts }): ToolSet {
    return Object.fromEntries(
      [...this.toolsFor(request).values()].map((t) => [t.name, aiTool({ description: t.description, inputSchema: t.input })]),
    );
  }

  private toolCatalogue(request: { workspace?: WorkspaceFacts }): string {
    const tools = [...this.toolsFor(request).values()].map((t) => {
      const marks = [
        t.changesFiles ? 'changes files: grant each call in the step that makes it' : '',
        t.risky ? 'risky: always reviewed' : '',
      ];
      const marked = marks.filter(Boolean).join('; ');
      return `- ${t.name}${marked ? ` (${marked})` : ''}: ${t.description}`;
    });
    return `Tools:\n${tools.join('\n')}`;
  }

  /** The previous turn's tool results, whole from the store where the timeline only has their heads. */
  private async toolResults(request: TurnRequest): Promise<ModelMessage> {
    const whole = await Promise.all(request.toolResults.map((r) => this.transcripts.toolOutput(request.sessionId, r.toolCallId)));
    return {
      role: 'tool',
      content: request.toolResults.map((r, i) => {
        const edited = r.editedArguments ? `(a reviewer changed the arguments to ${JSON.stringify(r.editedArguments)})\n` : '';
        const full = edited + (whole[i] ?? r.output);
        return {
          type: 'tool-result' as const,
          toolCallId: r.toolCallId,
          toolName: r.tool,
          output:
            r.status === 'denied'
              ? { type: 'execution-denied' as const, reason: r.output }
              : r.status === 'error'
                ? { type: 'error-text' as const, value: full }
                : { type: 'text' as const, value: full },
        };
      }),
    };
  }

  private usage(usage: LanguageModelUsage): Usage {
    const inputTokens = usage.inputTokens ?? 0;
    const outputTokens = usage.outputTokens ?? 0;
    const pricing = this.config.pricing;
    const costUsd = pricing ? (inputTokens * pricing.inputPerMillionTokens + outputTokens * pricing.outputPerMillionTokens) / 1e6 : 0;
    return { inputTokens, outputTokens, costUsd };
  }
}

const ROLE =
  'You are andon, an on-call assistant. A person approves your plans and reviews tool calls outside them. Be concise and factual.';

function planPrompt(request: PlanRequest): string {
  const parts = [sessionFacts(request)];
  if (request.memories?.length) parts.push(formatRecalledMemories(request.memories));
  if (request.feedback.length)
    parts.push(`The user's feedback on earlier plans and questions, oldest first:\n${request.feedback.map((f) => `- ${f}`).join('\n')}`);
  if (request.previousPlan) parts.push(`Your previous plan:\n${request.previousPlan.steps.map((s) => `- ${s.title}`).join('\n')}`);
  return parts.join('\n\n');
}

function stepPrompt(request: TurnRequest): string {
  const { plan, step } = request;
  const done = request.previous.map((s) => `- ${s.title}: ${s.description}`).join('\n');
  return [
    sessionFacts(request),
    `Approved plan${plan.title ? ` "${plan.title}"` : ''}:\n${plan.steps.map((s) => `${s.index + 1}. ${s.title}`).join('\n')}`,
    done ? `Done so far:\n${done}` : '',
    `Now carry out step ${step.index + 1}: ${step.title}\n${step.description}\nApproved tool calls: ${JSON.stringify(step.tools ?? [])}`,
  ]
    .filter(Boolean)
    .join('\n\n');
}

function sessionFacts(request: { title: string; prompt: string; context: Record<string, string>; workspace?: WorkspaceFacts }): string {
  const context = Object.entries(request.context)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
  // The tree's path on the worker is no business of the model's: tool paths are relative to its root.
  const tree = request.workspace
    ? `\nRepository: ${request.workspace.source}, working tree at commit ${request.workspace.baseCommit} (branch ${request.workspace.branch}) plus this session's changes; tool paths are relative to its root, and what you change there becomes the session's change set.`
    : '';
  return `Session: ${request.title}\nRequest: ${request.prompt}${context ? `\nContext: ${context}` : ''}${tree}`;
}

function head(text: string): string {
  return text.length <= OUTPUT_HEAD_CHARS
    ? text
    : `${text.slice(0, OUTPUT_HEAD_CHARS)}… (${text.length - OUTPUT_HEAD_CHARS} more characters)`;
}

/** A JSON object from text, or null if the text is not one. */
function parseObject(text: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(text);
    return isObject(value) ? value : null;
  } catch {
    return null;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
