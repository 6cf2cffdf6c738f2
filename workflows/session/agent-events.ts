/**
 * Events an agent emits while its activity runs (`agentEvents` signal, sent by the worker for
 * agents that follow an external session, such as Jules): they go on the timeline, and so on the
 * live stream, at once. Each id is recorded once: a retried activity resumes from the cursor in
 * its heartbeat details and may send again what its lost attempt had sent.
 */
import { AgentEventsInput } from '../../src/protocol/messages';
import { isTerminal } from '../../src/session/schema';
import { noteRejected } from './progress';
import { recordEvent, type Session } from './record';

/** How many recent event ids a session keeps to drop repeats (a retried call repeats only its last few). */
export const REMEMBERED_AGENT_EVENTS = 500;

/** Records the events not seen before; bad input is noted (a signal handler must not throw). */
export function receiveAgentEvents(s: Session, raw: unknown, now: Date): void {
  const parsed = AgentEventsInput.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    noteRejected(s, { message: 'agentEvents', reason: `${issue?.path.join('.') || '(input)'}: ${issue?.message}`, by: 'agent' }, now);
    return;
  }
  // A session that ended has its last word; late events from a call it stopped are not news.
  if (isTerminal(s.record.state)) return;
  const seen = (s.record.agentEventIds ??= []);
  for (const event of parsed.data.events) {
    if (seen.includes(event.id)) continue;
    seen.push(event.id);
    if (seen.length > REMEMBERED_AGENT_EVENTS) seen.splice(0, seen.length - REMEMBERED_AGENT_EVENTS);
    if (event.type === 'agentMessaged') recordEvent(s, { type: 'agentMessaged', originator: 'agent', message: event.message }, now);
    else {
      recordEvent(
        s,
        {
          type: 'progressUpdated',
          originator: 'agent',
          title: event.title,
          description: event.description,
          ...(s.record.state === 'inProgress' && s.record.plan ? { stepId: s.record.plan.steps[s.record.currentStep ?? 0]?.id } : {}),
          artifacts: event.artifacts,
        },
        now,
      );
    }
  }
}
