/**
 * SessionRecord on its own, no Temporal: the decisions every signal and update go through, the
 * transition guard, timeline paging and what continue-as-new carries.
 */
import type { Plan, SessionState } from '../../src/session/schema';
import { TRANSITIONS } from '../../src/session/transitions';
import { REFUSAL, type SessionWorkflowInput } from '../../src/protocol/messages';
import { SessionRecord, type Refusal } from '../../workflows/session-record';
import { ApprovalPolicy, OPEN_POLICY, planHash, type ApprovalPolicyInput } from '../../src/session/approval';

const config: SessionWorkflowInput['config'] = {
  id: 'unit-1',
  title: 'Unit session',
  prompt: 'disk full on db-1',
  context: { service: 'db' },
  requirePlanApproval: true,
  followUpWindowMs: 0,
};

let clock = Date.parse('2025-01-01T00:00:00.000Z');
/** A clock that moves 1 s per call, so updateTime changes are visible. */
const tick = () => new Date((clock += 1_000));

const plan1: Plan = {
  id: 'plan-1',
  title: 'Fix it',
  steps: [
    { id: 'plan-1-step-1', index: 0, title: 'Look', description: 'look around' },
    { id: 'plan-1-step-2', index: 1, title: 'Fix', description: 'fix it' },
  ],
};

function fresh(): SessionRecord {
  return new SessionRecord({ config }, tick());
}

/** A record in `planning`, as the workflow leaves it after sessionCreated. */
function planning(): SessionRecord {
  const r = fresh();
  r.record({ type: 'sessionCreated', originator: 'system', prompt: config.prompt, title: config.title, requirePlanApproval: true }, tick());
  r.setState('planning', tick());
  return r;
}

/** A record with plan-1 awaiting approval. */
function awaitingApproval(): SessionRecord {
  const r = planning();
  r.plan = plan1;
  r.record({ type: 'planGenerated', originator: 'agent', plan: plan1 }, tick());
  r.setState('awaitingPlanApproval', tick());
  return r;
}

function inProgress(): SessionRecord {
  const r = awaitingApproval();
  expect(r.decideApprove({ by: 'alice' }, tick())).toBeUndefined();
  return r;
}

function paused(): SessionRecord {
  const r = awaitingApproval();
  expect(r.decidePause({ by: 'bob', reason: 'freeze' }, tick())).toBeUndefined();
  expect(r.state).toBe('paused');
  return r;
}

function completed(): SessionRecord {
  const r = inProgress();
  r.complete('all done', [], tick());
  return r;
}

function cancelled(): SessionRecord {
  const r = awaitingApproval();
  expect(r.decideCancel({ reason: 'no', by: 'carol' }, tick())).toBeUndefined();
  return r;
}

/** Everything observable about a record, for "nothing changed" checks. */
function snapshot(r: SessionRecord) {
  return JSON.parse(JSON.stringify({ carried: r.carry(), view: r.view() })) as unknown;
}

function expectRefusal(outcome: unknown, type: Refusal['type'], details: Partial<Refusal['details']>): Refusal {
  expect(outcome).toBeDefined();
  const refusal = outcome as Refusal;
  expect(refusal.type).toBe(type);
  expect(refusal.details).toMatchObject(details);
  expect(typeof refusal.message).toBe('string');
  return refusal;
}

describe('decide* refusals', () => {
  describe('approve', () => {
    it('refuses bad input with InvalidArgument naming the field, before checking state', () => {
      const r = completed(); // wrong state too: input is checked first
      const refusal = expectRefusal(r.decideApprove({ planId: '' }, tick()), REFUSAL.invalidArgument, { state: 'completed', field: 'planId' });
      expect(refusal.message).toMatch(/^invalid input: planId: /);
      expectRefusal(r.decideApprove({ by: '   ' }, tick()), REFUSAL.invalidArgument, { field: 'by' });
      expectRefusal(r.decideApprove({ comment: 'x'.repeat(4_001) }, tick()), REFUSAL.invalidArgument, { field: 'comment' });
      expectRefusal(r.decideApprove('not an object', tick()), REFUSAL.invalidArgument, { field: '(input)' });
    });

    it('refuses with InvalidState when no plan awaits approval', () => {
      for (const make of [planning, inProgress, paused, completed, cancelled]) {
        const r = make();
        const seq = r.lastSeq;
        const refusal = expectRefusal(r.decideApprove({}, tick()), REFUSAL.invalidState, { state: r.state });
        expect(refusal.message).toContain('no plan is awaiting approval');
        // Recorded with who tried and why, and marked so a signal does not note it again.
        expect(refusal.recorded).toBe(true);
        expect(r.timeline.slice(seq)).toEqual([
          expect.objectContaining({ type: 'approvalRefused', decision: 'approve', by: 'unknown', code: 'InvalidState', reason: refusal.message, seq: seq + 1 }),
        ]);
      }
    });

    it('bad input is refused without recording anything (a signal notes it as inputRejected)', () => {
      const r = awaitingApproval();
      const before = snapshot(r);
      const refusal = expectRefusal(r.decideApprove({ planId: '' }, tick()), REFUSAL.invalidArgument, { field: 'planId' });
      expect(refusal.recorded).toBeUndefined();
      expect(snapshot(r)).toEqual(before);
    });

    it('refuses a plan id that is not current with StalePlan carrying the current plan id', () => {
      const r = awaitingApproval();
      const refusal = expectRefusal(r.decideApprove({ planId: 'plan-0' }, tick()), REFUSAL.stalePlan, {
        state: 'awaitingPlanApproval',
        planId: 'plan-1',
      });
      expect(refusal.message).toContain('plan-0');
      expect(r.state).toBe('awaitingPlanApproval');
    });

    it('checks state before the plan id', () => {
      const r = paused();
      expectRefusal(r.decideApprove({ planId: 'plan-0' }, tick()), REFUSAL.invalidState, { state: 'paused' });
    });

    it('applies: planApproved, step 0, inProgress', () => {
      const r = awaitingApproval();
      expect(r.decideApprove({ planId: 'plan-1', by: 'alice', comment: 'ok' }, tick())).toBeUndefined();
      expect(r.state).toBe('inProgress');
      expect(r.currentStep).toBe(0);
      expect(r.timeline.at(-1)).toMatchObject({ type: 'planApproved', planId: 'plan-1', by: 'alice', comment: 'ok', originator: 'user' });
    });
  });

  describe('reject', () => {
    it('refuses a missing or blank reason with InvalidArgument(reason)', () => {
      const r = awaitingApproval();
      expectRefusal(r.decideReject({}, tick()), REFUSAL.invalidArgument, { field: 'reason' });
      expectRefusal(r.decideReject({ reason: '   ' }, tick()), REFUSAL.invalidArgument, { field: 'reason' });
      expectRefusal(r.decideReject({ reason: 'x', replan: 'yes' }, tick()), REFUSAL.invalidArgument, { field: 'replan' });
      expect(r.state).toBe('awaitingPlanApproval');
    });

    it('refuses with InvalidState outside awaitingPlanApproval and StalePlan for an old plan', () => {
      const r = inProgress();
      expectRefusal(r.decideReject({ reason: 'no' }, tick()), REFUSAL.invalidState, { state: 'inProgress' });
      const waiting = awaitingApproval();
      expectRefusal(waiting.decideReject({ reason: 'no', planId: 'plan-9' }, tick()), REFUSAL.stalePlan, { planId: 'plan-1' });
    });

    it('without replan ends the session cancelled; with replan starts round 2 with the reason as feedback', () => {
      const ended = awaitingApproval();
      expect(ended.decideReject({ reason: 'too risky', by: 'dave' }, tick())).toBeUndefined();
      expect(ended.state).toBe('cancelled');
      expect(ended.reason).toBe('plan plan-1 rejected: too risky');
      expect(ended.timeline.slice(-2).map((e) => e.type)).toEqual(['planRejected', 'sessionCancelled']);
      expect(ended.timeline.at(-1)).toMatchObject({ by: 'dave', reason: 'plan plan-1 rejected: too risky' });

      const replanned = awaitingApproval();
      expect(replanned.decideReject({ reason: 'rotate logs instead', replan: true }, tick())).toBeUndefined();
      expect(replanned.state).toBe('planning');
      expect(replanned.round).toBe(2);
      expect(replanned.feedback).toEqual(['rotate logs instead']);
      expect(replanned.timeline.at(-1)).toMatchObject({ type: 'planRejected', replan: true, by: 'unknown' });
    });
  });

  describe('message (send and ask)', () => {
    it('refuses an empty, blank or oversized message with InvalidArgument(message)', () => {
      const r = inProgress();
      for (const op of ['send', 'ask'] as const) {
        expectRefusal(r.decideMessage(op, { message: '' }, tick()), REFUSAL.invalidArgument, { field: 'message' });
        expectRefusal(r.decideMessage(op, { message: '  \n ' }, tick()), REFUSAL.invalidArgument, { field: 'message' });
        expectRefusal(r.decideMessage(op, { message: 'x'.repeat(32_001) }, tick()), REFUSAL.invalidArgument, { field: 'message' });
        expectRefusal(r.decideMessage(op, { message: 'hi', messageId: '' }, tick()), REFUSAL.invalidArgument, { field: 'messageId' });
      }
      expect(r.queue).toEqual([]);
    });

    it('refuses with InvalidState once the session failed or was cancelled', () => {
      const r = cancelled();
      for (const op of ['send', 'ask'] as const) {
        const refusal = expectRefusal(r.decideMessage(op, { message: 'hello' }, tick()), REFUSAL.invalidState, { state: 'cancelled' });
        expect(refusal.message).toContain(`cannot ${op}`);
      }
      const failed = inProgress();
      failed.end('failed', 'boom', 'system', tick());
      expectRefusal(failed.decideMessage('ask', { message: 'hello' }, tick()), REFUSAL.invalidState, { state: 'failed' });
    });

    it('accepts in completed (the follow-up window) and queues in arrival order', () => {
      const r = completed();
      expect(r.decideMessage('send', { message: 'one', messageId: 'a' }, tick())).toEqual({ messageId: 'a', duplicate: false });
      expect(r.decideMessage('ask', { message: 'two' }, tick())).toEqual({ messageId: `msg-${r.lastSeq}`, duplicate: false });
      expect(r.queue.map((m) => m.text)).toEqual(['one', 'two']);
      expect(r.acceptedMessages).toBe(2);
    });

    it('treats a repeated messageId as a duplicate, queued or answered, in any state, recording nothing', () => {
      const r = inProgress();
      expect(r.decideMessage('ask', { message: 'hi', messageId: 'm1' }, tick())).toEqual({ messageId: 'm1', duplicate: false });
      const before = snapshot(r);
      expect(r.decideMessage('ask', { message: 'hi again', messageId: 'm1' }, tick())).toEqual({ messageId: 'm1', duplicate: true });
      expect(snapshot(r)).toEqual(before);
      r.answer('m1', 'hello', tick());
      r.end('cancelled', 'stop', 'x', tick());
      // Even in a state that refuses new messages, a retry of an answered one is accepted.
      expect(r.decideMessage('send', { message: 'hi', messageId: 'm1' }, tick())).toEqual({ messageId: 'm1', duplicate: true });
      expect(r.timeline.filter((e) => e.type === 'userMessaged')).toHaveLength(1);
    });

    it('in awaitingUserFeedback, the message is the answer: feedback, next round, planning', () => {
      const r = planning();
      r.record({ type: 'agentMessaged', originator: 'agent', message: 'Which host?' }, tick());
      r.advance('awaitingUserFeedback', tick());
      expect(r.decideMessage('send', { message: 'db-1', by: 'erin' }, tick())).toMatchObject({ duplicate: false });
      expect(r.state).toBe('planning');
      expect(r.round).toBe(2);
      expect(r.feedback).toEqual(['db-1']);
    });

    it('while paused, a message is not taken as the answer to an open question', () => {
      const r = planning();
      r.advance('awaitingUserFeedback', tick());
      expect(r.decidePause({}, tick())).toBeUndefined();
      expect(r.decideMessage('send', { message: 'db-1' }, tick())).toMatchObject({ duplicate: false });
      expect(r.state).toBe('paused');
      expect(r.feedback).toEqual([]);
      expect(r.decideResume({}, tick())).toBeUndefined();
      expect(r.state).toBe('awaitingUserFeedback');
    });
  });

  describe('pause', () => {
    it('refuses bad input with InvalidArgument', () => {
      const r = inProgress();
      expectRefusal(r.decidePause({ by: '' }, tick()), REFUSAL.invalidArgument, { field: 'by' });
      expectRefusal(r.decidePause({ reason: 7 }, tick()), REFUSAL.invalidArgument, { field: 'reason' });
      expect(r.pauseRequested).toBe(false);
    });

    it('refuses with InvalidState when paused or ended', () => {
      for (const make of [paused, completed, cancelled]) {
        const r = make();
        expectRefusal(r.decidePause({}, tick()), REFUSAL.invalidState, { state: r.state });
      }
    });

    it('with work in flight only requests the pause; advance() applies it at the boundary', () => {
      const r = inProgress();
      expect(r.decidePause({ by: 'bob', reason: 'lunch' }, tick())).toBeUndefined();
      expect(r.state).toBe('inProgress');
      expect(r.pauseRequested).toBe(true);
      expect(r.timeline.some((e) => e.type === 'sessionPaused')).toBe(false);
      r.advance('inProgress', tick());
      expect(r.state).toBe('paused');
      expect(r.pauseRequested).toBe(false);
      expect(r.timeline.at(-1)).toMatchObject({ type: 'sessionPaused', by: 'bob', reason: 'lunch' });
      expect(r.decideResume({ by: 'bob' }, tick())).toBeUndefined();
      expect(r.state).toBe('inProgress');
    });

    it('complete() clears a pending pause (one requested during the summary), so nothing is left to resume', () => {
      const r = inProgress();
      expect(r.decidePause({}, tick())).toBeUndefined();
      r.complete('done', [], tick());
      expect(r.state).toBe('completed');
      expect(r.view().pauseRequested).toBe(false);
      // Nothing is pending any more, so resume is refused like any command on an ended session.
      expectRefusal(r.decideResume({}, tick()), REFUSAL.invalidState, { state: 'completed' });
    });
  });

  describe('resume', () => {
    it('refuses bad input with InvalidArgument and the wrong state with InvalidState', () => {
      const r = paused();
      expectRefusal(r.decideResume({ by: 42 }, tick()), REFUSAL.invalidArgument, { field: 'by' });
      for (const make of [awaitingApproval, inProgress, completed, cancelled]) {
        const other = make();
        expectRefusal(other.decideResume({}, tick()), REFUSAL.invalidState, { state: other.state });
      }
    });

    it('withdraws a pending pause without an event', () => {
      const r = inProgress();
      r.decidePause({}, tick());
      const events = r.timeline.length;
      expect(r.decideResume({}, tick())).toBeUndefined();
      expect(r.pauseRequested).toBe(false);
      expect(r.timeline).toHaveLength(events);
      r.advance('inProgress', tick());
      expect(r.state).toBe('inProgress');
    });

    it('returns to the state the session was paused in', () => {
      const r = paused();
      expect(r.decideResume({ by: 'bob' }, tick())).toBeUndefined();
      expect(r.state).toBe('awaitingPlanApproval');
      expect(r.timeline.at(-1)).toMatchObject({ type: 'sessionResumed', by: 'bob' });
    });
  });

  describe('cancel', () => {
    it('refuses a missing reason with InvalidArgument(reason)', () => {
      const r = inProgress();
      expectRefusal(r.decideCancel({}, tick()), REFUSAL.invalidArgument, { field: 'reason' });
      expectRefusal(r.decideCancel({ reason: ' ' }, tick()), REFUSAL.invalidArgument, { field: 'reason' });
      expectRefusal(r.decideCancel(null, tick()), REFUSAL.invalidArgument, { field: 'reason' });
    });

    it('refuses with InvalidState once the session has ended', () => {
      for (const make of [completed, cancelled]) {
        const r = make();
        expectRefusal(r.decideCancel({ reason: 'again' }, tick()), REFUSAL.invalidState, { state: r.state });
      }
    });

    it('cancels from paused, recording reason and who, and clears a pending pause', () => {
      const r = paused();
      expect(r.decideCancel({ reason: 'wrong host', by: 'carol' }, tick())).toBeUndefined();
      expect(r.state).toBe('cancelled');
      expect(r.reason).toBe('wrong host');
      expect(r.timeline.at(-1)).toMatchObject({ type: 'sessionCancelled', by: 'carol', reason: 'wrong host', originator: 'user' });
      const busy = inProgress();
      busy.decidePause({}, tick());
      busy.decideCancel({ reason: 'stop' }, tick());
      expect(busy.pauseRequested).toBe(false);
    });
  });
});

describe('apply = false changes nothing', () => {
  const cases: [string, () => SessionRecord, (r: SessionRecord) => unknown, unknown][] = [
    ['approve', awaitingApproval, (r) => r.decideApprove({ planId: 'plan-1', by: 'a' }, tick(), false), undefined],
    ['reject', awaitingApproval, (r) => r.decideReject({ reason: 'no' }, tick(), false), undefined],
    ['reject with replan', awaitingApproval, (r) => r.decideReject({ reason: 'no', replan: true }, tick(), false), undefined],
    ['pause (waiting)', awaitingApproval, (r) => r.decidePause({ by: 'b' }, tick(), false), undefined],
    ['pause (in flight)', inProgress, (r) => r.decidePause({ by: 'b' }, tick(), false), undefined],
    ['resume', paused, (r) => r.decideResume({ by: 'b' }, tick(), false), undefined],
    ['cancel', inProgress, (r) => r.decideCancel({ reason: 'stop' }, tick(), false), undefined],
    ['send', inProgress, (r) => r.decideMessage('send', { message: 'hi', messageId: 'x' }, tick(), false), { messageId: 'x', duplicate: false }],
    ['ask', awaitingApproval, (r) => r.decideMessage('ask', { message: 'hi' }, tick(), false), { messageId: 'msg-3', duplicate: false }],
  ];
  it.each(cases)('%s: the same answer as applying, and no change', (_name, make, decide, expected) => {
    const r = make();
    const before = snapshot(r);
    expect(decide(r)).toEqual(expected);
    expect(snapshot(r)).toEqual(before);
  });

  it('withdrawing a pending pause with apply=false leaves it pending', () => {
    const r = inProgress();
    r.decidePause({}, tick());
    const before = snapshot(r);
    expect(r.decideResume({}, tick(), false)).toBeUndefined();
    expect(snapshot(r)).toEqual(before);
    expect(r.pauseRequested).toBe(true);
  });

  it('refusals with apply=false are the same refusals, and change nothing', () => {
    const r = inProgress();
    const before = snapshot(r);
    expect(r.decideApprove({ planId: '' }, tick(), false)).toMatchObject({ type: REFUSAL.invalidArgument });
    expect(r.decideReject({ reason: '' }, tick(), false)).toMatchObject({ type: REFUSAL.invalidArgument });
    expect(r.decideResume({}, tick(), false)).toMatchObject({ type: REFUSAL.invalidState });
    expect(snapshot(r)).toEqual(before);
  });

  it('decisions with apply=false check only the input: state, plan and policy are left to the handler, which records a refusal', () => {
    const r = inProgress();
    const before = snapshot(r);
    // The validator lets these through, so the handler can record who tried and why.
    expect(r.decideApprove({}, tick(), false)).toBeUndefined();
    expect(r.decideReject({ reason: 'no', planId: 'plan-9' }, tick(), false)).toBeUndefined();
    expect(snapshot(r)).toEqual(before);
    expectRefusal(r.decideApprove({ by: 'eve' }, tick()), REFUSAL.invalidState, { state: 'inProgress' });
    expect(r.timeline.at(-1)).toMatchObject({ type: 'approvalRefused', decision: 'approve', by: 'eve', code: 'InvalidState' });
  });
});

describe('setState', () => {
  const states = Object.keys(TRANSITIONS) as SessionState[];

  it('refuses every transition not in TRANSITIONS, and allows the listed ones', () => {
    for (const from of states) {
      for (const to of states) {
        if (from === to) continue;
        const changes: SessionState[] = [];
        const watched = new SessionRecord({ config, carried: { ...fresh().carry(), state: from } }, tick(), (x) => changes.push(x.state));
        if (TRANSITIONS[from].includes(to)) {
          watched.setState(to, tick());
          expect(watched.state).toBe(to);
          expect(changes).toEqual([to]);
        } else {
          expect(() => watched.setState(to, tick())).toThrow(`illegal session transition ${from} → ${to}`);
          expect(watched.state).toBe(from);
          expect(changes).toEqual([]);
        }
      }
    }
  });

  it('setting the current state is a no-op (no callback, no updateTime change)', () => {
    const calls: string[] = [];
    const r = new SessionRecord({ config }, tick(), (x) => calls.push(x.state));
    r.setState('planning', tick());
    const updated = r.updateTime;
    r.setState('planning', tick());
    expect(calls).toEqual(['planning']);
    expect(r.updateTime).toBe(updated);
  });

  it('a finished session cannot be moved anywhere', () => {
    const r = completed();
    for (const to of states.filter((s) => s !== 'completed')) expect(() => r.setState(to, tick())).toThrow(/illegal session transition/);
  });
});

describe('timelinePage', () => {
  function withEvents(n: number): SessionRecord {
    const r = fresh();
    for (let i = 1; i <= n; i++) r.record({ type: 'userMessaged', originator: 'user', messageId: `m${i}`, message: `message ${i}`, by: 'u' }, tick());
    return r;
  }

  it('returns events after a seq, up to a limit, with lastSeq and state', () => {
    const r = withEvents(25);
    const first = r.timelinePage({ after: 0, limit: 10 });
    expect(first.events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(first).toMatchObject({ lastSeq: 25, state: 'queued' });
    const second = r.timelinePage({ after: 10, limit: 10 });
    expect(second.events.map((e) => e.seq)).toEqual([11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
    const last = r.timelinePage({ after: 20, limit: 10 });
    expect(last.events.map((e) => e.seq)).toEqual([21, 22, 23, 24, 25]);
    expect(r.timelinePage({ after: 25 }).events).toEqual([]);
    expect(r.timelinePage({ after: 1_000 }).events).toEqual([]);
  });

  it('pages through the whole timeline without gaps or duplicates', () => {
    const r = withEvents(37);
    const seen: number[] = [];
    let after = 0;
    for (;;) {
      const page = r.timelinePage({ after, limit: 7 });
      if (page.events.length === 0) break;
      seen.push(...page.events.map((e) => e.seq));
      after = page.events.at(-1)!.seq;
    }
    expect(seen).toEqual(Array.from({ length: 37 }, (_, i) => i + 1));
  });

  it('defaults to after 0 and limit 200, and falls back to the defaults on bad input', () => {
    const r = withEvents(250);
    expect(r.timelinePage(undefined).events).toHaveLength(200);
    expect(r.timelinePage({}).events[0].seq).toBe(1);
    expect(r.timelinePage({ after: 240 }).events).toHaveLength(10);
    for (const bad of [{ after: -1 }, { limit: 0 }, { limit: 1_001 }, { after: 'x' }, 'nonsense']) {
      const page = r.timelinePage(bad);
      expect(page.events[0].seq).toBe(1);
      expect(page.events).toHaveLength(200);
    }
  });

  it('returns copies in seq order with numbered, timestamped events', () => {
    const r = withEvents(3);
    const { events } = r.timelinePage({});
    expect(events.map((e) => e.seq)).toEqual([1, 2, 3]);
    for (const e of events) expect(new Date(e.time).toISOString()).toBe(e.time);
    expect(r.updateTime).toBe(events[2].time);
  });
});

describe('carry() and restore', () => {
  /** A record with something in every carried field. */
  function busy(): SessionRecord {
    const r = awaitingApproval();
    r.decideReject({ reason: 'smaller steps', replan: true, by: 'alice' }, tick());
    const plan2: Plan = { ...plan1, id: 'plan-2', steps: plan1.steps.map((s) => ({ ...s, id: s.id.replace('plan-1', 'plan-2') })) };
    r.plan = plan2;
    r.record({ type: 'planGenerated', originator: 'agent', plan: plan2 }, tick());
    r.advance('awaitingPlanApproval', tick());
    r.decideApprove({ planId: 'plan-2', by: 'alice' }, tick());
    r.stepOutcomes.push({ stepId: 'plan-2-step-1', title: 'Look', description: 'looked' });
    r.currentStep = 1;
    r.decideMessage('ask', { message: 'answered', messageId: 'a1', by: 'bob' }, tick());
    r.answer('a1', 'the answer', tick());
    r.decideMessage('send', { message: 'still queued', messageId: 'q1', by: 'bob' }, tick());
    r.decidePause({ by: 'carol', reason: 'change freeze' }, tick());
    return r;
  }

  function restored(r: SessionRecord, onStateChange?: (x: SessionRecord) => void): SessionRecord {
    // Through JSON, as Temporal's payload converter carries it.
    const carried = JSON.parse(JSON.stringify(r.carry())) as unknown;
    return new SessionRecord({ config, carried }, tick(), onStateChange);
  }

  it('round-trips every field', () => {
    const r = busy();
    const copy = restored(r);
    expect(copy.carry()).toEqual(JSON.parse(JSON.stringify(r.carry())));
    expect(copy.view()).toEqual(r.view());
    expect(copy.state).toBe('inProgress');
    expect(copy.round).toBe(2);
    expect(copy.feedback).toEqual(['smaller steps']);
    expect(copy.plan?.id).toBe('plan-2');
    expect(copy.currentStep).toBe(1);
    expect(copy.pauseRequested).toBe(true);
    expect(copy.queue).toEqual([{ id: 'q1', text: 'still queued', by: 'bob' }]);
    expect([...copy.answers]).toEqual([['a1', 'the answer']]);
    expect(copy.acceptedMessages).toBe(2);
    expect(copy.createTime).toBe(r.createTime);
    expect(copy.updateTime).toBe(r.updateTime);
    expect(copy.timeline).toEqual(r.timeline);
    expect(copy.transcript()).toEqual(r.transcript());
  });

  it('the restored record behaves like the original: seq numbering, idempotency, the pending pause and who asked for it', () => {
    const r = busy();
    const copy = restored(r);
    // Idempotency survives: answered and queued ids are duplicates.
    expect(copy.decideMessage('ask', { message: 'answered', messageId: 'a1' }, tick())).toEqual({ messageId: 'a1', duplicate: true });
    expect(copy.decideMessage('send', { message: 'x', messageId: 'q1' }, tick())).toEqual({ messageId: 'q1', duplicate: true });
    // The pending pause takes effect at the next boundary, recorded as by whoever asked for it.
    copy.advance('inProgress', tick());
    expect(copy.state).toBe('paused');
    const paused = copy.timeline.at(-1)!;
    expect(paused).toMatchObject({ type: 'sessionPaused', by: 'carol', reason: 'change freeze', seq: r.lastSeq + 1 });
    expect(copy.decideResume({}, tick())).toBeUndefined();
    expect(copy.state).toBe('inProgress');
  });

  it('round-trips a paused session with the state to resume to', () => {
    const r = paused();
    const copy = restored(r);
    expect(copy.carry()).toEqual(JSON.parse(JSON.stringify(r.carry())));
    expect(copy.decideResume({}, tick())).toBeUndefined();
    expect(copy.state).toBe('awaitingPlanApproval');
  });

  it('round-trips ended sessions with reason, summary and outputs', () => {
    const done = inProgress();
    done.complete('all done', [{ type: 'pullRequest', pullRequest: { url: 'https://example.test/pr/1', title: 'Fix', description: '' } }], tick());
    const copy = restored(done);
    expect(copy.view()).toEqual(done.view());
    expect(copy.view()).toMatchObject({ state: 'completed', summary: 'all done', currentStep: undefined });
    expect(copy.outputs).toEqual(done.outputs);

    const gone = restored(cancelled());
    expect(gone.view()).toMatchObject({ state: 'cancelled', reason: 'no' });
  });

  it('does not call onStateChange while restoring', () => {
    const calls: string[] = [];
    restored(busy(), (x) => calls.push(x.state));
    expect(calls).toEqual([]);
  });

  it('rejects carried state that is not a carry() result', () => {
    expect(() => new SessionRecord({ config, carried: { state: 'planning' } }, tick())).toThrow();
  });

  it('keeps only the most recent 200 answers, oldest dropped first', () => {
    const r = inProgress();
    for (let i = 1; i <= 205; i++) {
      r.decideMessage('send', { message: `m${i}`, messageId: `id-${i}` }, tick());
      r.answer(`id-${i}`, `reply ${i}`, tick());
    }
    const copy = restored(r);
    expect(copy.answers.size).toBe(200);
    expect(copy.answers.has('id-5')).toBe(false);
    expect(copy.answers.get('id-6')).toBe('reply 6');
    expect(copy.answers.get('id-205')).toBe('reply 205');
  });
});

describe('approval policies', () => {
  /** plan-1 awaiting approval under `policy`, requested by `requestedBy`. */
  function underPolicy(policy: ApprovalPolicyInput, requestedBy?: string): SessionRecord {
    const r = new SessionRecord({ config: { ...config, requestedBy, approval: ApprovalPolicy.parse(policy) } }, tick());
    r.record({ type: 'sessionCreated', originator: 'system', prompt: config.prompt, title: config.title, requirePlanApproval: true }, tick());
    r.setState('planning', tick());
    r.plan = { ...plan1, hash: planHash(plan1) };
    r.record({ type: 'planGenerated', originator: 'agent', plan: r.plan }, tick());
    r.setState('awaitingPlanApproval', tick());
    return r;
  }

  it('with no policy, anyone may approve and one approval suffices', () => {
    const r = awaitingApproval();
    expect(r.policy).toEqual(OPEN_POLICY);
    expect(r.view().approval).toEqual({ planId: 'plan-1', required: 1, approvals: [], escalated: false, deadline: undefined });
    expect(r.decideApprove({ by: 'anyone' }, tick())).toBeUndefined();
    expect(r.state).toBe('inProgress');
    expect(r.view().approval).toBeUndefined();
  });

  it('two of three: the first approval is approvalRecorded, the second distinct person approves the plan', () => {
    const r = underPolicy({ approvers: ['alice', 'bob', 'carol'], required: 2 });
    expect(r.decideApprove({ by: 'alice', comment: 'lgtm' }, tick())).toBeUndefined();
    expect(r.state).toBe('awaitingPlanApproval');
    expect(r.timeline.at(-1)).toMatchObject({ type: 'approvalRecorded', planId: 'plan-1', by: 'alice', person: 'alice', approvals: 1, required: 2, comment: 'lgtm', originator: 'user' });
    expect(r.view().approval).toMatchObject({ planId: 'plan-1', required: 2, approvals: [{ person: 'alice', by: 'alice' }], escalated: false });

    expect(r.decideApprove({ by: 'bob' }, tick())).toBeUndefined();
    expect(r.state).toBe('inProgress');
    expect(r.currentStep).toBe(0);
    expect(r.timeline.slice(-1)).toEqual([expect.objectContaining({ type: 'planApproved', planId: 'plan-1', by: 'bob', originator: 'user' })]);
  });

  it('an approval counts once per person, across the identities that are that person', () => {
    const r = underPolicy({ required: 2, people: { alice: ['slack:U1', 'api:alice'] } });
    expect(r.decideApprove({ by: 'slack:U1' }, tick())).toBeUndefined();
    expect(r.timeline.at(-1)).toMatchObject({ type: 'approvalRecorded', by: 'slack:U1', person: 'alice', approvals: 1 });
    const refusal = expectRefusal(r.decideApprove({ by: 'api:alice' }, tick()), REFUSAL.duplicateApproval, { state: 'awaitingPlanApproval', planId: 'plan-1' });
    expect(refusal.message).toContain('already approved plan plan-1 (1 of 2 approvals)');
    expect(r.timeline.at(-1)).toMatchObject({ type: 'approvalRefused', decision: 'approve', by: 'api:alice', code: 'DuplicateApproval', reason: refusal.message });
    expect(r.approvals).toHaveLength(1);
    // A reject by someone who already approved is a different decision: not a duplicate.
    expect(r.decideReject({ reason: 'changed my mind', by: 'api:alice' }, tick())).toBeUndefined();
    expect(r.state).toBe('cancelled');
  });

  it('refuses people who are not approvers with NotAllowed, saying why, for approve and reject alike', () => {
    const r = underPolicy({ approvers: ['group:oncall'], groups: { oncall: ['alice', 'slack:U2'] } });
    const refusal = expectRefusal(r.decideApprove({ by: 'mallory' }, tick()), REFUSAL.notAllowed, { state: 'awaitingPlanApproval' });
    expect(refusal.message).toBe('mallory is not an approver of this session (approvers: group:oncall)');
    expect(r.timeline.at(-1)).toMatchObject({ type: 'approvalRefused', decision: 'approve', by: 'mallory', code: 'NotAllowed', planId: 'plan-1' });
    expectRefusal(r.decideReject({ reason: 'no', by: 'mallory' }, tick()), REFUSAL.notAllowed, { state: 'awaitingPlanApproval' });
    expect(r.timeline.at(-1)).toMatchObject({ type: 'approvalRefused', decision: 'reject', by: 'mallory', code: 'NotAllowed' });
    expect(r.state).toBe('awaitingPlanApproval');
    expect(r.decideApprove({ by: 'slack:U2' }, tick())).toBeUndefined();
    expect(r.state).toBe('inProgress');
  });

  it('the requester rule: the requester (under any of their identities) may not approve their own plan', () => {
    const r = underPolicy({ allowRequester: false, people: { alice: ['slack:U1', 'api:alice'] } }, 'api:alice');
    const refusal = expectRefusal(r.decideApprove({ by: 'slack:U1' }, tick()), REFUSAL.notAllowed, {});
    expect(refusal.message).toBe('slack:U1 requested this session and may not approve its own plan');
    expect(r.decideApprove({ by: 'bob' }, tick())).toBeUndefined();
    expect(r.state).toBe('inProgress');
  });

  it('checks state, then the plan (id and hash), then the policy', () => {
    const r = underPolicy({ approvers: ['alice'] });
    expectRefusal(r.decideApprove({ by: 'mallory', planId: 'plan-0' }, tick()), REFUSAL.stalePlan, { planId: 'plan-1' });
    const stale = expectRefusal(r.decideApprove({ by: 'alice', planHash: 'not-the-hash' }, tick()), REFUSAL.stalePlan, { planId: 'plan-1' });
    expect(stale.message).toContain('the plan changed since it was shown');
    expect(r.timeline.at(-1)).toMatchObject({ type: 'approvalRefused', code: 'StalePlan', by: 'alice' });
    expect(r.decideApprove({ by: 'alice', planId: 'plan-1', planHash: planHash(plan1) }, tick())).toBeUndefined();
    expect(r.state).toBe('inProgress');
    expectRefusal(r.decideApprove({ by: 'mallory', planId: 'plan-0' }, tick()), REFUSAL.invalidState, { state: 'inProgress' });
  });

  it('once escalated, the escalation group may decide too', () => {
    const r = underPolicy({
      approvers: ['alice'],
      groups: { leads: ['lee'] },
      deadline: { after: '1h', escalateAfter: '30m', escalateTo: ['group:leads'], action: 'reject' },
    });
    expectRefusal(r.decideApprove({ by: 'lee' }, tick()), REFUSAL.notAllowed, {});
    r.escalated = true;
    expect(r.view().approval).toMatchObject({ escalated: true });
    expect(r.decideApprove({ by: 'lee' }, tick())).toBeUndefined();
    expect(r.state).toBe('inProgress');
  });

  it('the view shows the deadline, counted from when the plan started awaiting approval', () => {
    const r = underPolicy({ deadline: { after: '10m', action: 'cancel' } });
    expect(r.awaitingSince).toBeDefined();
    expect(r.view().approval?.deadline).toBe(new Date(Date.parse(r.awaitingSince!) + 600_000).toISOString());
  });

  it.each([
    ['reject', ['planRejected', 'sessionCancelled']],
    ['cancel', ['sessionCancelled']],
  ] as const)('at the deadline, action %s ends the session cancelled by policy:deadline', (action, types) => {
    const r = underPolicy({ deadline: { after: '1m', action } });
    r.deadlinePassed(action, tick());
    expect(r.state).toBe('cancelled');
    expect(r.reason).toBe('no decision on plan plan-1 before the deadline');
    expect(r.timeline.slice(-types.length).map((e) => e.type)).toEqual(types);
    expect(r.timeline.at(-1)).toMatchObject({ type: 'sessionCancelled', by: 'policy:deadline', originator: 'system' });
    if (action === 'reject') expect(r.timeline.at(-2)).toMatchObject({ planId: 'plan-1', by: 'policy:deadline', originator: 'system', replan: false });
  });

  it('at the deadline, action approve (low-risk only) approves the plan as the system', () => {
    const r = underPolicy({ required: 2, deadline: { after: '1m', action: 'approve', lowRisk: true } });
    r.deadlinePassed('approve', tick());
    expect(r.state).toBe('inProgress');
    expect(r.timeline.at(-1)).toMatchObject({ type: 'planApproved', by: 'policy:deadline', originator: 'system' });
  });

  it('an invalid policy (from a starter that did not validate it) is kept as policyError, naming the field', () => {
    const raw = { after: 1_000, action: 'approve' } as unknown as NonNullable<SessionWorkflowInput['config']['approval']>['deadline'];
    const r = new SessionRecord({ config: { ...config, approval: { ...OPEN_POLICY, deadline: raw } } }, tick());
    expect(r.policyError).toBe('invalid approval policy: deadline.action: action "approve" needs lowRisk: true');
  });

  it('carries the approvals, escalation and reminders through continue-as-new', () => {
    const r = underPolicy({ required: 3, deadline: { after: '1h', remindEvery: '10m', action: 'cancel' } });
    r.decideApprove({ by: 'alice' }, tick());
    r.escalated = true;
    r.reminders = 2;
    const copy = new SessionRecord({ config: r.config, carried: JSON.parse(JSON.stringify(r.carry())) as unknown }, tick());
    expect(copy.carry()).toEqual(JSON.parse(JSON.stringify(r.carry())));
    expect(copy.view()).toEqual(r.view());
    expect(copy).toMatchObject({ escalated: true, reminders: 2, awaitingSince: r.awaitingSince });
    expectRefusal(copy.decideApprove({ by: 'alice' }, tick()), REFUSAL.duplicateApproval, {});
    expect(copy.decideApprove({ by: 'bob' }, tick())).toBeUndefined();
    expect(copy.timeline.at(-1)).toMatchObject({ type: 'approvalRecorded', approvals: 2, required: 3 });
  });
});
