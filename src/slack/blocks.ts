/**
 * What andon shows in Slack, as Block Kit: the session message (kept current as the session
 * moves), thread notes, tool-call reviews, the reject and review modals and slash-command answers. Pure functions of the session
 * view, so every message can be checked without Slack.
 *
 * Text from the agent, alerts and people is escaped: Slack reads `<...>` as links and mentions,
 * and a plan step must not be able to ping a channel.
 */
import type { ActionsBlock, Button, ContextBlock, KnownBlock, ModalView, SectionBlock } from '@slack/types';
import type { Review, ReviewDecision, SessionView } from '../session/schema';
import type { SessionSummary } from '../client/andon';
import {
  ACTION,
  REJECT_VIEW,
  REVIEW_VIEW,
  type ButtonValue,
  type RejectMetadata,
  type ReviewButtonValue,
  type ReviewMetadata,
} from './ids';

/** Who did what, read from the session's timeline (facts.ts); the view alone does not say. */
export interface SessionFacts {
  /** Approvals of the current plan, oldest first. */
  approvals: { by: string; comment?: string }[];
  /** The latest rejection. */
  rejection?: { by: string; reason: string; replan: boolean };
  cancelledBy?: string;
  pausedBy?: string;
  /** The agent's latest question of its own (while it awaits an answer). */
  question?: string;
}

export interface RenderContext {
  /** The session's workflow in the Temporal UI. */
  sessionUrl?: string;
  facts?: SessionFacts;
}

export interface SlackMessage {
  /** The notification and screen-reader text; Slack shows the blocks. */
  text: string;
  blocks?: KnownBlock[];
}

// Slack's limits: header text 150, section text 3000, message text 40000 characters.
const HEADER_MAX = 150;
const SECTION_MAX = 3_000;
const TEXT_MAX = 39_000;
const STEP_DESCRIPTION_MAX = 300;
const SHOWN_STEPS = 25;
const SHOWN_LABELS = 8;
/** Changed files named on the session message; the rest are counted. */
const SHOWN_FILES = 5;
/** A tool call's arguments as shown in a review message (JSON, escaped). */
const ARGUMENTS_MAX = 2_500;
/** Slack's limit on a plain-text input's value: larger arguments cannot be edited in Slack. */
export const INPUT_MAX = 3_000;
const SHOWN_REVIEWS = 20;

/** Escapes the three characters Slack's mrkdwn gives meaning to. */
export function escapeText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Reverses Slack's escaping of message text, so the agent reads what the person typed. */
export function unescapeText(text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

/** An identity as Slack should show it: Slack users and user groups as mentions, others as text. */
export function who(by: string): string {
  if (by === 'policy:deadline') return 'the deadline policy';
  if (by === 'policy:review-expired') return 'the review deadline';
  const slack = /^slack:([UW][A-Z0-9]+)$/.exec(by);
  if (slack) return `<@${slack[1]}>`;
  const group = /^slack:(S[A-Z0-9]+)$/.exec(by);
  if (group) return `<!subteam^${group[1]}>`;
  return escapeText(by);
}

/** The session's workflow in the Temporal UI (Temporal Cloud and the dev server's UI share the path). */
export function sessionLink(temporalUiUrl: string | undefined, namespace: string, sessionId: string): string | undefined {
  if (!temporalUiUrl) return undefined;
  return `${temporalUiUrl.replace(/\/*$/, '')}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(sessionId)}`;
}

export function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

// ---------------------------------------------------------------------------------------------
// The session message

export function sessionMessage(view: SessionView, context: RenderContext = {}): SlackMessage {
  const blocks: KnownBlock[] = [{ type: 'header', text: { type: 'plain_text', text: clip(view.title, HEADER_MAX), emoji: true } }];
  const alert = alertContext(view);
  if (alert) blocks.push(alert);
  const workspace = workspaceContext(view);
  if (workspace) blocks.push(workspace);
  blocks.push(section(statusLine(view, context.facts)));
  // Reviews can stay open while the session is paused (or runs a call decided before them).
  if (view.pendingReviews.length > 0 && view.state !== 'awaitingUserFeedback' && !TERMINAL.has(view.state)) {
    blocks.push(section(`:raised_hand: *${reviewCount(view.pendingReviews.length)}*: decide in the thread.`));
  }
  if (view.plan) blocks.push(...planSections(view));
  const actions = actionsBlock(view, context.sessionUrl);
  if (actions) blocks.push(actions);
  blocks.push(footer(view, context.sessionUrl));
  return { text: `${view.title}: ${plainStatus(view)}`, blocks };
}

const TERMINAL = new Set<SessionView['state']>(['completed', 'failed', 'cancelled']);

/** "1 tool call awaits review", "3 tool calls await review". */
function reviewCount(count: number): string {
  return count === 1 ? '1 tool call awaits review' : `${count} tool calls await review`;
}

/** One line on where the session stands, and who moved it there. */
export function statusLine(view: SessionView, facts?: SessionFacts): string {
  const plan = view.plan;
  const approvedBy = facts && facts.approvals.length > 0 ? ` Approved by ${facts.approvals.map((a) => who(a.by)).join(', ')}.` : '';
  // A string, so a state this build does not know yet (a newer worker's) still reads as something.
  const state: string = view.state;
  switch (state) {
    case 'unspecified':
    case 'creating':
    case 'queued':
      return ':hourglass: *Queued*';
    case 'planning':
      return facts?.rejection?.replan
        ? `:thinking_face: *Re-planning*: ${who(facts.rejection.by)} rejected the plan: ${escapeText(clip(facts.rejection.reason, 500))}`
        : ':thinking_face: *Planning*';
    case 'awaitingPlanApproval':
      return awaitingLine(view);
    case 'awaitingUserFeedback':
      // Waiting on reviews, not on an answer: the model's text of that turn is no question.
      if (view.pendingReviews.length > 0) return `:raised_hand: *${reviewCount(view.pendingReviews.length)}*: decide in the thread.`;
      return facts?.question
        ? `:speech_balloon: *The agent asks*: ${escapeText(clip(facts.question, 2_000))}\nAnswer in the thread.`
        : ':speech_balloon: *The agent has a question*: answer in the thread.';
    case 'inProgress': {
      if (!plan) return `:gear: *Running*${approvedBy}`;
      const index = view.currentStep ?? 0;
      const step = plan.steps[index];
      const running = step ? `step ${index + 1}/${plan.steps.length}: ${escapeText(step.title)}` : 'wrapping up';
      return `:gear: *Running* ${running}.${approvedBy}${view.pauseRequested ? ' Pausing after this step.' : ''}`;
    }
    case 'awaitingChangeApproval':
      return ':mag: *The change set awaits approval* before it is published.';
    case 'paused':
      return `:double_vertical_bar: *Paused*${facts?.pausedBy ? ` by ${who(facts.pausedBy)}` : ''}.${approvedBy}`;
    case 'completed': {
      const links = pullRequests(view).map((pr) => `<${pr.url}|${escapeText(pr.title)}>`);
      const summary = view.summary ? `\n${escapeText(clip(view.summary, 2_000))}` : '';
      return `:white_check_mark: *Done*.${approvedBy}${summary}${links.length > 0 ? `\n:link: ${links.join(' · ')}` : ''}`;
    }
    case 'failed':
      return `:x: *Failed*: ${escapeText(clip(view.reason ?? 'no reason recorded', 2_000))}`;
    case 'cancelled': {
      const rejection = facts?.rejection && !facts.rejection.replan ? facts.rejection : undefined;
      if (rejection) return `:no_entry_sign: *Rejected* by ${who(rejection.by)}: ${escapeText(clip(rejection.reason, 2_000))}`;
      const by = facts?.cancelledBy ? ` by ${who(facts.cancelledBy)}` : '';
      return `:no_entry_sign: *Cancelled*${by}: ${escapeText(clip(view.reason ?? 'no reason recorded', 2_000))}`;
    }
    default:
      return `:grey_question: *${escapeText(humanState(state))}*`;
  }
}

/** `awaitingChangeApproval` → "awaiting change approval": a state without its own words. */
function humanState(state: string): string {
  const words = state.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** Awaiting approval: how many approvals so far and whose, until when, and whether it was escalated. */
function awaitingLine(view: SessionView): string {
  const parts = [':hourglass_flowing_sand: *The plan awaits approval*'];
  const approval = view.approval;
  if (approval) {
    const whose = approval.approvals.length > 0 ? `: ${approval.approvals.map((a) => who(a.by)).join(', ')}` : '';
    if (approval.required > 1 || approval.approvals.length > 0)
      parts.push(`${approval.approvals.length} of ${approval.required} approvals${whose}`);
    if (approval.deadline) parts.push(`decide by ${slackDate(approval.deadline)}`);
    if (approval.escalated) parts.push('escalated');
  }
  return parts.join(' · ');
}

/** A time every reader sees in their own time zone (the fallback is for clients that cannot). */
function slackDate(iso: string): string {
  const seconds = Math.floor(Date.parse(iso) / 1_000);
  return Number.isFinite(seconds) ? `<!date^${seconds}^{date_short_pretty} {time}|${escapeText(iso)}>` : escapeText(iso);
}

function plainStatus(view: SessionView): string {
  if (view.state === 'awaitingUserFeedback' && view.pendingReviews.length > 0) return reviewCount(view.pendingReviews.length);
  const labels: Record<string, string> = {
    unspecified: 'queued',
    creating: 'queued',
    queued: 'queued',
    planning: 'planning',
    awaitingPlanApproval: 'the plan awaits approval',
    awaitingUserFeedback: 'the agent has a question',
    inProgress: 'running',
    awaitingChangeApproval: 'the change set awaits approval',
    paused: 'paused',
    completed: 'done',
    failed: 'failed',
    cancelled: 'cancelled',
  };
  return labels[view.state] ?? humanState(view.state).toLowerCase();
}

/**
 * A code session's repository and change: the source, the branch and short base commit it started
 * from; once it changed files, how many and the lines added and removed; once published, the
 * branch it was pushed to and the pull request. Nothing of the worker's credentials is in the view.
 */
function workspaceContext(view: SessionView): ContextBlock | undefined {
  const workspace = view.workspace;
  if (!workspace) return undefined;
  const lines = [
    `:file_folder: \`${escapeText(clip(workspace.source, 300))}\` · ${escapeText(clip(workspace.branch, 200))} at \`${escapeText(workspace.baseCommit.slice(0, 7))}\``,
  ];
  if (workspace.changes.length > 0) {
    const files = workspace.changes
      .slice(0, SHOWN_FILES)
      .map((file) => `\`${escapeText(clip(file.path, 120))}\` +${file.additions} −${file.deletions}`);
    if (workspace.changes.length > SHOWN_FILES) files.push(`…and ${workspace.changes.length - SHOWN_FILES} more`);
    lines.push(`:pencil2: ${changeStat(workspace.changes)}: ${files.join(', ')}`);
  }
  const published = workspace.published;
  if (published) {
    // Once done, the status line links the pull request already.
    const linked = view.state === 'completed' && pullRequests(view).some((p) => p.url === published.pullRequest?.url);
    const pr = published.pullRequest && !linked ? ` · :link: ${link(published.pullRequest.url, published.pullRequest.title)}` : '';
    lines.push(`:arrow_up: pushed \`${escapeText(published.branch)}\` at \`${escapeText(published.commit.slice(0, 7))}\`${pr}`);
  }
  return { type: 'context', elements: [{ type: 'mrkdwn', text: clip(lines.join('\n'), SECTION_MAX) }] };
}

/** A Slack link, or the escaped text and URL when the URL could break out of `<url|text>`. */
function link(url: string, title: string): string {
  const text = escapeText(clip(title, 200));
  return /^https?:\/\/[^\s<>|]+$/.test(url) ? `<${url}|${text}>` : `${text} (${escapeText(clip(url, 500))})`;
}

/** "3 files changed, +10 −2" */
function changeStat(changes: readonly { additions: number; deletions: number }[]): string {
  const additions = changes.reduce((sum, file) => sum + file.additions, 0);
  const deletions = changes.reduce((sum, file) => sum + file.deletions, 0);
  return `${changes.length} file${changes.length === 1 ? '' : 's'} changed, +${additions} −${deletions}`;
}

function alertContext(view: SessionView): ContextBlock | undefined {
  const parts: string[] = [];
  if (view.alert) {
    const icon = view.alert.status === 'firing' ? ':rotating_light:' : ':large_green_circle:';
    parts.push(`${icon} *${view.alert.status}* alert from ${escapeText(view.alert.source)}: ${escapeText(clip(view.alert.summary, 300))}`);
  }
  const labels = Object.entries(view.context).slice(0, SHOWN_LABELS);
  if (labels.length > 0) parts.push(labels.map(([name, value]) => `${escapeText(name)}=\`${escapeText(clip(value, 80))}\``).join('  '));
  if (parts.length === 0) return undefined;
  return { type: 'context', elements: [{ type: 'mrkdwn', text: clip(parts.join('\n'), SECTION_MAX) }] };
}

function planSections(view: SessionView): SectionBlock[] {
  const plan = view.plan!;
  const done = doneSteps(view);
  const lines = plan.steps.slice(0, SHOWN_STEPS).map((step) => {
    const icon =
      step.index < done
        ? ':white_check_mark:'
        : view.state === 'inProgress' && step.index === view.currentStep
          ? ':arrow_forward:'
          : ':white_small_square:';
    const description = step.description ? ` — ${escapeText(clip(step.description, STEP_DESCRIPTION_MAX))}` : '';
    return `${icon} ${step.index + 1}. *${escapeText(clip(step.title, 200))}*${description}`;
  });
  if (plan.steps.length > SHOWN_STEPS) lines.push(`…and ${plan.steps.length - SHOWN_STEPS} more steps`);
  const heading = `*Plan* \`${escapeText(plan.id)}\`${plan.title ? `: ${escapeText(clip(plan.title, 200))}` : ''}`;
  // Packs the lines into as few sections as Slack's per-section limit allows.
  const sections: string[] = [];
  let current = heading;
  for (const line of lines) {
    if (current.length + 1 + line.length <= SECTION_MAX) current = `${current}\n${line}`;
    else {
      sections.push(current);
      current = clip(line, SECTION_MAX);
    }
  }
  sections.push(current);
  return sections.map(section);
}

/** How many steps have finished: all of them once the session completed. */
function doneSteps(view: SessionView): number {
  if (view.state === 'completed') return view.plan?.steps.length ?? 0;
  if (view.state === 'inProgress' || view.state === 'paused' || view.state === 'failed' || view.state === 'cancelled')
    return view.currentStep ?? 0;
  return 0;
}

function actionsBlock(view: SessionView, sessionUrl: string | undefined): ActionsBlock | undefined {
  const elements: Button[] = [];
  if (view.state === 'awaitingPlanApproval' && view.plan) {
    const value = JSON.stringify({ sessionId: view.id, planId: view.plan.id, planHash: view.plan.hash } satisfies ButtonValue);
    elements.push(
      {
        type: 'button',
        action_id: ACTION.approve,
        text: { type: 'plain_text', text: 'Approve', emoji: true },
        style: 'primary',
        value,
        confirm: {
          title: { type: 'plain_text', text: 'Approve this plan?' },
          text: {
            type: 'mrkdwn',
            text: `The agent will carry out ${view.plan.steps.length} step${view.plan.steps.length === 1 ? '' : 's'} of \`${escapeText(view.plan.id)}\`.`,
          },
          confirm: { type: 'plain_text', text: 'Approve' },
          deny: { type: 'plain_text', text: 'Not yet' },
        },
      },
      { type: 'button', action_id: ACTION.reject, text: { type: 'plain_text', text: 'Reject…', emoji: true }, style: 'danger', value },
    );
  }
  const change = changeButtons(view);
  elements.push(...change);
  if (sessionUrl)
    elements.push({ type: 'button', action_id: ACTION.open, text: { type: 'plain_text', text: 'Open in Temporal UI' }, url: sessionUrl });
  // A new block id when the decision changes (plan, then change set), so Slack redraws the buttons.
  const hash = change.length > 0 ? view.workspace?.changeSetHash : undefined;
  const blockId = hash ? `andon_actions:change:${hash.slice(0, 40)}` : `andon_actions:${view.plan?.id ?? 'none'}`;
  return elements.length > 0 ? { type: 'actions', block_id: blockId, elements } : undefined;
}

/**
 * A code session's change set awaiting approval: Approve (publishes it: pushes the branch, opens
 * the pull request) and Reject… (completes without publishing). The value names the diff shown
 * (its hash), so an approval of a change that moved on is refused as stale.
 */
function changeButtons(view: SessionView): Button[] {
  const state: string = view.state;
  const workspace = view.workspace;
  if (state !== 'awaitingChangeApproval' || !workspace || !view.plan) return [];
  const value = JSON.stringify({
    sessionId: view.id,
    planId: view.plan.id,
    ...(workspace.changeSetHash ? { changeSetHash: workspace.changeSetHash } : {}),
  } satisfies ButtonValue);
  const stat = workspace.changes.length > 0 ? ` (${changeStat(workspace.changes)})` : '';
  return [
    {
      type: 'button',
      action_id: ACTION.approve,
      text: { type: 'plain_text', text: 'Approve the change', emoji: true },
      style: 'primary',
      value,
      confirm: {
        title: { type: 'plain_text', text: 'Publish this change?' },
        text: {
          type: 'mrkdwn',
          text: clip(
            `The change${escapeText(stat)} is pushed from \`${escapeText(workspace.source)}\`, as configured for this session.`,
            300,
          ),
        },
        confirm: { type: 'plain_text', text: 'Approve' },
        deny: { type: 'plain_text', text: 'Not yet' },
      },
    },
    { type: 'button', action_id: ACTION.reject, text: { type: 'plain_text', text: 'Reject…', emoji: true }, style: 'danger', value },
  ];
}

function footer(view: SessionView, sessionUrl: string | undefined): ContextBlock {
  const parts = [`Session \`${escapeText(view.id)}\``];
  if (view.requestedBy) parts.push(`requested by ${who(view.requestedBy)}`);
  const usage = usageText(view);
  if (usage) parts.push(usage);
  if (sessionUrl) parts.push(`<${sessionUrl}|Temporal UI>`);
  return { type: 'context', elements: [{ type: 'mrkdwn', text: parts.join(' · ') }] };
}

/** What the session's model calls used, against its budget: "used 1,200 of 200,000 tokens, $0.0021 of $2.00". */
export function usageText(view: Pick<SessionView, 'usage' | 'budget'>): string | undefined {
  const { usage, budget } = view;
  if (!usage && !budget) return undefined;
  const tokens = (usage?.inputTokens ?? 0) + (usage?.outputTokens ?? 0);
  const parts = [
    `${tokens.toLocaleString('en-US')}${budget?.tokens !== undefined ? ` of ${budget.tokens.toLocaleString('en-US')}` : ''} tokens`,
  ];
  const cost = usage?.costUsd ?? 0;
  if (cost > 0 || budget?.costUsd !== undefined)
    parts.push(`${dollars(cost)}${budget?.costUsd !== undefined ? ` of ${dollars(budget.costUsd)}` : ''}`);
  return `used ${parts.join(', ')}`;
}

function dollars(amount: number): string {
  return `$${amount > 0 && amount < 0.01 ? amount.toFixed(4) : amount.toFixed(2)}`;
}

function pullRequests(view: SessionView): { url: string; title: string }[] {
  return view.outputs.flatMap((output) => (output.type === 'pullRequest' ? [output.pullRequest] : []));
}

function section(text: string): SectionBlock {
  return { type: 'section', text: { type: 'mrkdwn', text: clip(text, SECTION_MAX) } };
}

// ---------------------------------------------------------------------------------------------
// Thread notes

export function agentReplyMessage(reply: string): SlackMessage {
  return { text: clip(escapeText(reply), TEXT_MAX) };
}

/**
 * The thread note when the message above asks for a decision again: a new plan (a re-plan), or a
 * code session's change set, with its diff stats, once the steps are done.
 */
export function awaitsDecisionMessage(view: SessionView): SlackMessage {
  if (awaitsChange(view)) {
    const changes = view.workspace?.changes ?? [];
    const stat = changes.length > 0 ? ` (${changeStat(changes)})` : '';
    return { text: `:mag: The change set${stat} awaits approval before it is published: see the message above.` };
  }
  return { text: `:memo: A new plan${view.plan ? ` (\`${escapeText(view.plan.id)}\`)` : ''} awaits approval: see the message above.` };
}

/** What awaits a decision: the plan, or (a code session after its steps) the change set. */
function awaitedDecision(view: SessionView): string {
  return awaitsChange(view) ? 'the change set' : 'the plan';
}

function awaitsChange(view: SessionView): boolean {
  const state: string = view.state;
  return state === 'awaitingChangeApproval';
}

export function reminderMessage(view: SessionView): SlackMessage {
  const deadline = view.approval?.deadline ? ` Decide by ${slackDate(view.approval.deadline)}.` : '';
  return { text: `:alarm_clock: Reminder: ${awaitedDecision(view)} for *${escapeText(view.title)}* still awaits approval.${deadline}` };
}

export function escalationMessage(view: SessionView, escalateTo: readonly string[]): SlackMessage {
  const whom = escalateTo.length > 0 ? `${escalateTo.map(who).join(' ')}: ` : '';
  return {
    text: `:rotating_light: ${whom}nobody has decided on ${awaitedDecision(view)} for *${escapeText(view.title)}* in time. Please review it above.`,
  };
}

// ---------------------------------------------------------------------------------------------
// Tool-call reviews

/** How a review ended: a decision (by a person, or the review deadline), or closed without one. */
export type ReviewVerdict =
  | { decision: ReviewDecision; by: string; reason?: string; arguments?: Record<string, unknown> }
  /** Why nobody can decide it any more (the session ended, ...). */
  | { closed: string };

export interface ReviewContext {
  sessionUrl?: string;
  /** Set once decided: the message then says who decided what, instead of offering the buttons. */
  verdict?: ReviewVerdict;
}

/**
 * A tool call that waits for a person, posted in the session's thread: the tool, its arguments,
 * why it needs a review, and Approve, Deny…, Edit…. Once decided, the same message (updated)
 * says who decided what.
 */
export function reviewMessage(view: Pick<SessionView, 'id' | 'title' | 'plan'>, review: Review, context: ReviewContext = {}): SlackMessage {
  const { verdict } = context;
  const tool = `\`${escapeText(clip(review.tool, 200))}\``;
  const plan = view.plan;
  const step = plan?.steps.find((s) => s.id === review.stepId);
  const where = step && plan ? ` (step ${step.index + 1}/${plan.steps.length}: ${escapeText(clip(step.title, 200))})` : '';
  const ask = verdict
    ? `:wrench: The agent asked to run ${tool}${where}.`
    : `:raised_hand: *Review a tool call*: the agent wants to run ${tool}${where}.`;
  const blocks: KnownBlock[] = [section(`${ask}\n*Why*: ${reviewReason(review)}`), section(codeBlock(review.arguments, ARGUMENTS_MAX))];
  if (verdict) blocks.push(section(verdictLine(verdict)));
  else blocks.push(reviewButtons(view.id, review));

  const footnote = [`Review \`${escapeText(review.id)}\` of session \`${escapeText(view.id)}\``];
  if (!verdict && review.expiresAt) footnote.push(`denied on its own ${slackDate(review.expiresAt)} unless decided`);
  if (context.sessionUrl) footnote.push(`<${context.sessionUrl}|Temporal UI>`);
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: footnote.join(' · ') }] });

  const why = review.reason === 'risky' ? 'a risky tool' : 'outside the approved plan';
  const text = verdict
    ? `${review.tool} in ${view.title}: ${plainVerdict(verdict)}`
    : `Review a tool call in ${view.title}: ${review.tool} (${why})`;
  return { text: clip(text, TEXT_MAX), blocks };
}

export function reviewReason(review: Pick<Review, 'tool' | 'reason'>): string {
  return review.reason === 'risky'
    ? `\`${escapeText(clip(review.tool, 200))}\` is a risky tool: every call to it is reviewed, in the plan or not.`
    : 'it is outside the approved plan (the plan does not allow this call).';
}

/** Who decided what, for the updated review message. */
export function verdictLine(verdict: ReviewVerdict): string {
  if ('closed' in verdict) return `:heavy_minus_sign: *No longer awaits review*: ${escapeText(clip(verdict.closed, 1_000))}`;
  const by = who(verdict.by);
  const reason = verdict.reason ? `: ${escapeText(clip(verdict.reason, 1_000))}` : '';
  switch (verdict.decision) {
    case 'approve':
      return `:white_check_mark: *Approved* by ${by}${reason}. The call runs as shown.`;
    case 'deny':
      return `:no_entry_sign: *Denied* by ${by}${reason}. The agent reads why.`;
    case 'edit':
      return `:pencil2: *Edited* by ${by}${reason}. The call runs with:\n${codeBlock(verdict.arguments ?? {}, ARGUMENTS_MAX)}`;
  }
}

function plainVerdict(verdict: ReviewVerdict): string {
  if ('closed' in verdict) return 'no longer awaits review';
  const done = { approve: 'approved', deny: 'denied', edit: 'edited' }[verdict.decision];
  return `${done} by ${verdict.by}`;
}

function reviewButtons(sessionId: string, review: Review): ActionsBlock {
  const value = JSON.stringify({ sessionId, reviewId: review.id, tool: clip(review.tool, 200) } satisfies ReviewButtonValue);
  return {
    type: 'actions',
    block_id: `andon_review:${review.id}`,
    elements: [
      {
        type: 'button',
        action_id: ACTION.reviewApprove,
        text: { type: 'plain_text', text: 'Approve', emoji: true },
        style: 'primary',
        value,
        confirm: {
          title: { type: 'plain_text', text: 'Run this tool call?' },
          text: { type: 'mrkdwn', text: `The agent runs \`${escapeText(clip(review.tool, 200))}\` with the arguments shown.` },
          confirm: { type: 'plain_text', text: 'Run it' },
          deny: { type: 'plain_text', text: 'Not yet' },
        },
      },
      { type: 'button', action_id: ACTION.reviewDeny, text: { type: 'plain_text', text: 'Deny…', emoji: true }, style: 'danger', value },
      { type: 'button', action_id: ACTION.reviewEdit, text: { type: 'plain_text', text: 'Edit…', emoji: true }, value },
    ],
  };
}

/** JSON as a Slack code block, escaped, at most `max` characters between the fences. */
function codeBlock(value: unknown, max: number): string {
  // Three backticks in a value would end the block early: a zero-width space keeps them apart.
  let body = escapeText(JSON.stringify(value, null, 2) ?? 'null').replace(/```/g, '`\u200b`\u200b`');
  // Cut on a whole entity, never inside "&amp;".
  if (body.length > max) body = `${body.slice(0, max - 1).replace(/&[a-z]{0,3}$/, '')}…`;
  return `\`\`\`\n${body}\n\`\`\``;
}

// ---------------------------------------------------------------------------------------------
// Answers to people (ephemeral) and the modals

export function rejectModal(metadata: RejectMetadata): ModalView {
  if (metadata.changeSetHash) return rejectChangeModal(metadata);
  return {
    type: 'modal',
    callback_id: REJECT_VIEW.callbackId,
    private_metadata: JSON.stringify(metadata),
    title: { type: 'plain_text', text: 'Reject the plan' },
    submit: { type: 'plain_text', text: 'Reject' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      section(`Rejecting plan \`${escapeText(metadata.planId)}\` of session \`${escapeText(metadata.sessionId)}\`.`),
      {
        type: 'input',
        block_id: REJECT_VIEW.reasonBlock,
        label: { type: 'plain_text', text: 'Why?' },
        element: { type: 'plain_text_input', action_id: REJECT_VIEW.reasonAction, multiline: true, min_length: 1, max_length: 4_000 },
      },
      {
        type: 'input',
        block_id: REJECT_VIEW.replanBlock,
        optional: true,
        label: { type: 'plain_text', text: 'Then' },
        element: {
          type: 'checkboxes',
          action_id: REJECT_VIEW.replanAction,
          options: [
            { text: { type: 'plain_text', text: 'Ask the agent for a new plan (instead of ending the session)' }, value: 'replan' },
          ],
        },
      },
    ],
  };
}

/** Rejecting a change set awaiting approval: nothing is pushed, the session completes; no re-plan to offer. */
function rejectChangeModal(metadata: RejectMetadata): ModalView {
  return {
    type: 'modal',
    callback_id: REJECT_VIEW.callbackId,
    private_metadata: JSON.stringify(metadata),
    title: { type: 'plain_text', text: 'Reject the change' },
    submit: { type: 'plain_text', text: 'Reject' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      section(
        `Rejecting the change set of session \`${escapeText(metadata.sessionId)}\`: nothing is pushed, and the session completes with the change in its outputs.`,
      ),
      {
        type: 'input',
        block_id: REJECT_VIEW.reasonBlock,
        label: { type: 'plain_text', text: 'Why?' },
        element: { type: 'plain_text_input', action_id: REJECT_VIEW.reasonAction, multiline: true, min_length: 1, max_length: 4_000 },
      },
    ],
  };
}

export function reviewDenyModal(metadata: ReviewMetadata, tool: string): ModalView {
  return {
    type: 'modal',
    callback_id: REVIEW_VIEW.denyCallbackId,
    private_metadata: JSON.stringify(metadata),
    title: { type: 'plain_text', text: 'Deny the tool call' },
    submit: { type: 'plain_text', text: 'Deny' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      section(
        `Denying \`${escapeText(clip(tool, 200))}\` (review \`${escapeText(metadata.reviewId)}\` of session \`${escapeText(metadata.sessionId)}\`). The agent reads your reason and carries on without the call.`,
      ),
      {
        type: 'input',
        block_id: REVIEW_VIEW.reasonBlock,
        label: { type: 'plain_text', text: 'Why?' },
        element: { type: 'plain_text_input', action_id: REVIEW_VIEW.reasonBlock, multiline: true, min_length: 1, max_length: 4_000 },
      },
    ],
  };
}

/** The edit modal, prefilled with the call's arguments as JSON (they must fit Slack's 3,000-character input). */
export function reviewEditModal(metadata: ReviewMetadata, review: Pick<Review, 'tool' | 'arguments'>): ModalView {
  return {
    type: 'modal',
    callback_id: REVIEW_VIEW.editCallbackId,
    private_metadata: JSON.stringify(metadata),
    title: { type: 'plain_text', text: 'Edit the tool call' },
    submit: { type: 'plain_text', text: 'Run with these' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      section(
        `Editing the arguments of \`${escapeText(clip(review.tool, 200))}\` (review \`${escapeText(metadata.reviewId)}\` of session \`${escapeText(metadata.sessionId)}\`). ` +
          "The call runs with what you submit, once the tool's schema accepts it.",
      ),
      {
        type: 'input',
        block_id: REVIEW_VIEW.argumentsBlock,
        label: { type: 'plain_text', text: 'Arguments (a JSON object)' },
        element: {
          type: 'plain_text_input',
          action_id: REVIEW_VIEW.argumentsBlock,
          multiline: true,
          min_length: 2,
          max_length: INPUT_MAX,
          initial_value: editableArguments(review.arguments),
        },
      },
    ],
  };
}

/** The arguments as the edit modal shows them: indented JSON. */
export function editableArguments(args: Record<string, unknown>): string {
  return JSON.stringify(args, null, 2);
}

/** `/andon reviews`: the tool calls waiting, across sessions, oldest first. */
export function reviewList(reviews: readonly (Review & { sessionId: string; sessionTitle: string })[]): SlackMessage {
  if (reviews.length === 0) return { text: 'No tool calls await review.' };
  const lines = reviews.slice(0, SHOWN_REVIEWS).map((r) => {
    const args = escapeText(clip(JSON.stringify(r.arguments), 80));
    const why = r.reason === 'risky' ? 'risky tool' : 'outside the plan';
    return `• \`${escapeText(r.tool)}\` \`${args}\` (${why}) in *${escapeText(clip(r.sessionTitle, 80))}* · \`${escapeText(r.sessionId)}\` \`${escapeText(r.id)}\` · since ${slackDate(r.createdAt)}`;
  });
  if (reviews.length > SHOWN_REVIEWS) lines.push(`…and ${reviews.length - SHOWN_REVIEWS} more`);
  const heading = `*${reviewCount(reviews.length)}*: decide with the buttons in each session's thread.`;
  return { text: clip(`${heading}\n${lines.join('\n')}`, TEXT_MAX) };
}

export function sessionList(sessions: readonly SessionSummary[], what: string): SlackMessage {
  if (sessions.length === 0) return { text: `No ${what} sessions.` };
  const lines = sessions.map((s) => `• \`${escapeText(s.id)}\` ${s.state}: ${escapeText(clip(s.title, 120))}`);
  return { text: clip(`*${sessions.length} ${what} session${sessions.length === 1 ? '' : 's'}*\n${lines.join('\n')}`, TEXT_MAX) };
}

export const COMMAND_HELP = [
  '*andon* commands:',
  '`status <id>`: where a session stands, with its plan',
  '`list [state…]`: sessions that are not finished (or in the given states)',
  '`approve <id> [plan-id] [comment]`: approve the plan',
  '`reject <id> [--replan] <reason>`: reject the plan (`--replan`: ask the agent for a new one)',
  '`ask <id> <question>`: ask the agent (the answer also goes to the session thread)',
  "`reviews`: tool calls awaiting review, across sessions (decide with the buttons in each session's thread)",
].join('\n');
