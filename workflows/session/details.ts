/**
 * The markdown the Temporal UI shows as the session's current details: state and plan progress,
 * so an operator looking at the workflow sees where the session stands without running a query.
 * Current details are workflow metadata, not a command: changing the text is replay-safe.
 */
import type { SessionRecord } from './record';

/**
 * `source`: a code session's source as one line (describeSource); with it, the details show the
 * branch, the short base commit, the diff stats and where the change was published.
 */
export function renderDetails(record: SessionRecord, agent?: string, source?: string): string {
  const lines = [`**State:** ${record.state}${record.pauseRequested ? ' (pause requested)' : ''}`];
  if (agent) lines.push(`**Agent:** ${agent}`);
  if (record.reason) lines.push(`**Reason:** ${record.reason}`);
  const w = record.workspace;
  if (source) lines.push(`**Source:** ${source}${w ? ` (${w.branch} at ${w.baseCommit.slice(0, 12)})` : ' (being prepared)'}`);
  if (source && w && w.files.length > 0) {
    const added = w.files.reduce((n, f) => n + f.additions, 0);
    const deleted = w.files.reduce((n, f) => n + f.deletions, 0);
    lines.push(`**Changes:** ${w.files.length} file${w.files.length === 1 ? '' : 's'}, +${added} -${deleted}`);
  }
  if (source && w?.published) {
    const pr = w.published.pullRequest;
    lines.push(`**Published:** \`${w.published.branch}\` at ${w.published.commit.slice(0, 12)}${pr ? ` · [${pr.title}](${pr.url})` : ''}`);
  }
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
