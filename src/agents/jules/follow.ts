/**
 * Following a Jules session's activity log: a cursor that says which activities were already
 * handed on, the rule for "after the cursor", and how each Jules activity appears on andon's
 * timeline. Pure functions (no I/O) so they are tested on their own; ./agent.ts runs the loop.
 *
 * The cursor travels in the activity's heartbeat details. It moves only after the events it
 * covers were accepted by the session (the signal returned), so a worker that dies loses no
 * event; the events it sent but had not yet recorded in a heartbeat are sent again by the next
 * attempt and dropped by the session, which keeps the ids it has seen (no event twice).
 */
import { z } from 'zod';
import { activityKind, type JulesActivity, type JulesArtifact } from '../../protocol/jules';
import type { Artifact } from '../../session/schema';
import type { AgentEventInput } from '../agent';

export const FollowCursor = z.object({
  /** The token of the page that holds the newest activity handed on (unset: the first page). */
  pageToken: z.string().optional(),
  /** createTime of the newest activity handed on, exactly as Jules sent it. */
  lastTime: z.string().optional(),
  /** The ids handed on that carry `lastTime` (Jules may stamp two activities alike). */
  idsAtLast: z.array(z.string()).default([]),
  /** Who spoke last: an agent message right after a user message is a reply (the chat shows it). */
  lastMessage: z.enum(['user', 'agent']).optional(),
});
export type FollowCursor = z.infer<typeof FollowCursor>;

/** What one call keeps in its heartbeat details: the Jules session, the cursor, whether its message was sent. */
export const CallDetails = z.object({
  julesSession: z.string().min(1),
  cursor: FollowCursor.optional(),
  sent: z.boolean().optional(),
});
export type CallDetails = z.infer<typeof CallDetails>;

/**
 * A time as nanoseconds since the epoch (BigInt): Jules stamps microseconds, which Date drops, and
 * strings compare only when they share one format.
 */
export function timeNs(time: string): bigint {
  const match = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/i.exec(time);
  if (!match) throw new Error(`not an RFC 3339 time: ${time}`);
  const seconds = Date.parse(`${match[1]}${match[3]}`);
  if (Number.isNaN(seconds)) throw new Error(`not an RFC 3339 time: ${time}`);
  const fraction = BigInt((match[2] ?? '').padEnd(9, '0'));
  return BigInt(seconds) * 1_000_000n + fraction;
}

/** Whether the activity comes after what the cursor has handed on. */
export function isAfter(activity: JulesActivity, cursor: FollowCursor): boolean {
  if (cursor.lastTime === undefined) return true;
  const a = timeNs(activity.createTime);
  const last = timeNs(cursor.lastTime);
  return a > last || (a === last && !cursor.idsAtLast.includes(activity.id));
}

/** The cursor once `activity` has been handed on. */
export function advance(cursor: FollowCursor, activity: JulesActivity): FollowCursor {
  const kind = activityKind(activity);
  const lastMessage = kind === 'userMessaged' ? 'user' : kind === 'agentMessaged' ? 'agent' : cursor.lastMessage;
  const same = cursor.lastTime !== undefined && timeNs(activity.createTime) === timeNs(cursor.lastTime);
  return {
    pageToken: cursor.pageToken,
    lastTime: same ? cursor.lastTime : activity.createTime,
    idsAtLast: same ? [...cursor.idsAtLast, activity.id] : [activity.id],
    lastMessage,
  };
}

export interface EventLimits {
  maxArtifactChars: number;
  maxPatchChars: number;
}

function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}\n… (${text.length - max} more characters cut)`;
}

/** Jules' artifacts in andon's shape, each bounded (a timeline event is carried in the session's state). */
export function toArtifacts(artifacts: JulesArtifact[], limits: EventLimits): { artifacts: Artifact[]; notes: string[] } {
  const out: Artifact[] = [];
  const notes: string[] = [];
  for (const artifact of artifacts.slice(0, 20)) {
    if ('changeSet' in artifact) {
      const patch = artifact.changeSet.gitPatch;
      out.push({
        type: 'changeSet',
        ...(artifact.changeSet.source ? { source: artifact.changeSet.source } : {}),
        gitPatch: {
          unidiffPatch: cut(patch?.unidiffPatch ?? '', limits.maxPatchChars),
          ...(patch?.baseCommitId ? { baseCommitId: patch.baseCommitId } : {}),
          ...(patch?.suggestedCommitMessage ? { suggestedCommitMessage: patch.suggestedCommitMessage } : {}),
        },
      });
    } else if ('bashOutput' in artifact) {
      const bash = artifact.bashOutput;
      out.push({
        type: 'bashOutput',
        command: cut(bash.command, 2_000),
        output: cut(bash.output, limits.maxArtifactChars),
        exitCode: bash.exitCode,
      });
    } else if (artifact.media.data.length <= limits.maxArtifactChars) {
      out.push({ type: 'media', mimeType: artifact.media.mimeType, data: artifact.media.data });
    } else {
      // Cutting base64 would leave a broken file: say it was there instead.
      notes.push(`(${artifact.media.mimeType} media of ${artifact.media.data.length} base64 characters left out)`);
    }
  }
  if (artifacts.length > 20) notes.push(`(${artifacts.length - 20} more artifacts left out)`);
  return { artifacts: out, notes };
}

/**
 * The timeline event a Jules activity becomes, if any. Left out: the user's messages and Jules'
 * replies to them (andon's chat records both), plan approvals (andon records its own), and the
 * end of the session (andon's own sessionCompleted/sessionFailed carry it), unless it brings
 * artifacts. `planned`: the plan phase hands on only what comes before the plan.
 */
export function toEvent(activity: JulesActivity, cursor: FollowCursor, limits: EventLimits): AgentEventInput | undefined {
  const kind = activityKind(activity);
  const id = `jules:${activity.id}`;
  const { artifacts, notes } = toArtifacts(activity.artifacts, limits);
  const extra = notes.length > 0 ? `\n${notes.join('\n')}` : '';
  const progress = (title: string, description: string): AgentEventInput => ({
    id,
    type: 'progressUpdated',
    title: cut(title || 'Jules', 500),
    description: cut(`${description}${extra}`.trim(), 8_000),
    artifacts,
  });
  if ('progressUpdated' in activity) return progress(activity.progressUpdated.title, activity.progressUpdated.description);
  if ('agentMessaged' in activity) {
    if (cursor.lastMessage === 'user') return undefined;
    const message = activity.agentMessaged.agentMessage.trim();
    if (message === '') return artifacts.length > 0 ? progress('Jules', '') : undefined;
    return { id, type: 'agentMessaged', message: cut(message, 32_000) };
  }
  if ('planGenerated' in activity) {
    const steps = activity.planGenerated.plan.steps.map((step, i) => `${i + 1}. ${step.title}`).join('\n');
    return progress('Jules revised its plan', steps);
  }
  if (kind === 'userMessaged' || kind === 'planApproved' || kind === 'sessionFailed') {
    return artifacts.length > 0 ? progress('Jules', '') : undefined;
  }
  // sessionCompleted: its artifacts (the final change set) are worth showing.
  return artifacts.length > 0 ? progress('Jules finished', activity.description ?? '') : undefined;
}
