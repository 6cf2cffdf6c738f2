/**
 * The Jules backend: an andon session drives one Jules session over Jules REST v1alpha
 * (docs/jules-backend.md). How the agent calls map:
 * - plan: creates the Jules session (or finds the one an earlier attempt created, by the marker
 *   in its title), waits for Jules' plan and returns it as the session's plan; a question Jules
 *   asks instead becomes the session's question. A re-plan sends the feedback as a message.
 * - executeStep: the first step approves Jules' plan (`:approvePlan`, after checking it is still
 *   the plan andon approved) and follows Jules until it completes or fails; Jules carries out the
 *   whole plan in one session, so the later steps only note that. Jules' activities go to the
 *   timeline as they happen (CallOptions.emit), with the page cursor in heartbeat details.
 * - reply: `:sendMessage`, then Jules' next `agentMessaged` is the answer.
 * - summarize: Jules' outputs (its pull request, its change set) become the session's outputs.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { activityKind, type JulesActivity, type JulesSession } from '../../protocol/jules';
import { BranchName, GitHubRepoName, type Output } from '../../session/schema';
import {
  AgentError,
  MAX_AGENT_EVENTS,
  type Agent,
  type AgentEventInput,
  type CallOptions,
  type PlanRequest,
  type PlanResultInput,
  type ReplyRequest,
  type ReplyResultInput,
  type StepRequest,
  type StepResultInput,
  type SummarizeRequest,
  type SummaryResultInput,
} from '../agent';
import { JulesClient } from './client';
import { JulesBackendConfig, type JulesBackendConfigInput } from './config';
import { CallDetails, advance, isAfter, toEvent, type FollowCursor } from './follow';

/** How long the summary waits for the pull request of a session that asked for one (it runs as a 2-minute local activity). */
const PR_WAIT_MS = 30_000;

/** How many andon → Jules session ids one worker keeps in memory. */
const REMEMBERED_SESSIONS = 10_000;

/** What a follow loop decided about an activity: go on, or stop with a value. */
type Verdict<T> = { stop: T } | undefined;

export class JulesAgent implements Agent {
  readonly name = 'jules';
  private readonly client: JulesClient;
  /** andon session id → Jules session id, for calls on this worker (others find it by the marker). */
  private readonly sessions = new Map<string, string>();
  /** One message check-and-send at a time per session on this worker (a reply and a re-plan may race). */
  private readonly sending = new Map<string, Promise<unknown>>();

  constructor(
    private readonly config: JulesBackendConfig,
    apiKey: string,
    fetchImpl?: typeof fetch,
  ) {
    this.client = new JulesClient({
      baseUrl: config.baseUrl,
      apiKey,
      apiKeyEnv: config.apiKeyEnv,
      requestTimeoutMs: config.requestTimeout,
      fetch: fetchImpl,
    });
  }

  /** The agent from its configuration; the key comes from the worker's environment and stays here. */
  static fromConfig(input: JulesBackendConfigInput, env: NodeJS.ProcessEnv = process.env): JulesAgent {
    const config = JulesBackendConfig.parse(input);
    const key = env[config.apiKeyEnv];
    if (!key || key.trim() === '') throw new Error(`the Jules API key is missing: set ${config.apiKeyEnv} in the worker's environment`);
    return new JulesAgent(config, key.trim());
  }

  /** Keeps the Jules id of a session for this worker's next calls; the oldest are forgotten (the marker finds them again). */
  private remember(sessionId: string, julesId: string): void {
    this.sessions.delete(sessionId);
    this.sessions.set(sessionId, julesId);
    if (this.sessions.size > REMEMBERED_SESSIONS) this.sessions.delete(this.sessions.keys().next().value as string);
  }

  // ---- plan --------------------------------------------------------------------------------

  async plan(request: PlanRequest, options: CallOptions): Promise<PlanResultInput> {
    const details = parseDetails(options.heartbeatDetails);
    const id =
      details?.julesSession ?? (await this.findSession(request.sessionId, options.signal)) ?? (await this.create(request, options));
    this.remember(request.sessionId, id);
    const feedback = request.round > 1 ? request.feedback.at(-1) : undefined;
    // Round 1 takes Jules' first plan; a re-plan takes the first plan after the feedback message
    // (and hands on only what came after it: what came before was handed on in an earlier round).
    const mark = feedback !== undefined ? await this.sendOnce(request.sessionId, id, feedback, options) : undefined;
    const after = mark ? advance({ idsAtLast: [] }, mark) : undefined;
    const cursor: FollowCursor = details?.cursor ?? after ?? { idsAtLast: [] };
    options.heartbeat({ julesSession: id, cursor } satisfies CallDetails);
    return this.follow<PlanResultInput>(id, cursor, options, 'plan', (activity, before) => {
      if (after && !isAfter(activity, after)) return undefined;
      if ('planGenerated' in activity) {
        const steps = activity.planGenerated.plan.steps.filter((step) => step.title.trim() !== '');
        if (steps.length === 0) throw new AgentError('Jules proposed a plan without steps', { retryable: false });
        return {
          stop: {
            kind: 'plan' as const,
            title: request.title,
            steps: steps.map((step) => ({ title: step.title.trim().slice(0, 500), description: step.description ?? '' })),
          },
        };
      }
      if ('sessionFailed' in activity) throw failed(id, activity.sessionFailed.reason);
      if ('agentMessaged' in activity && before.lastMessage !== 'user' && activity.agentMessaged.agentMessage.trim() !== '') {
        // Jules asks before it plans: the session waits for the answer, then plans again with it.
        return { stop: { kind: 'question' as const, question: activity.agentMessaged.agentMessage.trim() } };
      }
      return undefined;
    });
  }

  /** Creates the Jules session, marked with the andon session id so a retry finds it instead of making another. */
  private async create(request: PlanRequest, options: CallOptions): Promise<string> {
    const repo = request.context['jules.source'] ?? this.config.source;
    const branch = request.context['jules.branch'] ?? this.config.branch;
    // Checked here, not when the session starts: andon's context is free-form, and only this agent reads these keys.
    const badSource = repo !== undefined && !GitHubRepoName.safeParse(repo).success;
    if (badSource)
      throw new AgentError(`context jules.source: expected "owner/repo", got ${JSON.stringify(repo.slice(0, 100))}`, { retryable: false });
    if (branch !== undefined && !BranchName.safeParse(branch).success) {
      throw new AgentError(`context jules.branch: expected a git branch name, got ${JSON.stringify(branch.slice(0, 100))}`, {
        retryable: false,
      });
    }
    const created = await this.client.createSession(
      {
        prompt: request.prompt,
        title: `${request.title.slice(0, 150)} ${marker(request.sessionId)}`,
        // andon decides approval (its policies, Slack, deadlines), then approves Jules' plan.
        requirePlanApproval: true,
        automationMode: repo !== undefined && this.config.autoCreatePr ? 'AUTO_CREATE_PR' : 'AUTOMATION_MODE_UNSPECIFIED',
        ...(repo !== undefined
          ? { sourceContext: { source: `sources/github/${repo}`, ...(branch ? { githubRepoContext: { startingBranch: branch } } : {}) } }
          : {}),
      },
      options.signal,
    );
    // Recorded at once: a retry after this point resumes this session instead of creating one.
    options.heartbeat({ julesSession: created.id } satisfies CallDetails);
    return created.id;
  }

  /** The Jules session of an andon session: this worker's memory, or the newest sessions' titles. */
  private async findSession(sessionId: string, signal: AbortSignal): Promise<string | undefined> {
    const known = this.sessions.get(sessionId);
    if (known) return known;
    const tag = marker(sessionId);
    let pageToken: string | undefined;
    for (let page = 0; page < this.config.findPages; page++) {
      const list = await this.client.listSessions({ pageSize: 100, pageToken }, signal);
      const found = list.sessions.find((s) => s.title?.endsWith(tag));
      if (found) return found.id;
      if (!list.nextPageToken) return undefined;
      pageToken = list.nextPageToken;
    }
    return undefined;
  }

  // ---- steps -------------------------------------------------------------------------------

  async executeStep(request: StepRequest, options: CallOptions): Promise<StepResultInput> {
    if (request.step.index > 0) {
      return { description: 'Carried out by Jules as part of its session (see the first step).' };
    }
    const details = parseDetails(options.heartbeatDetails);
    const id = details?.julesSession ?? (await this.requireSession(request.sessionId, options.signal));
    let cursor = details?.cursor;
    if (cursor === undefined) {
      // First attempt: check the plan Jules would carry out is the one andon approved, approve it,
      // and follow from that plan on.
      const activities = await this.allActivities(id, options.signal);
      const planAt = lastIndex(activities, (a) => 'planGenerated' in a);
      const plan = planAt >= 0 ? activities[planAt] : undefined;
      if (!plan || !('planGenerated' in plan)) throw new AgentError(`Jules session ${id} has no plan to carry out`, { retryable: false });
      const titles = plan.planGenerated.plan.steps.map((s) => s.title.trim()).filter((t) => t !== '');
      const approved = request.plan.steps.map((s) => s.title);
      if (titles.length !== approved.length || titles.some((t, i) => t.slice(0, 500) !== approved[i])) {
        throw new AgentError(`Jules' plan changed after andon proposed it: the approved plan is not the one Jules would carry out`, {
          retryable: false,
        });
      }
      cursor = { idsAtLast: [] };
      for (const activity of activities.slice(0, planAt + 1)) cursor = advance(cursor, activity);
      options.heartbeat({ julesSession: id, cursor } satisfies CallDetails);
    }
    const session = await this.client.getSession(id, options.signal);
    if (session.state === 'AWAITING_PLAN_APPROVAL') await this.client.approvePlan(id, options.signal);
    let last: string | undefined;
    const done = () => ({ description: last ? `Jules completed its plan. Last: ${last}` : 'Jules completed its plan.' });
    return this.follow(
      id,
      cursor,
      options,
      'step',
      (activity) => {
        if ('progressUpdated' in activity) last = activity.progressUpdated.title;
        if ('sessionFailed' in activity) throw failed(id, activity.sessionFailed.reason);
        return 'sessionCompleted' in activity ? { stop: done() } : undefined;
      },
      done,
    );
  }

  // ---- chat --------------------------------------------------------------------------------

  async reply(request: ReplyRequest, options: CallOptions): Promise<ReplyResultInput> {
    const details = parseDetails(options.heartbeatDetails);
    const id = details?.julesSession ?? (await this.requireSession(request.sessionId, options.signal));
    // A retry whose message went out already waits for the answer to it instead of sending again.
    const mark =
      (details?.sent ? await this.lastUserMessage(id, request.message, options.signal) : undefined) ??
      (await this.sendOnce(request.sessionId, id, request.message, options));
    options.heartbeat({ julesSession: id, sent: true } satisfies CallDetails);
    const after = advance({ idsAtLast: [] }, mark);
    return this.follow(id, { idsAtLast: [] }, options, 'reply', (activity) => {
      if (!isAfter(activity, after)) return undefined;
      if ('agentMessaged' in activity && activity.agentMessaged.agentMessage.trim() !== '') {
        return { stop: { message: activity.agentMessaged.agentMessage.trim() } };
      }
      if ('planGenerated' in activity) {
        const steps = activity.planGenerated.plan.steps.map((s, i) => `${i + 1}. ${s.title}`).join('\n');
        return { stop: { message: `Jules proposed a plan:\n${steps}` } };
      }
      if ('sessionFailed' in activity) throw failed(id, activity.sessionFailed.reason);
      return undefined;
    });
  }

  async summarize(request: SummarizeRequest, options: CallOptions): Promise<SummaryResultInput> {
    const id = await this.requireSession(request.sessionId, options.signal);
    let session = await this.client.getSession(id, options.signal);
    // Jules may open the pull request a little after it completes: wait for it, but not for long.
    const wantsPr = session.automationMode === 'AUTO_CREATE_PR' && session.sourceContext !== undefined;
    for (const until = Date.now() + PR_WAIT_MS; wantsPr && !session.outputs.some((o) => 'pullRequest' in o) && Date.now() < until;) {
      await sleep(this.config.pollInterval, undefined, { signal: options.signal });
      session = await this.client.getSession(id, options.signal);
    }
    const outputs = toOutputs(session);
    const pr = outputs.find((o) => o.type === 'pullRequest');
    const done = request.steps.at(0)?.description ?? 'Jules completed its plan.';
    return { summary: pr && pr.type === 'pullRequest' ? `${done}\nPull request: ${pr.pullRequest.url}` : done, outputs };
  }

  // ---- the follow loop ----------------------------------------------------------------------

  /**
   * Reads the activity log from `cursor` on, page by page, and again every poll interval once at
   * its end, until `decide` stops. In `plan` and `step` calls, each activity's timeline event is
   * emitted before the cursor moves past it, and the cursor goes into the heartbeat details.
   */
  private async follow<T>(
    id: string,
    start: FollowCursor,
    options: CallOptions,
    call: 'plan' | 'step' | 'reply',
    decide: (activity: JulesActivity, before: FollowCursor) => Verdict<T>,
    completed: () => T = () => {
      throw new Error('unreachable: only step calls end on COMPLETED');
    },
  ): Promise<T> {
    let cursor = start;
    /** The cursor when the session was first seen COMPLETED with nothing more to read. */
    let completedAt: string | undefined | null = null;
    const emits = call !== 'reply' && options.emit !== undefined;
    for (;;) {
      const page = await this.client.listActivities(id, { pageSize: this.config.pageSize, pageToken: cursor.pageToken }, options.signal);
      const events: AgentEventInput[] = [];
      let verdict: Verdict<T>;
      let failure: unknown;
      let whole = true;
      for (const activity of page.activities) {
        if (!isAfter(activity, cursor)) continue;
        try {
          verdict = decide(activity, cursor);
        } catch (error) {
          // Jules failed: what came before it still goes on the timeline.
          failure = error;
          whole = false;
          break;
        }
        // The activity a plan call stops at is its result (the plan, the question), not an event of its own.
        const event = call === 'plan' && verdict ? undefined : toEvent(activity, cursor, this.config);
        if (event && emits) events.push(event);
        cursor = advance(cursor, activity);
        if (verdict) {
          whole = false;
          break;
        }
      }
      for (let i = 0; i < events.length; i += MAX_AGENT_EVENTS) await options.emit!(events.slice(i, i + MAX_AGENT_EVENTS));
      if (whole && page.nextPageToken) cursor = { ...cursor, pageToken: page.nextPageToken };
      if (call !== 'reply') options.heartbeat({ julesSession: id, cursor } satisfies CallDetails);
      if (failure !== undefined) throw failure;
      if (verdict) return verdict.stop;
      if (!page.nextPageToken) {
        // At the end of the log: a session that ended without saying so in an activity still ends
        // the wait. COMPLETED counts only when a second read of the log brought nothing new, so
        // activities listed just before the state changed are still handed on.
        const session = await this.client.getSession(id, options.signal);
        if (session.state === 'FAILED') throw failed(id, 'Jules reported the session failed');
        if (call === 'step' && session.state === 'COMPLETED') {
          if (completedAt === cursor.lastTime) return completed();
          completedAt = cursor.lastTime;
          continue;
        }
        await sleep(this.config.pollInterval, undefined, { signal: options.signal });
      }
    }
  }

  private async allActivities(id: string, signal: AbortSignal): Promise<JulesActivity[]> {
    const all: JulesActivity[] = [];
    let pageToken: string | undefined;
    for (;;) {
      const page = await this.client.listActivities(id, { pageSize: 100, pageToken }, signal);
      all.push(...page.activities);
      if (!page.nextPageToken) return all;
      pageToken = page.nextPageToken;
    }
  }

  private async requireSession(sessionId: string, signal: AbortSignal): Promise<string> {
    const id = await this.findSession(sessionId, signal);
    if (id === undefined)
      throw new AgentError('Jules has not started on this session yet: ask again once it has a plan', { retryable: false });
    this.remember(sessionId, id);
    return id;
  }

  /** The id of the newest `userMessaged` with this text (the message an earlier attempt sent). */
  private async lastUserMessage(id: string, text: string, signal: AbortSignal): Promise<JulesActivity | undefined> {
    const activities = await this.allActivities(id, signal);
    const at = lastIndex(activities, (a) => 'userMessaged' in a && a.userMessaged.userMessage.trim() === text.trim());
    return at >= 0 ? activities[at] : undefined;
  }

  /**
   * Sends `text` unless it is already Jules' newest unanswered message (a re-plan and a reply to
   * the same answer, or a retried call, must not send it twice). Returns the id of the
   * `userMessaged` activity to wait after.
   */
  private async sendOnce(sessionId: string, id: string, text: string, options: CallOptions): Promise<JulesActivity> {
    const previous = this.sending.get(sessionId) ?? Promise.resolve();
    const run = previous
      .catch(() => undefined)
      .then(async () => {
        const pending = await this.unanswered(id, text, options.signal);
        if (pending !== undefined) return pending;
        await this.client.sendMessage(id, text, options.signal);
        // Jules records the message as an activity; wait until it is listed.
        for (;;) {
          const sent = await this.unanswered(id, text, options.signal);
          if (sent !== undefined) return sent;
          await sleep(Math.min(this.config.pollInterval, 1_000), undefined, { signal: options.signal });
        }
      });
    this.sending.set(sessionId, run);
    try {
      return await run;
    } finally {
      if (this.sending.get(sessionId) === run) this.sending.delete(sessionId);
    }
  }

  /** The newest user message with this text, when nothing from Jules answered it yet. */
  private async unanswered(id: string, text: string, signal: AbortSignal): Promise<JulesActivity | undefined> {
    const activities = await this.allActivities(id, signal);
    const at = lastIndex(activities, (a) => 'userMessaged' in a && a.userMessaged.userMessage.trim() === text.trim());
    if (at < 0) return undefined;
    const answered = activities.slice(at + 1).some((a) => {
      const kind = activityKind(a);
      return kind === 'agentMessaged' || kind === 'planGenerated' || kind === 'sessionCompleted' || kind === 'sessionFailed';
    });
    return answered ? undefined : activities[at];
  }
}

/** What marks a Jules session as this andon session's (in its title). */
export function marker(sessionId: string): string {
  return `[andon:${sessionId}]`;
}

function failed(id: string, reason: string): AgentError {
  return new AgentError(`Jules session ${id} failed: ${reason.trim() || 'no reason given'}`, { retryable: false, code: 'JulesFailed' });
}

function lastIndex<T>(items: readonly T[], test: (item: T) => boolean): number {
  for (let i = items.length - 1; i >= 0; i--) if (test(items[i]!)) return i;
  return -1;
}

function parseDetails(details: unknown): CallDetails | undefined {
  const parsed = CallDetails.safeParse(details);
  return parsed.success ? parsed.data : undefined;
}

/** Jules' outputs in andon's shape: pull requests and change sets. */
export function toOutputs(session: JulesSession): Output[] {
  return session.outputs.map((output): Output => {
    if ('pullRequest' in output) {
      const pr = output.pullRequest;
      return { type: 'pullRequest', pullRequest: { url: pr.url, title: pr.title, description: pr.description } };
    }
    const patch = output.changeSet.gitPatch;
    return {
      type: 'changeSet',
      gitPatch: {
        unidiffPatch: patch?.unidiffPatch ?? '',
        ...(patch?.baseCommitId ? { baseCommitId: patch.baseCommitId } : {}),
        ...(patch?.suggestedCommitMessage ? { suggestedCommitMessage: patch.suggestedCommitMessage } : {}),
      },
    };
  });
}
