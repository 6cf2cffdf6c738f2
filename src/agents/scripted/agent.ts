/**
 * The scripted agent: a backend that plays an AgentScript. It is what the demo runs and what the
 * tests drive, so it is strictly deterministic: the same request (and attempt) always gives the
 * same result, with no randomness and nothing read from the clock. Delays only pace the answer.
 * In code sessions (requests with a working tree) it plays the script's `code` section, whose
 * steps edit files and run commands in that tree (what they change is recorded by the activity).
 */
import { readFile, writeFile } from 'node:fs/promises';
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
  type WorkspaceFacts,
} from '../agent';
import { NotAllowedError, confineToTree, idempotencyEnv, runCommand } from '../runbook/sandbox';
import type { Artifact } from '../../session/schema';
import {
  loadScript,
  parseScript,
  type AgentScript,
  type AgentScriptInput,
  type ScriptedEdit,
  type ScriptedFailure,
  type ScriptedPlan,
  type ScriptedStep,
} from './script';

/** Output kept from a step's command (its tail), as the runbook agent keeps. */
const MAX_OUTPUT_BYTES = 32 * 1024;

/** What a session plays: the script's own plans, or its `code` section in code sessions. */
interface Scenario {
  question?: string;
  plans: ScriptedPlan[];
  replies: { pattern: RegExp; reply: string }[];
  defaultReply: string;
  summary: string;
  outputs: AgentScript['outputs'];
}

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
  private readonly incident: Scenario;
  private readonly code: Scenario;

  /** Validates the script again, so a hand-built object gets the same checks as a file. */
  constructor(script: AgentScriptInput) {
    this.script = parseScript(script);
    this.name = `scripted:${this.script.name}`;
    const compile = (replies: AgentScript['replies']) => replies.map((r) => ({ pattern: new RegExp(r.match, 'i'), reply: r.reply }));
    const { question, plans, replies, defaultReply, summary, outputs, code } = this.script;
    this.incident = { question, plans, replies: compile(replies), defaultReply, summary, outputs };
    this.code = code
      ? {
          plans: code.plans,
          replies: [...compile(code.replies), ...compile(replies)],
          defaultReply: code.defaultReply ?? defaultReply,
          summary: code.summary,
          outputs: code.outputs,
        }
      : this.incident;
  }

  /** Code sessions (the request carries a working tree) play the script's `code` section, when it has one. */
  private scenario(request: { workspace?: WorkspaceFacts }): Scenario {
    return request.workspace ? this.code : this.incident;
  }

  static fromFile(path: string): ScriptedAgent {
    return new ScriptedAgent(loadScript(path));
  }

  async plan(request: PlanRequest, options: CallOptions): Promise<PlanResult> {
    await wait(this.script.planDelayMs, options, `planning round ${request.round}`);
    failIfScripted(this.script.planFailures, options.attempt);

    const { question, plans } = this.scenario(request);
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
    const worked = step.edits.length > 0 || step.run !== undefined ? await this.workInTree(step, request, options) : [];
    const { result } = step;
    return {
      ...(result.title !== undefined && { title: render(result.title, templateFacts) }),
      description: render(result.description, templateFacts),
      // Cloned so a caller that mutates a result cannot change what the next run returns.
      artifacts: [...worked, ...structuredClone(result.artifacts)],
    };
  }

  /** A code step's edits and command, in the session's working tree: the command's real output becomes a bashOutput artifact. */
  private async workInTree(step: ScriptedStep, request: StepRequest, options: CallOptions): Promise<Artifact[]> {
    const tree = request.workspace?.path;
    if (tree === undefined) {
      throw new AgentError(`step "${request.step.title}" works in a working tree, but this session has no source`, {
        retryable: false,
        code: 'ScriptMismatch',
      });
    }
    for (const edit of step.edits) await applyEdit(tree, edit, request.step.title);
    if (!step.run) return [];
    const argv = step.run;
    const result = await runCommand(argv, {
      cwd: tree,
      timeoutMs: step.timeoutMs,
      maxOutputBytes: MAX_OUTPUT_BYTES,
      signal: options.signal,
      heartbeat: options.heartbeat,
      env: idempotencyEnv({ sessionId: request.sessionId, stepId: request.step.id, attempt: options.attempt }),
    });
    const command = argv.join(' ');
    const status = result.spawnError
      ? `could not start: ${result.spawnError}`
      : result.timedOut
        ? `timed out after ${step.timeoutMs} ms`
        : '';
    const artifact: Artifact = {
      type: 'bashOutput',
      command,
      output: status ? `${result.output}\n${status}`.trimStart() : result.output,
      exitCode: result.exitCode ?? -1,
    };
    const passed = result.exitCode === 0;
    if (step.expect !== undefined && passed !== (step.expect === 'pass')) {
      throw new AgentError(
        `step "${request.step.title}": \`${command}\` was expected to ${step.expect} but ${status || `exited with ${result.exitCode}`}:\n${tailLines(artifact.output, 20)}`,
        { retryable: false, code: 'StepFailed' },
      );
    }
    return [artifact];
  }

  async reply(request: ReplyRequest, options: CallOptions): Promise<ReplyResult> {
    await wait(this.script.replyDelayMs, options, 'replying');
    const scenario = this.scenario(request);
    const reply = scenario.replies.find((r) => r.pattern.test(request.message))?.reply ?? scenario.defaultReply;
    return {
      message: render(reply, { ...facts(request), stepCount: request.plan?.steps.length ?? 0, message: request.message }),
    };
  }

  async summarize(request: SummarizeRequest, options: CallOptions): Promise<SummaryResult> {
    await wait(0, options, 'summarizing');
    const scenario = this.scenario(request);
    return {
      summary: render(scenario.summary, { ...facts(request), stepCount: request.plan.steps.length }),
      outputs: structuredClone(scenario.outputs),
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
    const { plans } = this.scenario(request);
    for (const plan of plans) {
      const titles = plan.steps.map((s) => render(s.title, { ...templateFacts, stepCount: plan.steps.length }));
      if (titles.length === wanted.length && titles.every((t, i) => t === wanted[i])) {
        const step = plan.steps[request.step.index];
        if (step && titles[request.step.index] === request.step.title) return step;
      }
    }
    for (const plan of plans) {
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

/**
 * One scripted edit: `find` must occur exactly once. A retried step whose edit is already in the
 * tree (`replace` once, `find` nowhere) goes on, so a step that died after its edit can run again.
 */
async function applyEdit(tree: string, edit: ScriptedEdit, stepTitle: string): Promise<void> {
  const fail = (why: string): never => {
    throw new AgentError(`step "${stepTitle}": cannot edit ${edit.path}: ${why}`, { retryable: false, code: 'StepFailed' });
  };
  const real = await Promise.resolve()
    .then(() => confineToTree(tree, edit.path))
    .catch((error: unknown) => (error instanceof NotAllowedError ? fail(error.message) : Promise.reject(error)));
  const text = await readFile(real, 'utf8').catch((error: NodeJS.ErrnoException) =>
    fail(error.code === 'ENOENT' ? 'no such file in the working tree' : error.message),
  );
  const found = count(text, edit.find);
  // Already done: `replace` is there once and `find` only where `replace` itself holds it.
  const done = count(text, edit.replace) === 1 && found === (edit.replace.includes(edit.find) ? 1 : 0);
  if (edit.replace !== '' && done) return;
  if (found !== 1) fail(found === 0 ? `the text to replace does not occur in it` : `the text to replace occurs ${found} times`);
  const at = text.indexOf(edit.find);
  await writeFile(real, text.slice(0, at) + edit.replace + text.slice(at + edit.find.length));
}

function count(text: string, part: string): number {
  let n = 0;
  for (let at = text.indexOf(part); at !== -1; at = text.indexOf(part, at + part.length)) n++;
  return n;
}

function tailLines(text: string, lines: number): string {
  return text.split('\n').slice(-lines).join('\n');
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
