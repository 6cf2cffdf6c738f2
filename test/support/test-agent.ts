/**
 * The agent tests drive: it plays the scripted agent named by the session's `context.script`
 * (default: `default`), records every call, and can hold a step or a reply until the test
 * releases it, so a test knows exactly what is in flight without timing anything.
 */
import type { Agent, CallOptions, PlanRequest, ReplyRequest, StepRequest, SummarizeRequest } from '../../src/agents/agent';
import { ScriptedAgent, type AgentScriptInput } from '../../src/agents/scripted';

export interface AgentCall {
  sessionId: string;
  what: 'plan' | 'step' | 'reply' | 'summarize';
  attempt: number;
  /** The step's title, for steps. */
  title?: string;
}

interface Hold {
  entered: () => void;
  released?: Promise<void>;
}

export class TestAgent implements Agent {
  readonly name = 'test-agent';
  readonly calls: AgentCall[] = [];
  readonly planRequests: PlanRequest[] = [];
  readonly stepRequests: StepRequest[] = [];
  readonly replyRequests: ReplyRequest[] = [];
  /** The abort signal each step call received, by `sessionId/title`. */
  readonly stepSignals = new Map<string, AbortSignal>();
  private readonly agents: Record<string, Agent>;
  private readonly holds = new Map<string, Hold>();

  constructor(scripts: Record<string, AgentScriptInput | Agent>) {
    this.agents = Object.fromEntries(
      Object.entries(scripts).map(([key, script]) => [key, isBackend(script) ? script : new ScriptedAgent(script)]),
    );
  }

  /** The step titled `title` of session `sessionId`: `entered` resolves when it starts; with `hold`, it waits for `release()`. */
  watchStep(sessionId: string, title: string, hold = true): { entered: Promise<void>; release: () => void } {
    return this.watch(`step:${sessionId}/${title}`, hold);
  }

  /** The reply to `message`: `entered` resolves when the agent starts on it, and it waits for `release()`. */
  hold(message: string): { entered: Promise<void>; release: () => void } {
    return this.watch(`reply:${message}`, true);
  }

  /** A session's calls as `what[:title]#attempt`, in order. */
  callsOf(sessionId: string): string[] {
    return this.calls.filter((c) => c.sessionId === sessionId).map((c) => `${c.what}${c.title ? `:${c.title}` : ''}#${c.attempt}`);
  }

  stepsOf(sessionId: string): string[] {
    return this.stepRequests.filter((r) => r.sessionId === sessionId).map((r) => r.step.title);
  }

  plan(request: PlanRequest, options: CallOptions) {
    this.calls.push({ sessionId: request.sessionId, what: 'plan', attempt: options.attempt });
    this.planRequests.push(request);
    return this.agent(request).plan(request, options);
  }

  async executeStep(request: StepRequest, options: CallOptions) {
    this.calls.push({ sessionId: request.sessionId, what: 'step', attempt: options.attempt, title: request.step.title });
    this.stepRequests.push(request);
    this.stepSignals.set(`${request.sessionId}/${request.step.title}`, options.signal);
    await this.pass(`step:${request.sessionId}/${request.step.title}`);
    return this.agent(request).executeStep(request, options);
  }

  async reply(request: ReplyRequest, options: CallOptions) {
    this.calls.push({ sessionId: request.sessionId, what: 'reply', attempt: options.attempt });
    this.replyRequests.push(request);
    await this.pass(`reply:${request.message}`);
    return this.agent(request).reply(request, options);
  }

  summarize(request: SummarizeRequest, options: CallOptions) {
    this.calls.push({ sessionId: request.sessionId, what: 'summarize', attempt: options.attempt });
    return this.agent(request).summarize(request, options);
  }

  private agent(request: { context: Record<string, string> }): Agent {
    const agent = this.agents[request.context.script ?? 'default'];
    if (!agent) throw new Error(`no script ${request.context.script}`);
    return agent;
  }

  private watch(key: string, hold: boolean): { entered: Promise<void>; release: () => void } {
    let entered!: () => void;
    let release: () => void = () => undefined;
    const enteredPromise = new Promise<void>((resolve) => (entered = resolve));
    const released = hold ? new Promise<void>((resolve) => (release = resolve)) : undefined;
    this.holds.set(key, { entered, released });
    return { entered: enteredPromise, release };
  }

  private async pass(key: string): Promise<void> {
    const hold = this.holds.get(key);
    if (!hold) return;
    this.holds.delete(key);
    hold.entered();
    await hold.released;
  }
}

function isBackend(value: AgentScriptInput | Agent): value is Agent {
  return 'plan' in value && typeof (value as Agent).plan === 'function';
}
