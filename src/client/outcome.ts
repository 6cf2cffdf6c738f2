import { SessionCancelledError, SessionFailedError } from './errors';
import type { Output, SessionView } from '../session/schema';

export interface SessionOutcome {
  sessionId: string;
  title: string;
  state: 'completed';
  summary: string;
  outputs: Output[];
  pullRequest?: { url: string; title: string; description: string };
}

/** What `result()` gives for a session that has ended: its outcome, or the error of how it ended. */
export function outcomeOf(view: SessionView): SessionOutcome {
  if (view.state === 'failed') throw new SessionFailedError(view);
  if (view.state === 'cancelled') throw new SessionCancelledError(view);
  const pr = view.outputs.find((o) => o.type === 'pullRequest');
  return {
    sessionId: view.id,
    title: view.title,
    state: 'completed',
    summary: view.summary ?? '',
    outputs: view.outputs,
    pullRequest: pr?.type === 'pullRequest' ? pr.pullRequest : undefined,
  };
}
