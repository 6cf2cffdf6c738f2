/**
 * The markdown the Temporal UI shows as the session's current details: state and plan progress,
 * so an operator looking at the workflow sees where the session stands without running a query.
 * Current details are workflow metadata, not a command: changing the text is replay-safe.
 */
import type { SessionRecord } from './record';

export function renderDetails(record: SessionRecord, agent?: string): string {
  const lines = [`**State:** ${record.state}${record.pauseRequested ? ' (pause requested)' : ''}`];
  if (agent) lines.push(`**Agent:** ${agent}`);
  if (record.reason) lines.push(`**Reason:** ${record.reason}`);
  if (record.plan) {
    lines.push('', `**Plan ${record.plan.id}**${record.plan.title ? `: ${record.plan.title}` : ''}`);
    const done = record.currentStep ?? (record.state === 'completed' ? record.plan.steps.length : 0);
    for (const step of record.plan.steps) {
      const mark = step.index < done ? 'x' : ' ';
      lines.push(`- [${mark}] ${step.index + 1}. ${step.title}`);
    }
  }
  if (record.summary) lines.push('', `**Summary:** ${record.summary}`);
  return lines.join('\n');
}
