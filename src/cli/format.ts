/**
 * Human-readable rendering. Machine readers get JSON (--json); this is for people, so it favours
 * one line per thing and local times, and never drops text: long messages wrap onto indented lines.
 */
import type { SessionSummary } from '../client/andon';
import type { PendingReview } from '../client/api';
import type { SessionOutcome } from '../client/session-client';
import {
  isTerminal,
  type Budget,
  type ChangedFile,
  type Output,
  type Review,
  type SessionView,
  type TimelineEvent,
  type Usage,
  type WorkspaceView,
} from '../session/schema';

/** `#4  12:01:02  agent  progressUpdated  Roll back deploy — rolled back to v1.41.2` */
export function formatEvent(event: TimelineEvent): string {
  const head = `#${event.seq}  ${clock(event.time)}  ${event.originator}  ${event.type}`;
  const detail = eventDetail(event);
  return detail ? `${head}  ${indentRest(detail, '    ')}` : head;
}

function eventDetail(event: TimelineEvent): string {
  switch (event.type) {
    case 'sessionCreated':
      return joined([event.title, event.requestedBy && `requested by ${event.requestedBy}`]);
    case 'planGenerated':
      return `${event.plan.id}${event.plan.title ? ` ${event.plan.title}` : ''}: ${event.plan.steps.map((s) => s.title).join('; ')}`;
    case 'planApproved':
      return joined([`${event.planId} by ${event.by}`, event.comment]);
    case 'planRejected':
      return joined([`${event.planId} by ${event.by}${event.replan ? ' (replan)' : ''}`, event.reason]);
    case 'userMessaged':
      return `${event.by}: ${event.message}`;
    case 'agentMessaged':
      return event.message;
    case 'progressUpdated':
      return joined([event.title, event.description, event.artifacts.length ? `[${plural(event.artifacts.length, 'artifact')}]` : '']);
    case 'sessionPaused':
      return joined([`by ${event.by}`, event.reason]);
    case 'sessionResumed':
      return `by ${event.by}`;
    case 'sessionCompleted':
      return joined([event.summary, ...event.outputs.map(outputLine)]);
    case 'sessionFailed':
      return event.reason;
    case 'sessionCancelled':
      return joined([`by ${event.by}`, event.reason]);
    case 'inputRejected':
      return joined([event.message, event.reason]);
    case 'alertReceived':
      return joined([`${event.status} from ${event.source}`, event.summary]);
    case 'workspacePrepared':
      return `${event.source} (${event.branch} at ${event.baseCommit.slice(0, 12)})`;
    case 'changesPublished':
      return joined([
        `${event.branch} at ${event.commit.slice(0, 12)}: ${plural(event.files, 'file')} +${event.additions} -${event.deletions}`,
        event.pullRequest && `${event.pullRequest.title} ${event.pullRequest.url}`,
      ]);
    case 'changesApproved':
      return joined([`change set ${event.changeSetHash} by ${event.by}`, event.comment]);
    case 'changesRejected':
      return joined([`change set ${event.changeSetHash} by ${event.by}`, event.reason]);
    case 'approvalRecorded':
      return joined([`${event.planId} by ${event.by} (${event.approvals} of ${event.required})`, event.comment]);
    case 'approvalRefused':
      return joined([`${event.decision} by ${event.by} refused (${event.code})`, event.reason]);
    case 'approvalReminded':
      return `${event.planId} still awaits approval (${Math.round(event.waitingMs / 60_000)} min)`;
    case 'approvalEscalated':
      return `${event.planId}: now also ${event.escalateTo.join(', ')}`;
    case 'memoryWritten':
      return `${event.scope} memory by ${event.by}: ${event.content}`;
    case 'memoryRecalled':
      return event.memories.map((m) => `[${m.scope}] ${m.content}`).join('; ');
    case 'toolCalled':
      return joined([
        `${event.tool} ${JSON.stringify(event.arguments)} → ${event.status}${event.reviewedBy ? ` (reviewed by ${event.reviewedBy})` : ''}`,
        event.output,
      ]);
    case 'reviewRequested':
      return `${event.review.id}: ${event.review.tool} ${JSON.stringify(event.review.arguments)} (${reviewReason(event.review)})`;
    case 'reviewDecided':
      return joined([
        `${event.reviewId} ${event.decision} by ${event.by}`,
        event.arguments && `arguments ${JSON.stringify(event.arguments)}`,
        event.reason,
      ]);
    case 'budgetReached':
      return `spent ${event.usage.inputTokens + event.usage.outputTokens} tokens, $${event.usage.costUsd.toFixed(4)} of ${budgetText(event.budget)}`;
  }
}

export function budgetText(budget: { tokens?: number; costUsd?: number }): string {
  return [budget.tokens !== undefined && `${budget.tokens} tokens`, budget.costUsd !== undefined && `$${budget.costUsd}`]
    .filter(Boolean)
    .join(' / ');
}

function reviewReason(review: Review): string {
  return review.reason === 'risky' ? 'risky tool' : 'outside the plan';
}

/** What the session's model calls spent, against its budget; undefined when it has neither. */
function usageText(usage: Usage | undefined, budget: Budget | undefined): string | undefined {
  if (!usage && !budget) return undefined;
  const spent = usage
    ? `${usage.inputTokens + usage.outputTokens} tokens (${usage.inputTokens} in, ${usage.outputTokens} out), $${usage.costUsd.toFixed(4)}`
    : 'nothing yet';
  return `${spent}${budget ? ` of a budget of ${budgetText(budget)}` : ''}`;
}

/** `review-1  restart {"service":"payments"} (outside the plan)` */
function reviewLine(review: Review): string {
  const expires = review.expiresAt ? `; denied on its own at ${dateTime(review.expiresAt)}` : '';
  return `${review.id}  ${review.tool} ${JSON.stringify(review.arguments)} (${reviewReason(review)}${expires})`;
}

/** Tool calls awaiting review, one row each, oldest first. */
export function formatReviews(reviews: PendingReview[]): string {
  if (reviews.length === 0) return 'no tool calls await review';
  const header = ['REVIEW', 'SESSION', 'CREATED', 'TOOL', 'WHY', 'ARGUMENTS'];
  const rows = reviews.map((r) => [r.id, r.sessionId, dateTime(r.createdAt), r.tool, reviewReason(r), JSON.stringify(r.arguments)]);
  return table([header, ...rows], header.length - 1);
}

export function formatTimeline(events: TimelineEvent[]): string {
  return events.length ? events.map(formatEvent).join('\n') : '(no events)';
}

export function formatView(view: SessionView): string {
  const rows: [string, string | undefined][] = [
    ['session', view.id],
    ['title', view.title],
    ['state', view.state + (view.pauseRequested && view.state !== 'paused' ? ' (pause requested)' : '')],
    ['created', `${dateTime(view.createTime)}${view.requestedBy ? ` by ${view.requestedBy}` : ''}`],
    ['updated', dateTime(view.updateTime)],
    ['prompt', view.prompt],
    ['agent', view.agent],
    [
      'context',
      Object.entries(view.context)
        .map(([k, v]) => `${k}=${v}`)
        .join(', ') || undefined,
    ],
    ...workspaceRows(view),
    ['reason', view.reason],
    ['summary', view.summary],
    ['outputs', view.outputs.map(outputLine).join('\n') || undefined],
    ['pending', view.pendingMessages ? plural(view.pendingMessages, 'message') + ' awaiting a reply' : undefined],
    ['usage', usageText(view.usage, view.budget)],
  ];
  const lines = rows.filter((row): row is [string, string] => Boolean(row[1])).map(([label, value]) => field(label, value));
  if (view.plan) {
    const approval = view.state === 'awaitingPlanApproval' ? ' (awaiting approval)' : '';
    lines.push(field('plan', `${view.plan.id}${view.plan.title ? ` ${view.plan.title}` : ''}${approval}`));
    for (const step of view.plan.steps) {
      const marker = view.currentStep === step.index && view.state !== 'awaitingPlanApproval' && !isTerminal(view.state) ? '>' : ' ';
      lines.push(`  ${marker} ${step.index + 1}. ${step.title}${step.description.trim() ? ` — ${step.description.trim()}` : ''}`);
    }
  }
  if (view.pendingReviews.length) {
    lines.push(
      field(
        'reviews',
        `${plural(view.pendingReviews.length, 'tool call')} awaiting review (andon review ${view.id} <review> approve|deny|edit)`,
      ),
    );
    for (const review of view.pendingReviews) lines.push(`  ${reviewLine(review)}`);
  }
  return lines.join('\n');
}

/** A code session's repository, base, change and where it went: `source`, `base`, `changes`, `pushed`, `pull req`. */
function workspaceRows(view: SessionView): [string, string | undefined][] {
  const workspace: WorkspaceView | undefined = view.workspace;
  if (!workspace) return [];
  const { changes, published } = workspace;
  const state: string = view.state;
  // The change awaiting approval, and how to approve exactly it.
  const awaiting =
    state === 'awaitingChangeApproval'
      ? `awaits approval: andon approve ${view.id}${workspace.changeSetHash ? ` --change-set ${workspace.changeSetHash}` : ''} (andon diff ${view.id})`
      : undefined;
  return [
    ['source', workspace.source],
    ['base', `${workspace.branch} at ${workspace.baseCommit.slice(0, 12)}`],
    ['changes', changes.length ? [changeStat(changes), ...changes.map(changeLine)].join('\n') : 'none yet'],
    ['diff', awaiting],
    ['pushed', published && `${published.branch} at ${published.commit.slice(0, 12)}`],
    ['pull req', published?.pullRequest && `${published.pullRequest.url} ${published.pullRequest.title}`],
  ];
}

/** `3 files changed, +10 -2` */
export function changeStat(files: ChangedFile[]): string {
  const additions = files.reduce((sum, file) => sum + file.additions, 0);
  const deletions = files.reduce((sum, file) => sum + file.deletions, 0);
  return `${plural(files.length, 'file')} changed, +${additions} -${deletions}`;
}

/** `M src/rate.ts  +1 -1` (A created, M modified, D deleted) */
export function changeLine(file: ChangedFile): string {
  const letter = { created: 'A', modified: 'M', deleted: 'D' }[file.changeType];
  return `${letter} ${file.path}  +${file.additions} -${file.deletions}`;
}

export function formatList(sessions: SessionSummary[]): string {
  if (sessions.length === 0) return 'no sessions';
  const rows = [['ID', 'STATE', 'CREATED', 'TITLE'], ...sessions.map((s) => [s.id, s.state, dateTime(s.createTime), s.title])];
  return table(rows, 3);
}

/** Rows as columns two spaces apart, the first `padded` columns padded to their widest cell. */
function table(rows: string[][], padded: number): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, col) => (widths[col] = Math.max(widths[col] ?? 0, cell.length)));
  return rows
    .map((row) =>
      row
        .map((cell, col) => (col < padded ? cell.padEnd(widths[col] ?? 0) : cell))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export function formatOutcome(outcome: SessionOutcome): string {
  return [`session ${outcome.sessionId} completed: ${outcome.title}`, outcome.summary, ...outcome.outputs.map(outputLine)]
    .filter(Boolean)
    .join('\n');
}

function outputLine(output: Output): string {
  if (output.type === 'pullRequest') return `pull request: ${output.pullRequest.url} ${output.pullRequest.title}`;
  const message = output.gitPatch.suggestedCommitMessage?.split('\n')[0];
  return `change set${message ? `: ${message}` : ''}`;
}

function field(label: string, value: string): string {
  return `${label.padEnd(9)}${indentRest(value, ' '.repeat(9))}`;
}

function indentRest(text: string, indent: string): string {
  return text.trim().split('\n').join(`\n${indent}`);
}

function joined(parts: (string | undefined | false)[]): string {
  return parts.filter((part): part is string => Boolean(part && part.trim())).join(' — ');
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

function clock(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

function dateTime(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${clock(iso)}`;
}
