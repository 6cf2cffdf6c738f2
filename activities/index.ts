/**
 * Session activities: every call to an agent goes through here. Each activity
 * - dispatches to the agent the session chose by name (the request's `agent`; unset: the worker's
 *   default agent); a name the worker does not have fails the session at once, naming it;
 * - heartbeats while the agent works, so a dead worker is noticed within the heartbeat timeout
 *   (plan and executeStep; reply and summarize run as short local activities, which have no heartbeats);
 * - passes Temporal's cancellation signal to the agent, so cancelling a session stops the call;
 * - validates what the agent returns (an agent is a boundary like any other);
 * - turns a permanent agent error into a non-retryable failure, so the session fails with its reason.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { z } from 'zod';
import {
  AgentError,
  AgentEvent,
  ArgumentsCheck,
  MAX_AGENT_EVENTS,
  type AgentEventInput,
  PlanResult,
  ReplyResult,
  StepResult,
  SummaryResult,
  ToolRunResult,
  TurnResult,
  type Agent,
  type CallOptions,
  type PlanRequest,
  type ReplyRequest,
  type StepRequest,
  type SummarizeRequest,
  type ToolRequest,
  type TurnRequest,
} from '../src/agents/agent';
import { UnknownAgentError, type AgentRegistry } from '../src/agents/registry';
import type { MemoryScope, MemoryStore } from '../src/memory/store';
import {
  captureChange,
  openTree,
  prepareWorkspace,
  publishChanges,
  stepChange,
  type CodeChange,
  type CodeContext,
  type CodeWorkspaces,
  type PublishRequest,
} from './workspace';

/** A code session's activity input: the session's tree to open (docs/code-sessions.md); never passed to the agent. */
type WithCode<R> = R & { code?: CodeContext };

type Recalled = { id: string; scope: MemoryScope; content: string; by?: string };

export interface RememberRequest {
  sessionId: string;
  scope: MemoryScope;
  content: string;
  by?: string;
  /** The session's `context.service`, the key of a service memory. */
  service?: string;
  /** The session's agent (unset: the default one): the key of an agent memory. */
  agent?: string;
}

/** A reviewer's edited arguments, for the session's agent to check. */
export interface CheckArgumentsRequest {
  tool: string;
  arguments: Record<string, unknown>;
  agent?: string;
}

export const MEMORY_UNAVAILABLE = 'MemoryUnavailable';
import {
  AGENT_INVALID_OUTPUT,
  AGENT_REJECTED,
  NOTIFY_FAILED,
  SOURCE_UNAVAILABLE as SOURCE_UNAVAILABLE_TYPE,
  UNKNOWN_AGENT,
} from '../src/protocol/failures';
import { agentEventsSignal } from '../src/protocol/messages';
import { NotifyError, type Notification, type Notifier, type NotifyResult, type NotifyTargets } from '../src/notify/notifier';

// Cancellation reaches an activity only in a heartbeat's answer: beat often (the worker throttles
// what it sends to the server), so a cancelled session stops its agent call within seconds.
const HEARTBEAT_EVERY_MS = 1_000;

export function createActivities(
  agents: AgentRegistry,
  notifiers: Partial<Record<keyof NotifyTargets, Notifier>> = {},
  memory?: MemoryStore,
  workspace?: CodeWorkspaces,
) {
  /** The worker's workspaces, for a code session's activity; a worker without them cannot run one. */
  const code = (): CodeWorkspaces => {
    if (!workspace) throw ApplicationFailure.nonRetryable('this worker has no workspace configuration', SOURCE_UNAVAILABLE_TYPE);
    return workspace;
  };
  /** The request with its tree opened (`workspace` set) when the session is a code session. */
  const inTree = async <R extends { sessionId: string }>({ code: context, ...request }: WithCode<R>) => {
    if (!context) return { request: request as unknown as R, tree: undefined };
    const opened = await openTree(code(), request.sessionId, context);
    return { request: { ...request, workspace: opened.facts } as unknown as R, tree: { context, before: opened.tree } };
  };
  /** What the call changed in the tree (executeStep and runTool). */
  const changed = async (
    sessionId: string,
    tree: { context: CodeContext; before: string } | undefined,
  ): Promise<{ change?: CodeChange }> => {
    if (!tree) return {};
    const change = await captureChange(code(), sessionId, tree.context, tree.before);
    return change ? { change } : {};
  };
  return {
    /** Recalls what is remembered about this session, its agent and its service, then plans with it. */
    plan: async (input: WithCode<PlanRequest>): Promise<PlanResult & { recalled?: Recalled[] }> => {
      const { request } = await inTree(input);
      const { name, agent } = resolve(agents, request.agent);
      const recalled: Recalled[] = memory
        ? (
            await memory.recall({
              sessionId: request.sessionId,
              agent: name,
              service: request.context.service,
              text: `${request.title} ${request.prompt}`,
            })
          ).map(({ id, scope, content, by }) => ({ id, scope, content, by }))
        : [];
      const result = await call(
        PlanResult,
        (options) => agent.plan({ ...request, agent: name, memories: recalled }, options),
        request.sessionId,
      );
      return recalled.length > 0 ? { ...result, recalled } : result;
    },
    /** Writes a memory entry; the key of its scope is the session, the session's agent, or the service. */
    remember: async (request: RememberRequest): Promise<{ memoryId: string }> => {
      if (!memory) throw ApplicationFailure.nonRetryable('this worker has no memory store', MEMORY_UNAVAILABLE);
      const key =
        request.scope === 'session' ? request.sessionId : request.scope === 'agent' ? resolve(agents, request.agent).name : request.service;
      if (!key)
        throw ApplicationFailure.nonRetryable('a service memory needs a session whose context names its service', MEMORY_UNAVAILABLE);
      const { id } = await memory.write({
        scope: request.scope,
        key,
        content: request.content,
        by: request.by,
        sessionId: request.sessionId,
      });
      return { memoryId: id };
    },
    /** One step; in a code session, what it changed in the tree comes back as `change`. */
    executeStep: async (input: WithCode<StepRequest>): Promise<StepResult & { change?: CodeChange }> => {
      const { request, tree } = await inTree(input);
      const result = await dispatch(agents, request, (agent, named, options) => agent.executeStep(named, options), StepResult);
      return { ...result, ...(await changed(request.sessionId, tree)) };
    },
    reply: async (input: WithCode<ReplyRequest>) => {
      const { request } = await inTree(input);
      return dispatch(agents, request, (agent, named, options) => agent.reply(named, options), ReplyResult);
    },
    summarize: async (input: WithCode<SummarizeRequest>) => {
      const { request } = await inTree(input);
      return dispatch(agents, request, (agent, named, options) => agent.summarize(named, options), SummaryResult);
    },
    notify: (notification: Notification) => notify(notifiers, notification),
    /** One model call of a step carried out through tools. */
    turn: async (input: WithCode<TurnRequest>) => {
      const { request } = await inTree(input);
      return dispatch(agents, request, (agent, named, options) => toolAgent(agent, named.agent, 'turn').turn!(named, options), TurnResult);
    },
    /** One tool call, allowed by the plan or by a reviewer; in a code session, what it changed comes back as `change`. */
    runTool: async (input: WithCode<ToolRequest>): Promise<ToolRunResult & { change?: CodeChange }> => {
      const { request, tree } = await inTree(input);
      const result = await dispatch(
        agents,
        request,
        (agent, named, options) => toolAgent(agent, named.agent, 'runTool').runTool!(named, options),
        ToolRunResult,
      );
      return { ...result, ...(await changed(request.sessionId, tree)) };
    },
    /** A code session's tree: the source's branch and base commit, fetched into this worker's mirror. */
    prepareWorkspace: (request: { sessionId: string; source: CodeContext['source'] }) => prepareWorkspace(code(), request),
    /** The whole diff of a tool step that changed the tree. */
    stepChange: (request: { sessionId: string; code: CodeContext; patch: string }) => stepChange(code(), request),
    /** Pushes the change (and opens or finds the pull request): idempotent, so retries publish once. */
    publishChanges: (request: PublishRequest) => publishChanges(code(), request),
    /** A reviewer's edited arguments, checked against the tool's schema. */
    checkToolArguments: async (request: CheckArgumentsRequest): Promise<ArgumentsCheck> => {
      const { name, agent } = resolve(agents, request.agent);
      return ArgumentsCheck.parse(toolAgent(agent, name, 'checkToolArguments').checkToolArguments!(request.tool, request.arguments));
    },
  };
}
export type SessionActivities = ReturnType<typeof createActivities>;

/** Hands a notification to the notifier of each of its targets; a target this worker has no notifier for is skipped. */
async function notify(notifiers: Partial<Record<keyof NotifyTargets, Notifier>>, notification: Notification): Promise<NotifyResult> {
  const context = Context.current();
  const result: NotifyResult = {};
  for (const target of Object.keys(notification.targets) as (keyof NotifyTargets)[]) {
    const notifier = notifiers[target];
    if (!notifier) {
      context.log.warn(`no ${target} notifier on this worker: notification ${notification.kind} for ${notification.view.id} skipped`);
      continue;
    }
    try {
      Object.assign(result, await notifier.notify(notification, { signal: context.cancellationSignal, attempt: context.info.attempt }));
    } catch (error) {
      if (!(error instanceof NotifyError)) throw error;
      throw ApplicationFailure.create({
        message: error.message,
        type: NOTIFY_FAILED,
        nonRetryable: !error.options.retryable,
        // A rate limit says when to come back: Temporal waits that long instead of its own backoff.
        nextRetryDelay: error.options.retryAfterMs,
      });
    }
  }
  return result;
}

/** The session's agent by name; a name this worker does not have fails the session, naming it and the registered ones. */
function resolve(agents: AgentRegistry, name: string | undefined): { name: string; agent: Agent } {
  try {
    return agents.resolve(name);
  } catch (error) {
    if (error instanceof UnknownAgentError)
      throw ApplicationFailure.nonRetryable(error.message, UNKNOWN_AGENT, { agent: error.agent, registered: error.registered });
    throw error;
  }
}

/** Calls the session's agent with the request, which then carries the name the agent is registered under. */
function dispatch<R extends { agent?: string; sessionId: string }, S extends z.ZodType>(
  agents: AgentRegistry,
  request: R,
  run: (agent: Agent, request: R & { agent: string }, options: CallOptions) => Promise<unknown>,
  schema: S,
): Promise<z.output<S>> {
  const { name, agent } = resolve(agents, request.agent);
  return call(schema, (options) => run(agent, { ...request, agent: name }, options), request.sessionId);
}

/**
 * Puts an agent's events on its session's timeline now, by signalling the session: checked here
 * first (a bad event fails the call, not the session), in batches the signal accepts.
 */
async function emitEvents(sessionId: string, events: AgentEventInput[]): Promise<void> {
  const parsed = AgentEvent.array().safeParse(events);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw ApplicationFailure.nonRetryable(
      `the agent emitted an invalid event: ${issue?.path.join('.') || '(root)'}: ${issue?.message}`,
      AGENT_INVALID_OUTPUT,
    );
  }
  const handle = Context.current().client.workflow.getHandle(sessionId);
  for (let i = 0; i < parsed.data.length; i += MAX_AGENT_EVENTS) {
    await handle.signal(agentEventsSignal, { events: parsed.data.slice(i, i + MAX_AGENT_EVENTS) });
  }
}

/** The agent, if it works through tools; a plan that grants tools from an agent that has none cannot go on. */
function toolAgent(agent: Agent, name: string, method: 'turn' | 'runTool' | 'checkToolArguments'): Agent {
  if (typeof agent[method] !== 'function') {
    throw ApplicationFailure.nonRetryable(`the ${name} agent does not work through tools (it has no ${method})`, AGENT_REJECTED);
  }
  return agent;
}

async function call<S extends z.ZodType>(
  schema: S,
  run: (options: CallOptions) => Promise<unknown>,
  sessionId: string,
): Promise<z.output<S>> {
  const context = Context.current();
  // The latest details the agent gave (or the last attempt's): every beat carries them, so the
  // ticker's beats never wipe a cursor the agent keeps there.
  let latest: unknown = context.info.heartbeatDetails;
  const heartbeat = context.info.isLocal
    ? () => undefined
    : (details?: unknown) => {
        if (details !== undefined) latest = details;
        context.heartbeat(latest);
      };
  const ticker = setInterval(heartbeat, HEARTBEAT_EVERY_MS);
  try {
    const raw = await run({
      signal: context.cancellationSignal,
      attempt: context.info.attempt,
      heartbeat,
      heartbeatDetails: context.info.heartbeatDetails,
      ...(context.info.isLocal ? {} : { emit: (events: AgentEventInput[]) => emitEvents(sessionId, events) }),
    });
    const parsed = schema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw ApplicationFailure.nonRetryable(
        `the agent backend returned an invalid result: ${issue?.path.join('.') || '(root)'}: ${issue?.message}`,
        AGENT_INVALID_OUTPUT,
      );
    }
    return parsed.data;
  } catch (error) {
    if (AgentError.isInstance(error) && !error.retryable) {
      throw ApplicationFailure.create({ message: error.message, type: AGENT_REJECTED, nonRetryable: true, details: [error.code] });
    }
    if (AgentError.isInstance(error) && error.retryAfterMs !== undefined) {
      // A rate limit says when to come back: Temporal waits that long instead of its own backoff.
      throw ApplicationFailure.create({ message: error.message, type: error.code, nextRetryDelay: error.retryAfterMs });
    }
    throw error;
  } finally {
    clearInterval(ticker);
  }
}
