/**
 * The scripted agent: a backend that plays an AgentScript. It is what the demo runs and what the
 * tests drive, so it is strictly deterministic: the same request (and attempt) always gives the
 * same result, with no randomness and nothing read from the clock. Delays only pace the answer.
 */
import {
  AgentError,
  type Agent,
  type CallOptions,
  type PlanRequest,
  type PlanResult,
  type ReplyRequest,
  type ReplyResult,
  type StepRequest,
  type StepResult,
  type SummarizeRequest,
  type SummaryResult,
} from '../agent';
import { loadScript, parseScript, type AgentScript, type AgentScriptInput, type ScriptedFailure, type ScriptedStep } from './script';

/** Well under any sensible heartbeat timeout, so even a tight one never trips during a delay. */
const HEARTBEAT_EVERY_MS = 500;

/** What placeholders in script text are filled from. */
interface TemplateFacts {
  prompt: string;
  title: string;
  context: Record<string, string>;
  stepCount: number;
  /** Only replies have a message; elsewhere `{message}` stays as written. */
  message?: string;
}

export class ScriptedAgent implements Agent {
  readonly name: string;
  readonly script: AgentScript;
  private readonly replies: { pattern: RegExp; reply: string }[];

  /** Validates the script again, so a hand-built object gets the same checks as a file. */
  constructor(script: AgentScriptInput) {
    this.script = parseScript(script);
    this.name = `scripted:${this.script.name}`;
    this.replies = this.script.replies.map((r) => ({ pattern: new RegExp(r.match, 'i'), reply: r.reply }));
  }

  static fromFile(path: string): ScriptedAgent {
    return new ScriptedAgent(loadScript(path));
  }

  async plan(request: PlanRequest, options: CallOptions): Promise<PlanResult> {
    await wait(this.script.planDelayMs, options, `planning round ${request.round}`);
    failIfScripted(this.script.planFailures, options.attempt);

    const { question, plans } = this.script;
    if (question !== undefined && request.round === 1) {
      return { kind: 'question', question: render(question, { ...facts(request), stepCount: 0 }) };
    }
    const planRound = question !== undefined ? request.round - 1 : request.round;
    const plan = plans[Math.min(planRound, plans.length) - 1]!;
    const templateFacts = { ...facts(request), stepCount: plan.steps.length };
    return {
      kind: 'plan',
      ...(plan.title !== undefined && { title: render(plan.title, templateFacts) }),
      steps: plan.steps.map((step) => ({
        title: render(step.title, templateFacts),
        description: render(step.description, templateFacts),
      })),
    };
  }

  async executeStep(request: StepRequest, options: CallOptions): Promise<StepResult> {
    const templateFacts = { ...facts(request), stepCount: request.plan.steps.length };
    const step = this.findStep(request, templateFacts);
    await wait(step.delayMs, options, `step ${request.step.index + 1}: ${request.step.title}`);
    failIfScripted(step.failures, options.attempt);
    const { result } = step;
    return {
      ...(result.title !== undefined && { title: render(result.title, templateFacts) }),
      description: render(result.description, templateFacts),
      // Cloned so a caller that mutates a result cannot change what the next run returns.
      artifacts: structuredClone(result.artifacts),
    };
  }

  async reply(request: ReplyRequest, options: CallOptions): Promise<ReplyResult> {
    await wait(this.script.replyDelayMs, options, 'replying');
    const reply = this.replies.find((r) => r.pattern.test(request.message))?.reply ?? this.script.defaultReply;
    return {
      message: render(reply, { ...facts(request), stepCount: request.plan?.steps.length ?? 0, message: request.message }),
    };
  }

  async summarize(request: SummarizeRequest, options: CallOptions): Promise<SummaryResult> {
    await wait(0, options, 'summarizing');
    return {
      summary: render(this.script.summary, { ...facts(request), stepCount: request.plan.steps.length }),
      outputs: structuredClone(this.script.outputs),
    };
  }

  /**
   * A step request carries the plan, not the round it came from, so the scripted step is found by
   * rendering each scripted plan with the same facts and comparing step titles: first a plan whose
   * titles all match (identical plans resolve to the first), then any step with the same title.
   * Failing permanently otherwise is deliberate: it means the script changed under a running
   * session, and guessing would make a test pass for the wrong reason.
   */
  private findStep(request: StepRequest, templateFacts: TemplateFacts): ScriptedStep {
    const wanted = request.plan.steps.map((s) => s.title);
    for (const plan of this.script.plans) {
      const titles = plan.steps.map((s) => render(s.title, { ...templateFacts, stepCount: plan.steps.length }));
      if (titles.length === wanted.length && titles.every((t, i) => t === wanted[i])) {
        const step = plan.steps[request.step.index];
        if (step && titles[request.step.index] === request.step.title) return step;
      }
    }
    for (const plan of this.script.plans) {
      const step = plan.steps.find((s) => render(s.title, { ...templateFacts, stepCount: plan.steps.length }) === request.step.title);
      if (step) return step;
    }
    throw new AgentError(`script "${this.script.name}" has no step titled "${request.step.title}"`, {
      retryable: false,
      code: 'ScriptMismatch',
    });
  }
}

function facts(request: { prompt: string; title: string; context: Record<string, string> }): Omit<TemplateFacts, 'stepCount'> {
  return { prompt: request.prompt, title: request.title, context: request.context };
}

const PLACEHOLDER = /\{(prompt|title|message|stepCount|context\.([^{}]+))\}/g;

function render(template: string, templateFacts: TemplateFacts): string {
  return template.replace(PLACEHOLDER, (whole, name: string, key: string | undefined) => {
    if (key !== undefined) return Object.hasOwn(templateFacts.context, key) ? templateFacts.context[key]! : '';
    switch (name) {
      case 'prompt':
        return templateFacts.prompt;
      case 'title':
        return templateFacts.title;
      case 'stepCount':
        return String(templateFacts.stepCount);
      default:
        return templateFacts.message ?? whole;
    }
  });
}

function failIfScripted(failures: readonly ScriptedFailure[], attempt: number): void {
  const failure = failures.find((f) => f.attempt === attempt);
  if (failure) {
    throw new AgentError(failure.message, {
      retryable: failure.kind === 'transient',
      code: failure.kind === 'stepFailed' ? 'StepFailed' : undefined,
    });
  }
}

/**
 * Sleeps for `ms`, heartbeating throughout, and rejects as soon as the signal aborts. A call whose
 * signal is already aborted rejects even with no delay: a cancelled call must not produce a result.
 */
function wait(ms: number, options: CallOptions, what: string): Promise<void> {
  const { signal } = options;
  if (signal.aborted) return Promise.reject(abortReason(signal));
  if (ms <= 0) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    options.heartbeat(what);
    const cleanup = () => {
      clearTimeout(timer);
      clearInterval(ticker);
      signal.removeEventListener('abort', onAbort);
    };
    const onAbort = () => {
      cleanup();
      reject(abortReason(signal));
    };
    const timer = setTimeout(() => {
      cleanup();
      resolve();
    }, ms);
    const ticker = setInterval(() => options.heartbeat(what), HEARTBEAT_EVERY_MS);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}
