/**
 * The Jules backend's parts on their own: the wire schemas (src/protocol/jules.ts), the follow
 * cursor and how Jules activities become timeline events (src/agents/jules/follow.ts), the
 * client's error mapping, the agent's configuration, and the session rule that records an agent's
 * emitted events once each (workflows/session/agent-events.ts), fuzzed.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { AgentError } from '../../src/agents/agent';
import { createAgent } from '../../src/agents';
import { loadConfig } from '../../src/config';
import { JulesClient, retryAfterMs } from '../../src/agents/jules/client';
import { advance, isAfter, timeNs, toEvent, type FollowCursor } from '../../src/agents/jules/follow';
import { JulesActivity, JulesActivityList, JulesSession, activityKind } from '../../src/protocol/jules';
import type { SessionWorkflowInput } from '../../src/protocol/messages';
import { REMEMBERED_AGENT_EVENTS, receiveAgentEvents } from '../../workflows/session/agent-events';
import { applyCreated, applyStart } from '../../workflows/session/progress';
import { openSession } from '../../workflows/session/record';

const activity = (id: string, createTime: string, payload: Record<string, unknown>, artifacts?: unknown[]) =>
  JulesActivity.parse({ name: `sessions/1/activities/${id}`, id, createTime, ...(artifacts ? { artifacts } : {}), ...payload });
const limits = { maxArtifactChars: 20, maxPatchChars: 1_000 };
const start: FollowCursor = { idsAtLast: [] };

describe('wire schemas', () => {
  it('parse each of the seven activity kinds and refuse any other', () => {
    const kinds = [
      { agentMessaged: { agentMessage: 'hi' } },
      { userMessaged: { userMessage: 'hello' } },
      { planGenerated: { plan: { id: 'p', steps: [{ id: 's', title: 'Do', index: 0 }] } } },
      { planApproved: { planId: 'p' } },
      { progressUpdated: { title: 't', description: 'd' } },
      { sessionCompleted: {} },
      { sessionFailed: { reason: 'r' } },
    ];
    expect(kinds.map((payload, i) => activityKind(activity(`a${i}`, '2026-01-01T00:00:00.000001Z', payload)))).toEqual([
      'agentMessaged',
      'userMessaged',
      'planGenerated',
      'planApproved',
      'progressUpdated',
      'sessionCompleted',
      'sessionFailed',
    ]);
    expect(
      JulesActivity.safeParse({ name: 'sessions/1/activities/x', id: 'x', createTime: '2026-01-01T00:00:00Z', toolCalled: {} }).success,
    ).toBe(false);
    // An unknown artifact kind, a name of the wrong form, a time that is not RFC 3339.
    const base = { name: 'sessions/1/activities/x', id: 'x', createTime: '2026-01-01T00:00:00Z', sessionCompleted: {} };
    expect(JulesActivity.safeParse({ ...base, artifacts: [{ video: {} }] }).success).toBe(false);
    expect(JulesActivity.safeParse({ ...base, name: 'x' }).success).toBe(false);
    expect(JulesActivity.safeParse({ ...base, createTime: 'yesterday' }).success).toBe(false);
  });

  it('take a session with extra fields, default its outputs and refuse an unknown state', () => {
    const session = JulesSession.parse({ name: 'sessions/7', id: '7', state: 'IN_PROGRESS', brandNew: 1 });
    expect(session).toEqual({ name: 'sessions/7', id: '7', state: 'IN_PROGRESS', outputs: [] });
    expect(JulesSession.safeParse({ name: 'sessions/7', id: '7', state: 'RUNNING' }).success).toBe(false);
    expect(JulesActivityList.parse({})).toEqual({ activities: [] });
  });
});

describe('the follow cursor', () => {
  it('orders times at microsecond resolution, whatever their format', () => {
    expect(timeNs('2026-01-01T00:00:00.000001Z')).toBeGreaterThan(timeNs('2026-01-01T00:00:00Z'));
    expect(timeNs('2026-01-01T01:00:00.5+01:00')).toBe(timeNs('2026-01-01T00:00:00.500000Z'));
    expect(() => timeNs('2026-01-01')).toThrow('not an RFC 3339 time');
  });

  it('hands each activity on once, also when two share a time', () => {
    const a = activity('a', '2026-01-01T00:00:00.000001Z', { progressUpdated: { title: 'a' } });
    const b = activity('b', '2026-01-01T00:00:00.000001Z', { progressUpdated: { title: 'b' } });
    const c = activity('c', '2026-01-01T00:00:00.000002Z', { userMessaged: { userMessage: 'hi' } });
    let cursor = advance(start, a);
    expect([isAfter(a, cursor), isAfter(b, cursor), isAfter(c, cursor)]).toEqual([false, true, true]);
    cursor = advance(cursor, b);
    expect(cursor.idsAtLast).toEqual(['a', 'b']);
    expect([isAfter(a, cursor), isAfter(b, cursor)]).toEqual([false, false]);
    cursor = advance(cursor, c);
    expect(cursor).toEqual({ pageToken: undefined, lastTime: '2026-01-01T00:00:00.000002Z', idsAtLast: ['c'], lastMessage: 'user' });
  });

  it("maps Jules' activities to timeline events, leaving out what andon records itself", () => {
    const progress = activity('p', '2026-01-01T00:00:01Z', { progressUpdated: { title: 'Tests', description: 'ran' } }, [
      { bashOutput: { command: 'npm test', output: 'x'.repeat(50), exitCode: 1 } },
      { media: { data: 'y'.repeat(50), mimeType: 'image/png' } },
    ]);
    const event = toEvent(progress, start, limits);
    expect(event).toMatchObject({ id: 'jules:p', type: 'progressUpdated', title: 'Tests' });
    if (event?.type !== 'progressUpdated') throw new Error('expected progress');
    expect(event.artifacts).toEqual([
      { type: 'bashOutput', command: 'npm test', output: `${'x'.repeat(20)}\n… (30 more characters cut)`, exitCode: 1 },
    ]);
    expect(event.description).toBe('ran\n(image/png media of 50 base64 characters left out)');

    const reply = activity('r', '2026-01-01T00:00:02Z', { agentMessaged: { agentMessage: 'sure' } });
    expect(toEvent(reply, { idsAtLast: [], lastMessage: 'user' }, limits)).toBeUndefined();
    expect(toEvent(reply, { idsAtLast: [], lastMessage: 'agent' }, limits)).toEqual({
      id: 'jules:r',
      type: 'agentMessaged',
      message: 'sure',
    });
    expect(toEvent(activity('u', '2026-01-01T00:00:03Z', { userMessaged: { userMessage: 'hi' } }), start, limits)).toBeUndefined();
    expect(toEvent(activity('f', '2026-01-01T00:00:03Z', { sessionFailed: { reason: 'no' } }), start, limits)).toBeUndefined();
    const done = activity('d', '2026-01-01T00:00:04Z', { sessionCompleted: {} }, [{ changeSet: { gitPatch: { unidiffPatch: 'diff' } } }]);
    expect(toEvent(done, start, limits)).toMatchObject({
      title: 'Jules finished',
      artifacts: [{ type: 'changeSet', gitPatch: { unidiffPatch: 'diff' } }],
    });
  });
});

describe('the client', () => {
  let server: http.Server;
  let answer: (res: http.ServerResponse) => void;
  let base: string;
  beforeAll(async () => {
    server = http.createServer((_req, res) => answer(res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1alpha`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const client = () => new JulesClient({ baseUrl: base, apiKey: 'sekrit-key', apiKeyEnv: 'MY_JULES_KEY', requestTimeoutMs: 5_000 });
  const failure = async (status: number, headers: Record<string, string> = {}, body = '') => {
    answer = (res) => {
      res.writeHead(status, headers);
      res.end(body);
    };
    try {
      await client().getSession('1', new AbortController().signal);
    } catch (error) {
      if (AgentError.isInstance(error)) return error;
      throw error;
    }
    throw new Error('expected a failure');
  };

  it('maps 401/403/404 to permanent failures naming the variable, never the key', async () => {
    const unauthorized = await failure(401, {}, JSON.stringify({ error: { code: 401, message: 'bad key', status: 'UNAUTHENTICATED' } }));
    expect(unauthorized).toMatchObject({ retryable: false, code: 'JulesUnauthorized' });
    expect(unauthorized.message).toBe('Jules refused the API key from MY_JULES_KEY (UNAUTHENTICATED: bad key) while session 1');
    expect(unauthorized.message).not.toContain('sekrit');
    expect(await failure(403)).toMatchObject({ retryable: false, code: 'JulesUnauthorized' });
    expect(await failure(404)).toMatchObject({ retryable: false, code: 'JulesNotFound' });
    expect(await failure(400)).toMatchObject({ retryable: false, code: 'JulesRejected' });
  });

  it('maps 429 and 5xx to retries, after Retry-After when given', async () => {
    expect(await failure(429, { 'retry-after': '7' })).toMatchObject({ retryable: true, code: 'JulesRateLimited', retryAfterMs: 7_000 });
    expect(await failure(503)).toMatchObject({ retryable: true, code: 'JulesUnavailable', retryAfterMs: undefined });
    expect(retryAfterMs('Thu, 01 Jan 2026 00:00:30 GMT', Date.parse('2026-01-01T00:00:00Z'))).toBe(30_000);
    expect(retryAfterMs('999999')).toBe(3_600_000);
    expect(retryAfterMs('soon')).toBeUndefined();
  });

  it('refuses a body of the wrong shape without retrying, and ids that would change the path', async () => {
    answer = (res) => {
      res.writeHead(200);
      res.end(JSON.stringify({ name: 'nope', id: '1' }));
    };
    await expect(client().getSession('1', new AbortController().signal)).rejects.toMatchObject({
      retryable: false,
      message: expect.stringContaining('name: expected "sessions/{id}"'),
    });
    for (const id of ['../sources', '..', 'a/b', 'a?b', '']) {
      await expect(client().getSession(id, new AbortController().signal)).rejects.toMatchObject({ retryable: false });
    }
  });
});

describe('configuration', () => {
  it('needs the key in the environment and names the variable when it is missing', async () => {
    await expect(createAgent('jules', { kind: 'jules' }, { env: {} })).rejects.toThrow(
      'the Jules API key is missing: set JULES_API_KEY in the worker',
    );
    await expect(createAgent('jules', { kind: 'jules', apiKeyEnv: 'OTHER' }, { env: { OTHER: 'k' } })).resolves.toHaveProperty('plan');
    await expect(createAgent('jules', { kind: 'jules', baseUrl: 'ftp://x' } as never, { env: { JULES_API_KEY: 'k' } })).rejects.toThrow(
      'baseUrl',
    );
    await expect(createAgent('jules', { kind: 'jules', source: 'not a repo' }, { env: { JULES_API_KEY: 'k' } })).rejects.toThrow('source');
  });

  it('is chosen by ANDON_BACKEND=jules, its base URL from ANDON_JULES_BASE_URL, and its defaults', () => {
    expect(loadConfig({ env: { ANDON_BACKEND: 'jules' } }).backend).toMatchObject({
      kind: 'jules',
      baseUrl: 'https://jules.googleapis.com/v1alpha',
      apiKeyEnv: 'JULES_API_KEY',
      pollInterval: 5_000,
    });
    const config = loadConfig({ env: { ANDON_BACKEND: 'jules', ANDON_JULES_BASE_URL: 'http://127.0.0.1:9999/v1alpha' } });
    expect(config.backend).toMatchObject({ kind: 'jules', baseUrl: 'http://127.0.0.1:9999/v1alpha' });
    expect(() => loadConfig({ env: { ANDON_BACKEND: 'jules', ANDON_JULES_BASE_URL: 'not a url' } })).toThrow(
      /backend\.baseUrl.*ANDON_JULES_BASE_URL/,
    );
  });
});

describe('agent events on the timeline', () => {
  const config: SessionWorkflowInput['config'] = {
    id: 'events-1',
    title: 'Events',
    prompt: 'p',
    context: {},
    requirePlanApproval: true,
    followUpWindowMs: 0,
  };
  const now = () => new Date('2026-01-01T00:00:00Z');
  const fresh = () => {
    const s = openSession({ config }, now());
    applyCreated(s, now());
    applyStart(s, now());
    return s;
  };
  const progress = (id: string) => ({ id, type: 'progressUpdated', title: `t ${id}` });

  it('records each id once, however often it is sent', () => {
    const s = fresh();
    receiveAgentEvents(s, { events: [progress('a'), progress('b')] }, now());
    receiveAgentEvents(s, { events: [progress('b'), progress('c'), { id: 'm', type: 'agentMessaged', message: 'hi' }] }, now());
    const recorded = s.record.timeline.filter((e) => e.type === 'progressUpdated' || e.type === 'agentMessaged');
    expect(recorded.map((e) => (e.type === 'progressUpdated' ? e.title : e.message))).toEqual(['t a', 't b', 't c', 'hi']);
  });

  it('keeps a bounded memory of ids, and nothing after the session ended', () => {
    const s = fresh();
    for (let i = 0; i < REMEMBERED_AGENT_EVENTS + 20; i += 50) {
      receiveAgentEvents(s, { events: Array.from({ length: 50 }, (_, j) => progress(`e${i + j}`)) }, now());
    }
    expect(s.record.agentEventIds).toHaveLength(REMEMBERED_AGENT_EVENTS);
    s.record.state = 'cancelled';
    const before = s.record.timeline.length;
    receiveAgentEvents(s, { events: [progress('late')] }, now());
    expect(s.record.timeline).toHaveLength(before);
  });

  it('notes bad input instead of throwing (fuzz)', () => {
    const inputs: unknown[] = [
      undefined,
      null,
      42,
      'events',
      {},
      { events: [] },
      { events: Array.from({ length: 51 }, (_, i) => progress(`x${i}`)) },
      { events: [{ id: '', type: 'progressUpdated', title: 't' }] },
      { events: [{ id: 'a', type: 'toolCalled', title: 't' }] },
      { events: [{ id: 'a', type: 'progressUpdated', title: 'x'.repeat(501) }] },
      { events: [{ id: 'a', type: 'agentMessaged', message: '' }] },
      { events: [{ id: 'a', type: 'progressUpdated', title: 't', artifacts: [{ type: 'video' }] }] },
      { events: [{ id: 'a'.repeat(201), type: 'agentMessaged', message: 'm' }] },
    ];
    let seed = 7;
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    const junk = (depth: number): unknown => {
      const r = random();
      if (depth > 2 || r < 0.3) return [null, 1, 'x', true, '', -1][Math.floor(random() * 6)];
      if (r < 0.6) return Array.from({ length: Math.floor(random() * 3) }, () => junk(depth + 1));
      return { id: junk(depth + 1), type: ['progressUpdated', 'agentMessaged', 'x'][Math.floor(random() * 3)], title: junk(depth + 1) };
    };
    for (let i = 0; i < 200; i++) inputs.push({ events: [junk(0)] });
    const s = fresh();
    for (const input of inputs) {
      const before = s.record.timeline.length;
      expect(() => receiveAgentEvents(s, input, now())).not.toThrow();
      const added = s.record.timeline.slice(before);
      expect(added.every((e) => e.type === 'inputRejected' && e.message === 'agentEvents' && e.by === 'agent')).toBe(true);
    }
  });
});
