/**
 * The runbook agent: an offline backend that needs no API key. It picks the runbook whose `match`
 * fits the session's labels, investigates with bounded diagnostics, proposes the runbook's steps
 * with the findings as evidence, runs each approved step's command, and answers questions from
 * what the session already knows.
 *
 * It keeps no state between calls (any worker may make the next one), so the approved plan is
 * the contract: each step's description carries the exact command it will run, in words for the
 * approver and as a `runbook-action:` line for executeStep, which checks that line against the
 * runbook it names and the allow-list again before running anything.
 */
import path from 'node:path';
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
  formatRecalledMemories,
} from '../agent';
import type { Plan } from '../../session/schema';
import { RunbookBackendConfig, type RunbookBackendConfigInput } from './config';
import { loadRunbooks } from './files';
import { matchRunbook, parseRunbook, type Diagnostic, type Runbook, type RunbookInput, type RunbookStep } from './runbook';
import {
  NotAllowedError,
  abortReason,
  commandAllowed,
  compilePattern,
  confinePath,
  httpCheck,
  idempotencyEnv,
  runCommand,
  scanLog,
  urlAllowed,
  type CommandResult,
} from './sandbox';
import { checkCommand } from './command-policy';
import { TemplateError, argvMatchesTemplate, formatArgv, renderArgv, renderArg, renderText, type TemplateFacts } from './template';

export interface Finding {
  name: string;
  kind: 'log' | 'http' | 'command';
  /** One line for people. */
  summary: string;
  /** Log excerpts, command output, response body: the lines that back the summary. */
  evidence: string[];
  /** What {findings.NAME.FIELD} placeholders read. */
  values: Record<string, string>;
}

export type RunbookAgentOptions = Omit<RunbookBackendConfigInput, 'kind' | 'runbooks'> & {
  /** A folder of runbook files, or runbooks in memory (tests). */
  runbooks?: string | RunbookInput[];
};

/** The machine-readable line at the end of each step's description. */
const ACTION_PREFIX = 'runbook-action: ';
const FINDINGS_HEADER = 'Findings';
const VERIFY = 'verify';

interface StepAction {
  runbook: string;
  /** The index into the runbook's plan, or "verify". */
  step: number | typeof VERIFY;
  argv?: string[];
  url?: string;
}

export class RunbookAgent implements Agent {
  readonly name = 'runbook';
  readonly runbooks: readonly Runbook[];
  private readonly config: RunbookBackendConfig;
  private readonly workdir: string;

  constructor(options: RunbookAgentOptions = {}) {
    const { runbooks = 'runbooks', ...rest } = options;
    this.config = RunbookBackendConfig.parse({ ...rest, kind: 'runbook', runbooks: typeof runbooks === 'string' ? runbooks : 'inline' });
    this.workdir = path.resolve(this.config.workdir);
    this.runbooks =
      typeof runbooks === 'string' ? loadRunbooks(path.resolve(runbooks)) : runbooks.map((raw, i) => parseRunbook(raw, `runbooks[${i}]`));
  }

  static fromConfig(config: RunbookBackendConfig): RunbookAgent {
    const { kind: _kind, ...options } = config;
    return new RunbookAgent(options);
  }

  async plan(request: PlanRequest, options: CallOptions): Promise<PlanResult> {
    const runbook = this.chooseRunbook(request);
    if (!runbook) return { kind: 'question', question: this.noMatchQuestion(request.context) };

    const findings = await this.investigate(runbook, request.context, options);
    const facts: TemplateFacts = { labels: request.context, findings: Object.fromEntries(findings.map((f) => [f.name, f.values])) };
    const steps = [
      ...runbook.plan.map((step, i) => ({ step, ref: i as StepAction['step'] })),
      { step: runbook.verify, ref: VERIFY as StepAction['step'] },
    ];
    return {
      kind: 'plan',
      title: `${renderText(runbook.title ?? runbook.name, facts)} (runbook ${runbook.name})`,
      steps: steps.map(({ step, ref }, i) => ({
        title: renderText(step.title, facts),
        description: [
          i === 0 ? formatFindings(runbook, findings) : '',
          i === 0 ? formatMemories(request.memories ?? []) : '',
          i === 0 ? formatNotes(runbook, facts) : '',
          renderText(step.description, facts),
          this.actionBlock(runbook, step, ref, facts),
        ]
          .filter((part) => part !== '')
          .join('\n\n'),
      })),
    };
  }

  async executeStep(request: StepRequest, options: CallOptions): Promise<StepResult> {
    const action = parseAction(request.step.description);
    const where = `step ${request.step.index + 1} "${request.step.title}"`;
    if (!action)
      throw new AgentError(`${where} has no runbook action: it was not planned by the runbook agent`, {
        retryable: false,
        code: 'StepNotRunnable',
      });
    const runbook = this.runbooks.find((r) => r.name === action.runbook);
    const step = runbook && (action.step === VERIFY ? runbook.verify : runbook.plan[action.step]);
    if (!step) {
      throw new AgentError(
        `${where} refers to ${action.runbook} ${String(action.step)}, which no loaded runbook has (did the runbooks change?)`,
        {
          retryable: false,
          code: 'StepNotRunnable',
        },
      );
    }

    if ('http' in step.action) {
      const url = action.url ?? '';
      if (!argvMatchesTemplate([url], [step.action.http.url]) || !urlAllowed(url, this.config.httpAllow)) {
        throw new AgentError(`${where}: ${url} is not allowed by runbook ${runbook!.name} and the HTTP allow-list`, {
          retryable: false,
          code: 'NotAllowed',
        });
      }
      const result = await httpCheck(url, {
        expectStatus: step.action.http.expectStatus,
        timeoutMs: this.timeout(step.action.http.timeout),
        signal: options.signal,
      });
      const line = `GET ${url} → ${result.status ?? 'no response'} (expected ${step.action.http.expectStatus})${result.detail ? `: ${result.detail}` : ''}`;
      if (!result.ok) throw new AgentError(`${where} failed: ${line}`, { retryable: false, code: 'StepFailed' });
      return {
        description: `${line}, in ${result.durationMs} ms`,
        artifacts: [{ type: 'bashOutput', command: `GET ${url}`, output: line, exitCode: 0 }],
      };
    }

    const argv = action.argv ?? [];
    if (!argvMatchesTemplate(argv, step.action.command)) {
      throw new AgentError(`${where}: \`${formatArgv(argv)}\` is not what runbook ${runbook!.name} says this step runs`, {
        retryable: false,
        code: 'NotAllowed',
      });
    }
    if (!commandAllowed(argv, this.config.commands)) {
      throw new AgentError(`${where}: \`${formatArgv(argv)}\` is not on the command allow-list`, { retryable: false, code: 'NotAllowed' });
    }
    const timeoutMs = this.timeout(step.action.timeout);
    const env = idempotencyEnv({ sessionId: request.sessionId, stepId: request.step.id, attempt: options.attempt });
    const result = await this.run(argv, timeoutMs, options, env);
    const command = formatArgv(argv);
    const failure = describeFailure(result, timeoutMs);
    if (failure) {
      const output = lastLines(result.output, 10);
      throw new AgentError(`${where} failed: \`${command}\` ${failure}${output ? `\n${output}` : ''}`, {
        retryable: false,
        code: 'StepFailed',
      });
    }
    const last = lastLines(result.output, 1);
    return {
      description: `\`${command}\` exited 0 in ${result.durationMs} ms${last ? `: ${last}` : ''}`,
      artifacts: [{ type: 'bashOutput', command, output: result.output, exitCode: 0 }],
    };
  }

  async reply(request: ReplyRequest, options: CallOptions): Promise<ReplyResult> {
    if (options.signal.aborted) throw abortReason(options.signal);
    const message = request.message.toLowerCase();
    const plan = request.plan;
    if (/\brunbooks?\b/.test(message) && !/\bwhy\b/.test(message)) return { message: this.listRunbooks() };
    if (!plan) {
      return {
        message: `There is no plan yet (the session is ${request.state}). ${this.chooseRunbookName(request.context) ?? 'No runbook matches this alert.'}\n${this.listRunbooks()}`,
      };
    }
    if (/\b(why|finding|findings|evidence|cause|because|investigat)/.test(message)) {
      return { message: findingsOf(plan) ?? `Plan "${plan.title ?? plan.id}" has no findings recorded.` };
    }
    if (/\b(status|progress|where|state|done)\b/.test(message)) {
      const steps = plan.steps.map((s) => `${s.index + 1}. ${s.title}`).join('\n');
      return { message: `The session is ${request.state}. Plan "${plan.title ?? plan.id}" has ${plan.steps.length} steps:\n${steps}` };
    }
    if (/\b(risk|risky|command|commands|run|runs|execute|safe|change)/.test(message)) {
      const commands = plan.steps.map((s) => `${s.index + 1}. ${s.title}: ${commandLine(s.description) ?? 'no command'}`).join('\n');
      return { message: `Each step runs one allow-listed command, with a timeout, no shell and a minimal environment:\n${commands}` };
    }
    return {
      message: `I answer from this session's facts. Ask "why" (the findings and evidence), "status" (the plan and where it stands), "risk" (the commands each step runs) or "runbooks".`,
    };
  }

  async summarize(request: SummarizeRequest, options: CallOptions): Promise<SummaryResult> {
    if (options.signal.aborted) throw abortReason(options.signal);
    const { plan, steps } = request;
    const findings = findingsOf(plan);
    const lines = [`${plan.title ?? 'Runbook plan'}: ${steps.length} of ${plan.steps.length} steps done.`];
    // The summary keeps one line per finding; the evidence stays in the plan.
    if (findings) lines.push('', ...findings.split('\n').filter((line) => !line.startsWith('    ')));
    if (steps.length > 0) lines.push('', 'Steps:', ...steps.map((s) => `- ${s.title}: ${s.description.split('\n')[0]}`));
    return { summary: lines.join('\n'), outputs: [] };
  }

  /** The runbook a request names in its feedback (an answer to our question), else the one matching its labels. */
  private chooseRunbook(request: Pick<PlanRequest, 'context' | 'feedback'>): Runbook | undefined {
    for (const answer of [...request.feedback].reverse()) {
      const named = this.runbooks.find((r) =>
        new RegExp(`(^|[^A-Za-z0-9._-])${escapeRegExp(r.name)}($|[^A-Za-z0-9._-])`, 'i').test(answer),
      );
      if (named) return named;
    }
    return matchRunbook(this.runbooks, request.context);
  }

  private chooseRunbookName(context: Record<string, string>): string | undefined {
    const runbook = matchRunbook(this.runbooks, context);
    return runbook && `Runbook ${runbook.name} matches this alert.`;
  }

  private listRunbooks(): string {
    if (this.runbooks.length === 0) return 'No runbooks are loaded.';
    const lines = this.runbooks.map((r) => {
      const match =
        Object.entries(r.match)
          .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('|') : v}`)
          .join(', ') || 'by name only';
      return `- ${r.name} (${match})${r.description ? `: ${r.description}` : ''}`;
    });
    return `Available runbooks:\n${lines.join('\n')}`;
  }

  private noMatchQuestion(labels: Record<string, string>): string {
    const shown =
      Object.entries(labels)
        .map(([k, v]) => `${k}=${v}`)
        .join(', ') || 'none';
    return `No runbook matches this alert (labels: ${shown}). ${this.listRunbooks()}\nReply with the name of a runbook to use, or cancel the session.`;
  }

  private timeout(requested: number | undefined): number {
    return Math.min(requested ?? this.config.limits.defaultTimeout, this.config.limits.maxTimeout);
  }

  private run(argv: string[], timeoutMs: number, options: CallOptions, env?: Record<string, string>): Promise<CommandResult> {
    return runCommand(argv, {
      env,
      cwd: this.workdir,
      timeoutMs,
      maxOutputBytes: this.config.limits.maxOutputBytes,
      signal: options.signal,
      heartbeat: options.heartbeat,
    });
  }

  /** The approver-facing command line and the machine line executeStep reads back. */
  private actionBlock(runbook: Runbook, step: RunbookStep, ref: StepAction['step'], facts: TemplateFacts): string {
    const where = `runbook ${runbook.name}, ${ref === VERIFY ? 'verify' : `plan step ${ref + 1}`}`;
    try {
      if ('http' in step.action) {
        const url = renderArg(step.action.http.url, facts);
        if (!urlAllowed(url, this.config.httpAllow)) throw new NotAllowedError(`${url} is not on the HTTP allow-list`);
        const action: StepAction = { runbook: runbook.name, step: ref, url };
        return `Check: GET ${url}, expecting ${step.action.http.expectStatus} (timeout ${formatMs(this.timeout(step.action.http.timeout))})\n${ACTION_PREFIX}${JSON.stringify(action)}`;
      }
      const argv = renderArgv(step.action.command, facts);
      if (!commandAllowed(argv, this.config.commands))
        throw new NotAllowedError(`\`${formatArgv(argv)}\` is not on the command allow-list`);
      const action: StepAction = { runbook: runbook.name, step: ref, argv };
      return `Command: \`${formatArgv(argv)}\` (timeout ${formatMs(this.timeout(step.action.timeout))})\n${ACTION_PREFIX}${JSON.stringify(action)}`;
    } catch (error) {
      if (error instanceof TemplateError || error instanceof NotAllowedError) {
        throw new AgentError(`${where}: ${error.message}`, { retryable: false, code: 'NotAllowed' });
      }
      throw error;
    }
  }

  /** Runs the runbook's diagnostics one after another. A diagnostic that fails or is refused becomes a finding saying so. */
  private async investigate(runbook: Runbook, labels: Record<string, string>, options: CallOptions): Promise<Finding[]> {
    const findings: Finding[] = [];
    for (const diagnostic of runbook.investigate) {
      if (options.signal.aborted) throw abortReason(options.signal);
      options.heartbeat({ investigating: diagnostic.name });
      // Earlier findings may feed later diagnostics ({findings.release.output} in a log path, say).
      const facts: TemplateFacts = { labels, findings: Object.fromEntries(findings.map((f) => [f.name, f.values])) };
      try {
        findings.push(await this.diagnose(diagnostic, facts, options));
      } catch (error) {
        if (options.signal.aborted) throw abortReason(options.signal);
        const refused = error instanceof NotAllowedError || error instanceof TemplateError;
        const kind = 'log' in diagnostic ? 'log' : 'http' in diagnostic ? 'http' : 'command';
        const reason = (error as Error).message;
        findings.push({
          name: diagnostic.name,
          kind,
          summary: `${refused ? 'refused' : 'could not check'}: ${reason}`,
          evidence: [],
          values: { error: reason },
        });
      }
    }
    return findings;
  }

  private async diagnose(diagnostic: Diagnostic, facts: TemplateFacts, options: CallOptions): Promise<Finding> {
    const { name } = diagnostic;
    const { limits } = this.config;
    if ('log' in diagnostic) {
      const { log } = diagnostic;
      const file = renderArg(log.path, facts);
      const real = await confinePath(file, this.config.allowedRoots, this.workdir);
      const maxLines = Math.min(log.maxLines, limits.maxExcerptLines);
      const scan = await scanLog(real, {
        pattern: compilePattern(log.pattern),
        maxBytes: limits.maxLogBytes,
        maxLines,
        sinceLines: log.sinceLines,
      });
      const window = scan.truncated ? ` (last ${formatBytes(limits.maxLogBytes)} only)` : '';
      return {
        name,
        kind: 'log',
        summary: `${scan.count} of the last ${scan.scanned} lines of ${file}${window} match /${log.pattern}/`,
        evidence: scan.excerpt,
        values: { count: String(scan.count), scanned: String(scan.scanned), path: file },
      };
    }
    if ('http' in diagnostic) {
      const { http } = diagnostic;
      const url = renderArg(http.url, facts);
      if (!urlAllowed(url, this.config.httpAllow)) throw new NotAllowedError(`${url} is not on the HTTP allow-list`);
      const result = await httpCheck(url, {
        expectStatus: http.expectStatus,
        timeoutMs: this.timeout(http.timeout),
        signal: options.signal,
      });
      return {
        name,
        kind: 'http',
        summary: `GET ${url} → ${result.status ?? 'no response'} (expected ${http.expectStatus}) in ${result.durationMs} ms`,
        evidence: result.detail ? [result.detail] : [],
        values: { status: String(result.status ?? 0), ok: String(result.ok), url },
      };
    }
    const argv = renderArgv(diagnostic.command.argv, facts);
    const allowed = checkCommand(argv, this.config.readOnlyCommands, { readOnly: true });
    if (!allowed.ok) throw new NotAllowedError(`\`${formatArgv(argv)}\` is not on the read-only command allow-list: ${allowed.reason}`);
    const timeoutMs = this.timeout(diagnostic.command.timeout);
    const result = await this.run(argv, timeoutMs, options);
    const failure = describeFailure(result, timeoutMs);
    const firstLine =
      result.output
        .split('\n')
        .find((line) => line.trim() !== '')
        ?.trim() ?? '';
    return {
      name,
      kind: 'command',
      summary: `\`${formatArgv(argv)}\` ${failure ?? 'exited 0'}${firstLine ? `: ${firstLine}` : ''}`,
      // The first line is already in the summary.
      evidence: lastLines(result.output, limits.maxExcerptLines)
        .split('\n')
        .filter((l) => l.trim() !== '' && l.trim() !== firstLine),
      values: { exitCode: String(result.exitCode ?? -1), ok: String(failure === undefined), output: firstLine },
    };
  }
}

function describeFailure(result: CommandResult, timeoutMs: number): string | undefined {
  if (result.spawnError) return `could not start (${result.spawnError})`;
  if (result.timedOut) return `timed out after ${formatMs(timeoutMs)} and was killed`;
  if (result.exitCode === null) return `was killed by ${result.signal ?? 'a signal'}`;
  if (result.exitCode !== 0) return `exited with ${result.exitCode}`;
  return undefined;
}

function formatFindings(runbook: Runbook, findings: readonly Finding[]): string {
  if (findings.length === 0) return `${FINDINGS_HEADER} (runbook ${runbook.name}): the runbook runs no diagnostics.`;
  const lines = [`${FINDINGS_HEADER} (runbook ${runbook.name}):`];
  for (const finding of findings) {
    lines.push(`- ${finding.name}: ${finding.summary}`);
    // Indented, and blank lines dropped, so the block stays one paragraph and no evidence line can pose as an action line.
    for (const line of finding.evidence) if (line.trim() !== '') lines.push(`    ${line}`);
  }
  return lines.join('\n');
}

/** The findings paragraph of a plan this agent made (its first step's description). */
export function findingsOf(plan: Pick<Plan, 'steps'>): string | undefined {
  return plan.steps[0]?.description.split('\n\n').find((block) => block.startsWith(FINDINGS_HEADER));
}

function commandLine(description: string): string | undefined {
  return description
    .split('\n')
    .find((line) => line.startsWith('Command: ') || line.startsWith('Check: '))
    ?.replace(/^(Command|Check): /, '');
}

function parseAction(description: string): StepAction | undefined {
  const line = description
    .split('\n')
    .reverse()
    .find((l) => l.startsWith(ACTION_PREFIX));
  if (!line) return undefined;
  try {
    const raw = JSON.parse(line.slice(ACTION_PREFIX.length)) as Partial<StepAction>;
    if (
      typeof raw.runbook !== 'string' ||
      !(raw.step === VERIFY || (typeof raw.step === 'number' && Number.isInteger(raw.step) && raw.step >= 0))
    )
      return undefined;
    if (raw.argv !== undefined && !(Array.isArray(raw.argv) && raw.argv.every((a) => typeof a === 'string'))) return undefined;
    if (raw.url !== undefined && typeof raw.url !== 'string') return undefined;
    return raw as StepAction;
  } catch {
    return undefined;
  }
}

function lastLines(text: string, count: number): string {
  return text.trimEnd().split('\n').slice(-count).join('\n').trim();
}

function formatMs(ms: number): string {
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

function formatBytes(bytes: number): string {
  return bytes % (1024 * 1024) === 0 ? `${bytes / (1024 * 1024)} MiB` : bytes % 1024 === 0 ? `${bytes / 1024} KiB` : `${bytes} bytes`;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** How long the runbook's notes may get in a plan; the rest stays in the runbook file. */
const MAX_NOTES_CHARS = 400;

/**
 * The first paragraph of the runbook's notes (headings skipped), on one line so that no line of it
 * can pose as a command or action line, and capped in length.
 */
function formatNotes(runbook: Pick<Runbook, 'name' | 'notes'>, facts: TemplateFacts): string {
  const paragraph = firstParagraph(runbook.notes);
  if (paragraph === '') return '';
  const text = renderText(paragraph, facts).replace(/\s+/g, ' ').trim();
  const capped = text.length > MAX_NOTES_CHARS ? `${text.slice(0, MAX_NOTES_CHARS - 1).trimEnd()}…` : text;
  return `Notes (runbook ${runbook.name}): ${capped}`;
}

function firstParagraph(markdown: string): string {
  const paragraph: string[] = [];
  for (const line of markdown.split(/\r?\n/)) {
    if (line.trim() === '' || /^\s{0,3}#/.test(line)) {
      if (paragraph.length > 0) break;
      continue;
    }
    paragraph.push(line.trim());
  }
  return paragraph.join(' ');
}

/** What earlier sessions remembered, shown beside the findings (quoted, attributed) so the approver sees it too. */
function formatMemories(memories: NonNullable<PlanRequest['memories']>): string {
  return formatRecalledMemories(memories);
}
