/**
 * The Jules door's mapping of andon's sessions (src/service/jules/): every andon state has one of
 * the nine Jules names, every timeline event becomes one of the seven activity kinds the SDK knows
 * (or is left out), times are strictly increasing at millisecond resolution in one text format,
 * outputs are only pullRequest or changeSet, and page tokens and filters are checked like input.
 */
import { loadConfig } from '../../src/config';
import { HttpError } from '../../src/protocol/http-errors';
import { SESSION_STATES, SessionView, TimelineEvent, type EventType } from '../../src/session/schema';
import { TimeChain, toActivities, toActivityBody } from '../../src/service/jules/activities';
import { JulesConfig } from '../../src/service/jules/config';
import { googleBody } from '../../src/service/jules/errors';
import { TokenRateLimiter } from '../../src/service/jules/rate-limit';
import {
  activityToken,
  parseFilter,
  parseSourceFilter,
  readActivityToken,
  readSessionToken,
  sessionToken,
} from '../../src/service/jules/paging';
import { STATE_NAMES, andonStatesOf, toSession, toSource } from '../../src/service/jules/resources';
import { Activity, JULES_STATES, PAYLOAD_KINDS, Session, Source } from '../../src/service/jules/wire';

const T0 = '2026-12-05T08:00:00.000Z';
const base = (seq: number, time = T0) => ({ seq, time, originator: 'system' as const });
const plan = { id: 'plan-1', steps: [{ id: 's1', index: 0, title: 'Look', description: 'look around' }] };
const review = {
  id: 'r1',
  stepId: 's1',
  toolCallId: 'c1',
  tool: 'kubectl',
  arguments: { ns: 'x' },
  reason: 'risky' as const,
  createdAt: T0,
};

/** One event of every type andon records (a type missing here fails the exhaustiveness test below). */
const SAMPLES: TimelineEvent[] = [
  { ...base(1), type: 'sessionCreated', prompt: 'p', title: 't', requirePlanApproval: true },
  { ...base(2), originator: 'agent', type: 'planGenerated', plan },
  { ...base(3), originator: 'user', type: 'planApproved', planId: 'plan-1', by: 'api:alice' },
  { ...base(4), type: 'planRejected', planId: 'plan-1', by: 'api:alice', reason: 'no', replan: true },
  { ...base(5), originator: 'user', type: 'userMessaged', messageId: 'm1', message: 'hi', by: 'api:alice' },
  { ...base(6), originator: 'agent', type: 'agentMessaged', message: 'hello' },
  {
    ...base(7),
    type: 'progressUpdated',
    title: 'Step done',
    description: 'did it',
    artifacts: [
      { type: 'changeSet', source: 'github:acme/app', gitPatch: { unidiffPatch: '--- a\n+++ b\n' } },
      { type: 'bashOutput', command: 'ls', output: 'a', exitCode: 0 },
      { type: 'media', mimeType: 'image/png', data: 'AAAA' },
    ],
  },
  { ...base(8), type: 'sessionPaused', by: 'api:alice', reason: 'lunch' },
  { ...base(9), type: 'sessionResumed', by: 'api:alice' },
  { ...base(10), type: 'inputRejected', message: 'x', reason: 'bad' },
  { ...base(11), type: 'approvalRecorded', planId: 'plan-1', by: 'slack:U1', person: 'slack:U1', approvals: 1, required: 2 },
  { ...base(12), type: 'approvalRefused', decision: 'approve', by: 'api:bob', code: 'NotAllowed', reason: 'not an approver' },
  { ...base(13), type: 'approvalReminded', planId: 'plan-1', waitingMs: 60_000 },
  { ...base(14), type: 'approvalEscalated', planId: 'plan-1', escalateTo: ['lead'] },
  { ...base(15), type: 'memoryWritten', memoryId: 'mem1', scope: 'session', content: 'remember', by: 'api:alice' },
  { ...base(16), type: 'memoryRecalled', memories: [] },
  {
    ...base(17),
    type: 'toolCalled',
    stepId: 's1',
    toolCallId: 'c1',
    tool: 'kubectl',
    arguments: { ns: 'x' },
    status: 'error',
    output: 'boom',
  },
  { ...base(18), type: 'reviewRequested', review },
  { ...base(19), type: 'reviewDecided', reviewId: 'r1', decision: 'deny', by: 'api:alice', reason: 'no' },
  { ...base(20), type: 'budgetReached', usage: { inputTokens: 1, outputTokens: 2, costUsd: 0.5 }, budget: { costUsd: 0.5 } },
  { ...base(21), type: 'workspacePrepared', source: 'github:acme/app', branch: 'main', baseCommit: 'abcdef0123456789' },
  { ...base(22), type: 'changesPublished', branch: 'andon/x', commit: '0123456789abcdef', files: 1, additions: 1, deletions: 0 },
  { ...base(23), type: 'changesApproved', changeSetHash: 'h', by: 'api:alice' },
  { ...base(24), type: 'changesRejected', changeSetHash: 'h', by: 'api:alice', reason: 'no' },
  { ...base(25), type: 'alertReceived', source: 'grafana', fingerprint: 'f', status: 'firing', summary: 'down', labels: {} },
  { ...base(26), type: 'sessionCompleted', summary: 'done', outputs: [] },
  { ...base(27), type: 'sessionFailed', reason: 'broke' },
  { ...base(28), type: 'sessionCancelled', by: 'api:alice', reason: 'wrong' },
].map((event) => TimelineEvent.parse(event));

describe('states', () => {
  it('gives every andon state one of the nine Jules names, and every Jules name back', () => {
    for (const state of SESSION_STATES) expect(JULES_STATES).toContain(STATE_NAMES[state]);
    expect(STATE_NAMES.cancelled).toBe('FAILED');
    expect(STATE_NAMES.awaitingChangeApproval).toBe('AWAITING_PLAN_APPROVAL');
    for (const name of JULES_STATES.filter((n) => n !== 'STATE_UNSPECIFIED'))
      for (const state of andonStatesOf(name)) expect(STATE_NAMES[state]).toBe(name);
    expect(andonStatesOf('FAILED').sort()).toEqual(['cancelled', 'failed']);
  });
});

describe('activities', () => {
  it('has a sample of every timeline event type', () => {
    const all = TimelineEvent.options.map((option) => option.shape.type.value as EventType).sort();
    expect(SAMPLES.map((e) => e.type).sort()).toEqual(all);
  });

  it('maps every event to one of the seven kinds with only the three artifact kinds, or leaves it out', () => {
    const activities = toActivities('s-1', SAMPLES, new TimeChain());
    for (const { activity } of activities) {
      expect(Activity.safeParse(activity).success).toBe(true);
      const kinds = PAYLOAD_KINDS.filter((kind) => kind in activity);
      expect(kinds).toHaveLength(1);
      for (const artifact of activity.artifacts ?? []) expect(Object.keys(artifact)).toHaveLength(1);
    }
    const left = SAMPLES.filter((e) => toActivityBody(e, T0) === undefined).map((e) => e.type);
    expect(left).toEqual(['sessionCreated', 'memoryRecalled']);
  });

  it('maps the kinds the SDK shares with andon to themselves, and a cancel to sessionFailed', () => {
    const byType = new Map(SAMPLES.map((e) => [e.type, toActivityBody(e, T0)]));
    expect(byType.get('planGenerated')).toMatchObject({
      kind: 'planGenerated',
      originator: 'agent',
      payload: { plan: { id: 'plan-1', steps: [{ id: 's1', index: 0, title: 'Look', description: 'look around' }], createTime: T0 } },
    });
    expect(byType.get('userMessaged')).toMatchObject({ kind: 'userMessaged', originator: 'user', payload: { userMessage: 'hi' } });
    expect(byType.get('agentMessaged')).toMatchObject({ kind: 'agentMessaged', originator: 'agent', payload: { agentMessage: 'hello' } });
    // Who did it is the event's own originator: a plan approved by policy is a system activity.
    expect(byType.get('planApproved')).toMatchObject({ kind: 'planApproved', originator: 'user', payload: { planId: 'plan-1' } });
    expect(toActivityBody({ ...SAMPLES[2]!, originator: 'system' } as TimelineEvent, T0)?.originator).toBe('system');
    expect(byType.get('sessionCancelled')).toMatchObject({ kind: 'sessionFailed', payload: { reason: 'cancelled by alice: wrong' } });
    expect(byType.get('toolCalled')).toMatchObject({ artifacts: [{ bashOutput: { command: 'kubectl {"ns":"x"}', exitCode: 1 } }] });
    expect(byType.get('progressUpdated')?.artifacts).toEqual([
      {
        changeSet: {
          source: 'sources/github/acme/app',
          gitPatch: { unidiffPatch: '--- a\n+++ b\n', baseCommitId: '', suggestedCommitMessage: '' },
        },
      },
      { bashOutput: { command: 'ls', output: 'a', exitCode: 0 } },
      { media: { data: 'AAAA', mimeType: 'image/png' } },
    ]);
  });

  it('names activities after their session and seq, and makes times strictly increasing in one format', () => {
    // Everything in one millisecond (one workflow task), then one later event, then one earlier (clock skew).
    const events = SAMPLES.slice(1, 6).concat([
      TimelineEvent.parse({ ...base(30, '2026-12-05T08:00:00.002Z'), type: 'agentMessaged', message: 'later' }),
      TimelineEvent.parse({ ...base(31, '2026-12-05T07:59:59.000Z'), type: 'agentMessaged', message: 'skewed' }),
    ]);
    const activities = toActivities('s-1', events, new TimeChain()).map((n) => n.activity);
    expect(activities[0]).toMatchObject({ name: 'sessions/s-1/activities/2', id: '2', createTime: T0 });
    const times = activities.map((a) => a.createTime);
    expect(times).toEqual([
      '2026-12-05T08:00:00.000Z',
      '2026-12-05T08:00:00.001Z',
      '2026-12-05T08:00:00.002Z',
      '2026-12-05T08:00:00.003Z',
      '2026-12-05T08:00:00.004Z',
      '2026-12-05T08:00:00.005Z',
      '2026-12-05T08:00:00.006Z',
    ]);
    expect([...times].sort()).toEqual(times);
  });

  it('gives the same times read whole or in pages (the chain goes on from a page token)', () => {
    const whole = toActivities('s-1', SAMPLES, new TimeChain()).map((n) => n.activity.createTime);
    const first = toActivities('s-1', SAMPLES.slice(0, 10), new TimeChain());
    const last = first.at(-1)!;
    const token = readActivityToken(activityToken({ s: last.seq, m: Date.parse(last.activity.createTime) }));
    const rest = toActivities(
      's-1',
      SAMPLES.filter((e) => e.seq > token.s),
      new TimeChain(token.m),
    );
    expect([...first, ...rest].map((n) => n.activity.createTime)).toEqual(whole);
  });

  it('does not let a left-out event push the next one later', () => {
    const events = [SAMPLES[0]!, SAMPLES[1]!];
    expect(toActivities('s', events, new TimeChain()).map((n) => n.activity.createTime)).toEqual([T0]);
  });
});

describe('sessions and sources', () => {
  const view = SessionView.parse({
    id: 'sess-1',
    state: 'completed',
    title: 'Fix',
    prompt: 'fix it',
    context: {},
    requirePlanApproval: true,
    createTime: T0,
    updateTime: T0,
    pauseRequested: false,
    outputs: [
      { type: 'changeSet', gitPatch: { unidiffPatch: 'diff', baseCommitId: 'abc' } },
      { type: 'pullRequest', pullRequest: { url: 'https://github.com/acme/app/pull/1', title: 'Fix', description: 'd' } },
    ],
    lastSeq: 9,
    pendingMessages: 0,
    workspace: { source: 'github:acme/app@main', branch: 'main', baseCommit: 'abc' },
  });

  it('names the session, maps its outputs and source, and says it opened a pull request', () => {
    const session = toSession(view);
    expect(Session.parse(session)).toEqual(session);
    expect(session).toMatchObject({
      name: 'sessions/sess-1',
      id: 'sess-1',
      state: 'COMPLETED',
      automationMode: 'AUTO_CREATE_PR',
      archived: false,
      sourceContext: { source: 'sources/github/acme/app', githubRepoContext: { startingBranch: 'main' } },
      outputs: [
        {
          changeSet: {
            source: 'sources/github/acme/app',
            gitPatch: { unidiffPatch: 'diff', baseCommitId: 'abc', suggestedCommitMessage: '' },
          },
        },
        { pullRequest: { url: 'https://github.com/acme/app/pull/1', title: 'Fix', description: 'd' } },
      ],
    });
    expect(toSession({ ...view, outputs: [], workspace: undefined })).not.toHaveProperty('sourceContext');
  });

  it('reads sources from configuration (a name, or with branches) and the environment form', () => {
    const config = JulesConfig.parse({
      sources: ['acme/app', { github: 'acme/docs', defaultBranch: 'main', branches: ['main'], private: true }],
    });
    expect(config.sources.map(toSource).map((s) => Source.parse(s))).toEqual([
      { name: 'sources/github/acme/app', id: 'github/acme/app', githubRepo: { owner: 'acme', repo: 'app', isPrivate: false } },
      {
        name: 'sources/github/acme/docs',
        id: 'github/acme/docs',
        githubRepo: {
          owner: 'acme',
          repo: 'docs',
          isPrivate: true,
          defaultBranch: { displayName: 'main' },
          branches: [{ displayName: 'main' }],
        },
      },
    ]);
    expect(JulesConfig.parse({ sources: 'acme/app, acme/docs' }).sources.map((s) => s.github)).toEqual(['acme/app', 'acme/docs']);
    const fromEnv = loadConfig({ base: {}, root: '/srv/andon', env: { ANDON_JULES_SOURCES: 'acme/app,acme/docs' } });
    expect(fromEnv.service.jules.sources.map((s) => s.github)).toEqual(['acme/app', 'acme/docs']);
    expect(() => loadConfig({ base: {}, root: '/srv/andon', env: { ANDON_JULES_SOURCES: 'acme' } })).toThrow(/ANDON_JULES_SOURCES/);
    expect(JulesConfig.safeParse({ sources: ['acme/app', 'acme/app'] }).success).toBe(false);
    expect(JulesConfig.safeParse({ sources: ['not a repo'] }).success).toBe(false);
  });
});

describe('page tokens and filters', () => {
  const field = (fn: () => unknown) => {
    try {
      fn();
    } catch (error) {
      return error instanceof HttpError ? `${error.statusCode} ${error.details.field}` : String(error);
    }
    return 'accepted';
  };

  it('round-trips tokens and refuses tampered ones with 400 naming pageToken', () => {
    expect(readSessionToken(sessionToken({ t: T0, x: ['a'] }))).toEqual({ t: T0, x: ['a'] });
    for (const bad of ['', '!!', 'e30', Buffer.from('{"t":"x","x":[]}').toString('base64url'), 'A'.repeat(5_000)])
      expect(field(() => readSessionToken(bad))).toBe('400 pageToken');
    expect(field(() => readActivityToken(Buffer.from('{"s":-1,"m":0}').toString('base64url')))).toBe('400 pageToken');
  });

  it('reads the filter forms Jules clients send and refuses others with 400 naming filter', () => {
    const all = new Set(['archived', 'state', 'create_time'] as const);
    expect(parseFilter('create_time>"2026-12-05T08:00:00.123Z"', new Set(['create_time'] as const))).toEqual({
      times: [{ op: '>', ms: Date.parse('2026-12-05T08:00:00.123Z') }],
    });
    expect(parseFilter('archived = false AND state = COMPLETED', all)).toEqual({ archived: false, states: ['COMPLETED'], times: [] });
    expect(parseFilter(undefined, all)).toEqual({ times: [] });
    for (const bad of ['state = DONE', 'title = "x"', 'create_time > "yesterday"', 'archived = maybe', 'x'.repeat(1_001)])
      expect(field(() => parseFilter(bad, all))).toBe('400 filter');
    expect(field(() => parseFilter('state = COMPLETED', new Set(['create_time'] as const)))).toBe('400 filter');
    expect([...parseSourceFilter('name="sources/github/Acme/App" OR name = "sources/github/a/b"')!]).toEqual([
      'sources/github/acme/app',
      'sources/github/a/b',
    ]);
    expect(field(() => parseSourceFilter('owner = "acme"'))).toBe('400 filter');
  });

  it("answers errors in Google's shape, with the bad field as a BadRequest violation", () => {
    expect(googleBody(new HttpError(400, 'invalid_argument', 'bad prompt', { field: 'prompt' }))).toEqual({
      error: {
        code: 400,
        message: 'bad prompt',
        status: 'INVALID_ARGUMENT',
        details: [
          { '@type': 'type.googleapis.com/google.rpc.BadRequest', fieldViolations: [{ field: 'prompt', description: 'bad prompt' }] },
        ],
      },
    });
    expect(googleBody(new HttpError(409, 'invalid_state', 'not now', { state: 'completed' })).error.status).toBe('FAILED_PRECONDITION');
    expect(googleBody(new HttpError(401, 'unauthorized', 'who?')).error.status).toBe('UNAUTHENTICATED');
    expect(googleBody(new HttpError(429, 'resource_exhausted', 'slow down')).error.status).toBe('RESOURCE_EXHAUSTED');
  });
});

describe('the rate limit', () => {
  it('lets each token make its requests per window, then answers 429 with Retry-After until the window turns', () => {
    let now = 0;
    const limiter = new TokenRateLimiter({ requests: 2, windowMs: 10_000 }, () => now);
    limiter.take('alice');
    limiter.take('alice');
    limiter.take('bob');
    now = 2_500;
    let refused: unknown;
    try {
      limiter.take('alice');
    } catch (error) {
      refused = error;
    }
    expect(refused).toBeInstanceOf(HttpError);
    expect(refused).toMatchObject({ statusCode: 429, headers: { 'retry-after': '8' } });
    expect(googleBody(refused as HttpError).error.status).toBe('RESOURCE_EXHAUSTED');
    now = 10_000;
    expect(() => limiter.take('alice')).not.toThrow();
  });
});
