import { SessionCancelledError, SessionFailedError } from './errors';
import { changeSet, type ChangeSet, type GeneratedFiles } from './change-set';
import type { Output, SessionView } from '../session/schema';

export interface SessionOutcome {
  sessionId: string;
  title: string;
  state: 'completed';
  summary: string;
  outputs: Output[];
  /** The pull request a code session opened (or found open), as Jules gives it. */
  pullRequest?: { url: string; title: string; description: string };
  /** A code session's whole change from its base commit (the final `changeSet` output), when it changed anything. */
  changeSet(): ChangeSet | undefined;
  /** The change's files with contents (Jules' `generatedFiles()`); empty without a change. */
  generatedFiles(): GeneratedFiles;
}

/** What `result()` gives for a session that has ended: its outcome, or the error of how it ended. */
export function outcomeOf(view: SessionView): SessionOutcome {
  if (view.state === 'failed') throw new SessionFailedError(view);
  if (view.state === 'cancelled') throw new SessionCancelledError(view);
  const pr = view.outputs.find((o) => o.type === 'pullRequest');
  const outcome = {
    sessionId: view.id,
    title: view.title,
    state: 'completed' as const,
    summary: view.summary ?? '',
    outputs: view.outputs,
    pullRequest: pr?.type === 'pullRequest' ? pr.pullRequest : undefined,
  };
  // Methods, not data: left out of JSON and of equality checks on the outcome.
  return Object.defineProperties(outcome, {
    changeSet: { value: () => changeSet(outcome), enumerable: false },
    generatedFiles: { value: () => changeSet(outcome)?.generatedFiles() ?? changeSet('').generatedFiles(), enumerable: false },
  }) as SessionOutcome;
}
