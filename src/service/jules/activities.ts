/**
 * andon's timeline as Jules activities. The SDK knows seven activity kinds and three artifact
 * kinds, and one unknown kind breaks its stream for the whole session, so every andon event is
 * either mapped to one of them or left out (`toActivityBody`, exhaustive over the event types).
 *
 * Times: several andon events can share a millisecond (a workflow task stamps all it records with
 * one time), but the SDK's `updates()` remembers only the newest activity's time and id, so two
 * activities in one millisecond would be yielded again on every poll. Each activity's time is
 * therefore the event's time, or 1 ms after the previous activity's, whichever is later: a left
 * fold over the timeline (`TimeChain`), the same on every read, in one fixed text format
 * (`toISOString`: always three fraction digits and `Z`, so the strings sort as the times do).
 */
import type { Artifact as AndonArtifact, TimelineEvent } from '../../session/schema';
import { gitPatchOf, sessionName, sourceName } from './resources';
import type { Activity, Artifact, PayloadKind, Payloads } from './wire';
import type { z } from 'zod';

type PayloadOf<K extends PayloadKind> = z.infer<(typeof Payloads)[K]>;

/** One activity before its name and time: who, what, and its one payload. */
export type ActivityBody = {
  originator: 'user' | 'agent' | 'system';
  description?: string;
  artifacts?: Artifact[];
} & { [K in PayloadKind]: { kind: K; payload: PayloadOf<K> } }[PayloadKind];

const progress = (originator: ActivityBody['originator'], title: string, description = '', artifacts?: Artifact[]): ActivityBody => ({
  originator,
  kind: 'progressUpdated',
  payload: { title, description },
  ...(artifacts && artifacts.length > 0 ? { artifacts } : {}),
});

/** `by` as a person reads it: `api:alice` → alice. */
const who = (by: string) => by.replace(/^(api|slack|cli|sdk):/, '');

/** What a Jules client sees of one andon event (who did it: the event's own originator); undefined leaves it out. */
export function toActivityBody(event: TimelineEvent, time: string): ActivityBody | undefined {
  switch (event.type) {
    // The prompt and title are the session resource's own fields.
    case 'sessionCreated':
      return undefined;
    case 'planGenerated':
      return {
        originator: event.originator,
        kind: 'planGenerated',
        payload: {
          plan: {
            id: event.plan.id,
            steps: event.plan.steps.map((s) => ({ id: s.id, title: s.title, description: s.description, index: s.index })),
            createTime: time,
          },
        },
      };
    case 'planApproved':
      return { originator: event.originator, kind: 'planApproved', payload: { planId: event.planId } };
    case 'planRejected':
      return progress(
        event.originator,
        event.replan ? 'Plan rejected: planning again' : 'Plan rejected',
        `${who(event.by)}: ${event.reason}`,
      );
    case 'userMessaged':
      return { originator: event.originator, kind: 'userMessaged', payload: { userMessage: event.message } };
    case 'agentMessaged':
      return { originator: event.originator, kind: 'agentMessaged', payload: { agentMessage: event.message } };
    case 'progressUpdated':
      return progress(event.originator, event.title, event.description, event.artifacts.map(toArtifact));
    case 'sessionPaused':
      return progress(event.originator, 'Session paused', [who(event.by), event.reason].filter(Boolean).join(': '));
    case 'sessionResumed':
      return progress(event.originator, 'Session resumed', who(event.by));
    case 'sessionCompleted':
      return {
        originator: event.originator,
        kind: 'sessionCompleted',
        payload: {},
        ...(event.summary ? { description: event.summary } : {}),
      };
    case 'sessionFailed':
      return { originator: event.originator, kind: 'sessionFailed', payload: { reason: event.reason } };
    // Jules has no cancelled session: it did not complete, so it failed, with who pulled the cord.
    case 'sessionCancelled':
      return { originator: event.originator, kind: 'sessionFailed', payload: { reason: `cancelled by ${who(event.by)}: ${event.reason}` } };
    case 'inputRejected':
      return progress(event.originator, 'Input rejected', event.reason);
    case 'approvalRecorded':
      return progress(event.originator, `Approval recorded (${event.approvals} of ${event.required})`, who(event.person));
    case 'approvalRefused':
      return progress(event.originator, `${capitalised(event.decision)} refused`, event.reason);
    case 'approvalReminded':
      return progress(event.originator, 'Plan still awaits approval', `waiting ${Math.round(event.waitingMs / 1000)} s`);
    case 'approvalEscalated':
      return progress(event.originator, 'Approval escalated', event.escalateTo.join(', '));
    case 'memoryWritten':
      return progress(event.originator, `Memory written (${event.scope})`, event.content);
    // What the agent recalled is part of its planning, not something that happened in the session.
    case 'memoryRecalled':
      return undefined;
    case 'toolCalled':
      return progress(event.originator, `Tool ${event.tool}: ${event.status}`, '', [
        {
          bashOutput: {
            command: `${event.tool} ${JSON.stringify(event.arguments)}`,
            output: event.output,
            exitCode: event.status === 'ok' ? 0 : 1,
          },
        },
      ]);
    case 'reviewRequested':
      return progress(
        event.originator,
        `Tool call awaits review: ${event.review.tool}`,
        event.review.reason === 'risky' ? 'risky' : 'outside the plan',
      );
    case 'reviewDecided':
      return progress(event.originator, `Tool call review: ${event.decision}`, event.reason ?? '');
    case 'budgetReached':
      return progress(
        event.originator,
        'Budget reached',
        `spent ${event.usage.costUsd} USD, ${event.usage.inputTokens + event.usage.outputTokens} tokens`,
      );
    case 'workspacePrepared':
      return progress(event.originator, 'Workspace prepared', `${event.source} at ${event.branch} (${event.baseCommit.slice(0, 12)})`);
    case 'changesPublished':
      return progress(
        event.originator,
        event.pullRequest ? 'Pull request opened' : 'Changes published',
        event.pullRequest?.url ?? `${event.branch} at ${event.commit.slice(0, 12)}`,
      );
    case 'changesApproved':
      return progress(event.originator, 'Changes approved', who(event.by));
    case 'changesRejected':
      return progress(event.originator, 'Changes rejected', `${who(event.by)}: ${event.reason}`);
    case 'alertReceived':
      return progress(event.originator, `Alert ${event.status}: ${event.summary}`, event.url ?? '');
    default:
      return assertNever(event);
  }
}

function assertNever(event: never): never {
  throw new Error(`no Jules mapping for timeline event ${JSON.stringify((event as { type?: unknown }).type)}`);
}

const capitalised = (word: string) => word.charAt(0).toUpperCase() + word.slice(1);

export function toArtifact(artifact: AndonArtifact): Artifact {
  switch (artifact.type) {
    case 'changeSet':
      return { changeSet: { source: julesSourceName(artifact.source), gitPatch: gitPatchOf(artifact.gitPatch) } };
    case 'bashOutput':
      return { bashOutput: { command: artifact.command, output: artifact.output, exitCode: artifact.exitCode } };
    case 'media':
      return { media: { data: artifact.data, mimeType: artifact.mimeType } };
  }
}

/** andon's `github:owner/repo[@branch]` as Jules names the repository; other sources as they are. */
function julesSourceName(source: string | undefined): string {
  const match = /^github:([^@\s]+)(?:@\S*)?$/.exec(source ?? '');
  return match?.[1] ? sourceName(match[1]) : (source ?? '');
}

/** An activity with the seq of the event it came from (its id), for paging. */
export interface Numbered {
  seq: number;
  activity: Activity;
}

/** The time of the newest activity so far, in ms; each next one is strictly later. */
export class TimeChain {
  constructor(public lastMs = Number.NEGATIVE_INFINITY) {}

  next(time: string): string {
    const parsed = Date.parse(time);
    const ms = Math.max(Number.isNaN(parsed) ? this.lastMs + 1 : parsed, this.lastMs + 1);
    this.lastMs = ms;
    return new Date(ms).toISOString();
  }
}

/** The activities of `events` (oldest first), continuing `chain`. */
export function toActivities(sessionId: string, events: readonly TimelineEvent[], chain: TimeChain): Numbered[] {
  const out: Numbered[] = [];
  for (const event of events) {
    // The time is taken only for events that become activities: left-out ones do not push later ones on.
    const before = chain.lastMs;
    const time = chain.next(event.time);
    const body = toActivityBody(event, time);
    if (!body) {
      chain.lastMs = before;
      continue;
    }
    const { originator, description, artifacts, kind, payload } = body;
    const id = String(event.seq);
    out.push({
      seq: event.seq,
      activity: {
        name: `${sessionName(sessionId)}/activities/${id}`,
        id,
        createTime: time,
        originator,
        ...(description ? { description } : {}),
        ...(artifacts ? { artifacts } : {}),
        [kind]: payload,
      } as Activity,
    });
  }
  return out;
}
