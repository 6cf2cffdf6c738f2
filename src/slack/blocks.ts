/**
 * What andon shows in Slack, as Block Kit: the session message (kept current as the session
 * moves), thread notes, the reject modal and slash-command answers. Pure functions of the session
 * view, so every message can be checked without Slack.
 *
 * Text from the agent, alerts and people is escaped: Slack reads `<...>` as links and mentions,
 * and a plan step must not be able to ping a channel.
 */
import type { ActionsBlock, Button, ContextBlock, KnownBlock, ModalView, SectionBlock } from '@slack/types';
import type { SessionView } from '../session/schema';
import type { SessionSummary } from '../client/andon';
import { ACTION, REJECT_VIEW, type ButtonValue, type RejectMetadata } from './ids';

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
  blocks.push(section(statusLine(view, context.facts)));
  if (view.plan) blocks.push(...planSections(view));
  const actions = actionsBlock(view, context.sessionUrl);
  if (actions) blocks.push(actions);
  blocks.push(footer(view, context.sessionUrl));
  return { text: `${view.title}: ${plainStatus(view)}`, blocks };
}

/** One line on where the session stands, and who moved it there. */
export function statusLine(view: SessionView, facts?: SessionFacts): string {
  const plan = view.plan;
  const approvedBy = facts && facts.approvals.length > 0 ? ` Approved by ${facts.approvals.map((a) => who(a.by)).join(', ')}.` : '';
  switch (view.state) {
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
  }
}

/** Awaiting approval: how many approvals so far and whose, until when, and whether it was escalated. */
function awaitingLine(view: SessionView): string {
  const parts = [':hourglass_flowing_sand: *The plan awaits approval*'];
  const approval = view.approval;
  if (approval) {
    const whose = approval.approvals.length > 0 ? `: ${approval.approvals.map((a) => who(a.by)).join(', ')}` : '';
    if (approval.required > 1 || approval.approvals.length > 0) parts.push(`${approval.approvals.length} of ${approval.required} approvals${whose}`);
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
  const labels: Record<SessionView['state'], string> = {
    unspecified: 'queued',
    creating: 'queued',
    queued: 'queued',
    planning: 'planning',
    awaitingPlanApproval: 'the plan awaits approval',
    awaitingUserFeedback: 'the agent has a question',
    inProgress: 'running',
    paused: 'paused',
    completed: 'done',
    failed: 'failed',
    cancelled: 'cancelled',
  };
  return labels[view.state];
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
    const icon = step.index < done ? ':white_check_mark:' : view.state === 'inProgress' && step.index === view.currentStep ? ':arrow_forward:' : ':white_small_square:';
    const description = step.description ? ` — ${escapeText(clip(step.description, STEP_DESCRIPTION_MAX))}` : '';
    return `${icon} ${step.index + 1}. *${escapeText(clip(step.title, 200))}*${description}`;
  });
  if (plan.steps.length > SHOWN_STEPS) lines.push(`…and ${plan.steps.length - SHOWN_STEPS} more steps`);
  const heading = `*Plan* \`${escapeText(plan.id)}\`${plan.title ? `: ${escapeText(clip(plan.title, 200))}` : ''}`;
  // Packs the lines into as few sections as Slack's per-section limit allows.
  const sections: string[] = [heading];
  for (const line of lines) {
    const last = sections[sections.length - 1];
    if (last.length + 1 + line.length <= SECTION_MAX) sections[sections.length - 1] = `${last}\n${line}`;
    else sections.push(clip(line, SECTION_MAX));
  }
  return sections.map(section);
}

/** How many steps have finished: all of them once the session completed. */
function doneSteps(view: SessionView): number {
  if (view.state === 'completed') return view.plan?.steps.length ?? 0;
  if (view.state === 'inProgress' || view.state === 'paused' || view.state === 'failed' || view.state === 'cancelled') return view.currentStep ?? 0;
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
          text: { type: 'mrkdwn', text: `The agent will carry out ${view.plan.steps.length} step${view.plan.steps.length === 1 ? '' : 's'} of \`${escapeText(view.plan.id)}\`.` },
          confirm: { type: 'plain_text', text: 'Approve' },
          deny: { type: 'plain_text', text: 'Not yet' },
        },
      },
      { type: 'button', action_id: ACTION.reject, text: { type: 'plain_text', text: 'Reject…', emoji: true }, style: 'danger', value },
    );
  }
  if (sessionUrl) elements.push({ type: 'button', action_id: ACTION.open, text: { type: 'plain_text', text: 'Open in Temporal UI' }, url: sessionUrl });
  return elements.length > 0 ? { type: 'actions', block_id: `andon_actions:${view.plan?.id ?? 'none'}`, elements } : undefined;
}

function footer(view: SessionView, sessionUrl: string | undefined): ContextBlock {
  const parts = [`Session \`${escapeText(view.id)}\``];
  if (view.requestedBy) parts.push(`requested by ${who(view.requestedBy)}`);
  if (sessionUrl) parts.push(`<${sessionUrl}|Temporal UI>`);
  return { type: 'context', elements: [{ type: 'mrkdwn', text: parts.join(' · ') }] };
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

export function newPlanMessage(view: SessionView): SlackMessage {
  return { text: `:memo: A new plan${view.plan ? ` (\`${escapeText(view.plan.id)}\`)` : ''} awaits approval: see the message above.` };
}

export function reminderMessage(view: SessionView): SlackMessage {
  const deadline = view.approval?.deadline ? ` Decide by ${slackDate(view.approval.deadline)}.` : '';
  return { text: `:alarm_clock: Reminder: the plan for *${escapeText(view.title)}* still awaits approval.${deadline}` };
}

export function escalationMessage(view: SessionView, escalateTo: readonly string[]): SlackMessage {
  const whom = escalateTo.length > 0 ? `${escalateTo.map(who).join(' ')}: ` : '';
  return { text: `:rotating_light: ${whom}nobody has decided on the plan for *${escapeText(view.title)}* in time. Please review it above.` };
}

// ---------------------------------------------------------------------------------------------
// Answers to people (ephemeral) and the reject modal

export function rejectModal(metadata: RejectMetadata): ModalView {
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
          options: [{ text: { type: 'plain_text', text: 'Ask the agent for a new plan (instead of ending the session)' }, value: 'replan' }],
        },
      },
    ],
  };
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
].join('\n');
