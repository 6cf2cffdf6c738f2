/**
 * andon's sessions as Jules REST resources: the state names, the session resource and its
 * outputs, and sources. Pure functions of the session view, so the same session reads the same
 * through every door.
 */
import type { Output as AndonOutput, SessionState, SessionView } from '../../session/schema';
import type { JulesSource } from './config';
import type { AutomationMode, JulesState, Output, Session, Source } from './wire';

/**
 * Every andon state has a Jules name (a name the SDK does not know would leave `waitFor` waiting
 * forever). Where andon has more states than Jules:
 * - `creating` is still `QUEUED`;
 * - `awaitingChangeApproval` (a code session's change set awaits approval before it is published)
 *   is `AWAITING_PLAN_APPROVAL`, because `:approvePlan` is the call that moves it on;
 * - `cancelled` is `FAILED`: Jules has no cancelled state, and the session did not complete.
 */
export const STATE_NAMES: Record<SessionState, JulesState> = {
  unspecified: 'STATE_UNSPECIFIED',
  creating: 'QUEUED',
  queued: 'QUEUED',
  planning: 'PLANNING',
  awaitingPlanApproval: 'AWAITING_PLAN_APPROVAL',
  awaitingUserFeedback: 'AWAITING_USER_FEEDBACK',
  inProgress: 'IN_PROGRESS',
  awaitingChangeApproval: 'AWAITING_PLAN_APPROVAL',
  paused: 'PAUSED',
  completed: 'COMPLETED',
  failed: 'FAILED',
  cancelled: 'FAILED',
};

/** andon states a Jules state name stands for (list filters by `state = …`). */
export function andonStatesOf(state: JulesState): SessionState[] {
  return (Object.entries(STATE_NAMES) as [SessionState, JulesState][]).filter(([, name]) => name === state).map(([andon]) => andon);
}

export const sessionName = (id: string) => `sessions/${id}`;
export const sourceName = (github: string) => `sources/github/${github}`;

/** `github:owner/repo[@branch]` (view.workspace.source) as a Jules source name; other sources have none. */
export function sourceOfView(view: SessionView): string | undefined {
  const match = /^github:([^@\s]+)(?:@\S*)?$/.exec(view.workspace?.source ?? '');
  return match?.[1] ? sourceName(match[1]) : undefined;
}

/** What a Jules create asked for, which the view cannot tell (it is echoed on the create answer). */
export interface CreateFacts {
  automationMode: AutomationMode;
  source?: string;
  startingBranch?: string;
}

export function toSession(view: SessionView, facts?: CreateFacts): Session {
  const source = facts?.source ?? sourceOfView(view);
  const startingBranch = facts?.startingBranch ?? view.workspace?.branch;
  const outputs = view.outputs.map((output) => toOutput(output, source));
  return {
    name: sessionName(view.id),
    id: view.id,
    prompt: view.prompt,
    title: view.title,
    state: STATE_NAMES[view.state],
    createTime: view.createTime,
    updateTime: view.updateTime,
    requirePlanApproval: view.requirePlanApproval,
    // After creation andon keeps no record of the mode asked for; a pull request opened is the evidence of it.
    automationMode:
      facts?.automationMode ??
      (outputs.some((o) => 'pullRequest' in o) || view.workspace?.published?.pullRequest
        ? 'AUTO_CREATE_PR'
        : 'AUTOMATION_MODE_UNSPECIFIED'),
    ...(source ? { sourceContext: { source, ...(startingBranch ? { githubRepoContext: { startingBranch } } : {}) } } : {}),
    outputs,
    // andon has no archived sessions (docs/jules.md#archive).
    archived: false,
  };
}

export function toOutput(output: AndonOutput, source: string | undefined): Output {
  if (output.type === 'pullRequest') {
    const { url, title, description } = output.pullRequest;
    return { pullRequest: { url, title, description } };
  }
  return { changeSet: { source: source ?? '', gitPatch: gitPatchOf(output.gitPatch) } };
}

export function gitPatchOf(patch: { unidiffPatch: string; baseCommitId?: string; suggestedCommitMessage?: string }) {
  return {
    unidiffPatch: patch.unidiffPatch,
    baseCommitId: patch.baseCommitId ?? '',
    suggestedCommitMessage: patch.suggestedCommitMessage ?? '',
  };
}

export function toSource(source: JulesSource): Source {
  const [owner = '', repo = ''] = source.github.split('/');
  return {
    name: sourceName(source.github),
    id: `github/${source.github}`,
    githubRepo: {
      owner,
      repo,
      isPrivate: source.private,
      ...('defaultBranch' in source && source.defaultBranch ? { defaultBranch: { displayName: source.defaultBranch } } : {}),
      ...(source.branches.length > 0 ? { branches: source.branches.map((displayName) => ({ displayName })) } : {}),
    },
  };
}
