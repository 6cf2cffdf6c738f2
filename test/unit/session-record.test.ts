/**
 * The session record and its rules on their own, no Temporal: the decisions every signal and update go through, the
 * transition guard, timeline paging and what continue-as-new carries.
 */
import type { Plan, SessionState } from '../../src/session/schema';
import { TRANSITIONS } from '../../src/session/transitions';
import { REFUSAL, type SessionWorkflowInput } from '../../src/protocol/messages';
import { decideApprove, decideCancel, decideMessage, decidePause, decideReject, decideResume } from '../../workflows/session/commands';
import { answer, complete, deadlinePassed, queueOutgoing } from '../../workflows/session/progress';
import {
  LIMITS,
  advance,
  answerTo,
  byteSize,
  carryOver,
  CURRENT_RULES,
  end,
  lastSeq,
  openSession,
  outgrown,
  recordEvent,
  setState,
  timelinePage,
  transcript,
  view,
  type Refusal,
  type Session,
} from '../../workflows/session/record';
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

function fresh(): Session {
  return openSession({ config }, tick());
}

/** A record in `planning`, as the workflow leaves it after sessionCreated. */
function planning(): Session {
  const r = fresh();
  recordEvent(
    r,
    { type: 'sessionCreated', originator: 'system', prompt: config.prompt, title: config.title, requirePlanApproval: true },
    tick(),
  );
  setState(r, 'planning', tick());
  return r;
}

/** A record with plan-1 awaiting approval. */
function awaitingApproval(): Session {
  const r = planning();
  r.record.plan = plan1;
  recordEvent(r, { type: 'planGenerated', originator: 'agent', plan: plan1 }, tick());
  setState(r, 'awaitingPlanApproval', tick());
  return r;
}

function inProgress(): Session {
  const r = awaitingApproval();
  expect(decideApprove(r, { by: 'alice' }, tick())).toBeUndefined();
  return r;
}

function paused(): Session {
  const r = awaitingApproval();
  expect(decidePause(r, { by: 'bob', reason: 'freeze' }, tick())).toBeUndefined();
  expect(r.record.state).toBe('paused');
  return r;
}

function completed(): Session {
  const r = inProgress();
  complete(r, 'all done', [], tick());
  return r;
}

function cancelled(): Session {
  const r = awaitingApproval();
  expect(decideCancel(r, { reason: 'no', by: 'carol' }, tick())).toBeUndefined();
  return r;
}

/** Everything observable about a record, for "nothing changed" checks. */
function snapshot(r: Session) {
  return JSON.parse(JSON.stringify({ carried: r.record, view: view(r) })) as unknown;
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
      const refusal = expectRefusal(decideApprove(r, { planId: '' }, tick()), REFUSAL.invalidArgument, {
        state: 'completed',
        field: 'planId',
      });
      expect(refusal.message).toMatch(/^invalid input: planId: /);
      expectRefusal(decideApprove(r, { by: '   ' }, tick()), REFUSAL.invalidArgument, { field: 'by' });
      expectRefusal(decideApprove(r, { comment: 'x'.repeat(4_001) }, tick()), REFUSAL.invalidArgument, { field: 'comment' });
      expectRefusal(decideApprove(r, 'not an object', tick()), REFUSAL.invalidArgument, { field: '(input)' });
    });

    it('refuses with InvalidState when no plan awaits approval', () => {
      for (const make of [planning, inProgress, paused, completed, cancelled]) {
        const r = make();
        const seq = lastSeq(r);
        const refusal = expectRefusal(decideApprove(r, {}, tick()), REFUSAL.invalidState, { state: r.record.state });
        expect(refusal.message).toContain('no plan is awaiting approval');
        // Recorded with who tried and why, and marked so a signal does not note it again.
        expect(refusal.recorded).toBe(true);
        expect(r.record.timeline.slice(seq)).toEqual([
          expect.objectContaining({
            type: 'approvalRefused',
            decision: 'approve',
            by: 'unknown',
            code: 'InvalidState',
            reason: refusal.message,
            seq: seq + 1,
          }),
        ]);
      }
    });

    it('bad input is refused without recording anything (a signal notes it as inputRejected)', () => {
      const r = awaitingApproval();
      const before = snapshot(r);
      const refusal = expectRefusal(decideApprove(r, { planId: '' }, tick()), REFUSAL.invalidArgument, { field: 'planId' });
      expect(refusal.recorded).toBeUndefined();
      expect(snapshot(r)).toEqual(before);
    });

    it('refuses a plan id that is not current with StalePlan carrying the current plan id', () => {
      const r = awaitingApproval();
      const refusal = expectRefusal(decideApprove(r, { planId: 'plan-0' }, tick()), REFUSAL.stalePlan, {
        state: 'awaitingPlanApproval',
        planId: 'plan-1',
      });
      expect(refusal.message).toContain('plan-0');
      expect(r.record.state).toBe('awaitingPlanApproval');
    });

    it('checks state before the plan id', () => {
      const r = paused();
      expectRefusal(decideApprove(r, { planId: 'plan-0' }, tick()), REFUSAL.invalidState, { state: 'paused' });
    });

    it('applies: planApproved, step 0, inProgress', () => {
      const r = awaitingApproval();
      expect(decideApprove(r, { planId: 'plan-1', by: 'alice', comment: 'ok' }, tick())).toBeUndefined();
      expect(r.record.state).toBe('inProgress');
      expect(r.record.currentStep).toBe(0);
      expect(r.record.timeline.at(-1)).toMatchObject({
        type: 'planApproved',
        planId: 'plan-1',
        by: 'alice',
        comment: 'ok',
        originator: 'user',
      });
    });
  });

  describe('reject', () => {
    it('refuses a missing or blank reason with InvalidArgument(reason)', () => {
      const r = awaitingApproval();
      expectRefusal(decideReject(r, {}, tick()), REFUSAL.invalidArgument, { field: 'reason' });
      expectRefusal(decideReject(r, { reason: '   ' }, tick()), REFUSAL.invalidArgument, { field: 'reason' });
      expectRefusal(decideReject(r, { reason: 'x', replan: 'yes' }, tick()), REFUSAL.invalidArgument, { field: 'replan' });
      expect(r.record.state).toBe('awaitingPlanApproval');
    });

    it('refuses with InvalidState outside awaitingPlanApproval and StalePlan for an old plan', () => {
      const r = inProgress();
      expectRefusal(decideReject(r, { reason: 'no' }, tick()), REFUSAL.invalidState, { state: 'inProgress' });
      const waiting = awaitingApproval();
      expectRefusal(decideReject(waiting, { reason: 'no', planId: 'plan-9' }, tick()), REFUSAL.stalePlan, { planId: 'plan-1' });
    });

    it('without replan ends the session cancelled; with replan starts round 2 with the reason as feedback', () => {
      const ended = awaitingApproval();
      expect(decideReject(ended, { reason: 'too risky', by: 'dave' }, tick())).toBeUndefined();
      expect(ended.record.state).toBe('cancelled');
      expect(ended.record.reason).toBe('plan plan-1 rejected: too risky');
      expect(ended.record.timeline.slice(-2).map((e) => e.type)).toEqual(['planRejected', 'sessionCancelled']);
      expect(ended.record.timeline.at(-1)).toMatchObject({ by: 'dave', reason: 'plan plan-1 rejected: too risky' });

      const replanned = awaitingApproval();
      expect(decideReject(replanned, { reason: 'rotate logs instead', replan: true }, tick())).toBeUndefined();
      expect(replanned.record.state).toBe('planning');
      expect(replanned.record.round).toBe(2);
      expect(replanned.record.feedback).toEqual(['rotate logs instead']);
      expect(replanned.record.timeline.at(-1)).toMatchObject({ type: 'planRejected', replan: true, by: 'unknown' });
    });
  });

  describe('message (send and ask)', () => {
    it('refuses an empty, blank or oversized message with InvalidArgument(message)', () => {
      const r = inProgress();
      for (const op of ['send', 'ask'] as const) {
        expectRefusal(decideMessage(r, op, { message: '' }, tick()), REFUSAL.invalidArgument, { field: 'message' });
        expectRefusal(decideMessage(r, op, { message: '  \n ' }, tick()), REFUSAL.invalidArgument, { field: 'message' });
        expectRefusal(decideMessage(r, op, { message: 'x'.repeat(32_001) }, tick()), REFUSAL.invalidArgument, { field: 'message' });
        expectRefusal(decideMessage(r, op, { message: 'hi', messageId: '' }, tick()), REFUSAL.invalidArgument, { field: 'messageId' });
      }
      expect(r.record.queue).toEqual([]);
    });

    it('refuses with InvalidState once the session failed or was cancelled', () => {
      const r = cancelled();
      for (const op of ['send', 'ask'] as const) {
        const refusal = expectRefusal(decideMessage(r, op, { message: 'hello' }, tick()), REFUSAL.invalidState, { state: 'cancelled' });
        expect(refusal.message).toContain(`cannot ${op}`);
      }
      const failed = inProgress();
      end(failed, 'failed', 'boom', 'system', tick());
      expectRefusal(decideMessage(failed, 'ask', { message: 'hello' }, tick()), REFUSAL.invalidState, { state: 'failed' });
    });

    it('accepts in completed (the follow-up window) and queues in arrival order', () => {
      const r = completed();
      expect(decideMessage(r, 'send', { message: 'one', messageId: 'a' }, tick())).toEqual({ messageId: 'a', duplicate: false });
      expect(decideMessage(r, 'ask', { message: 'two' }, tick())).toEqual({ messageId: `msg-${lastSeq(r)}`, duplicate: false });
      expect(r.record.queue.map((m) => m.text)).toEqual(['one', 'two']);
      expect(r.record.acceptedMessages).toBe(2);
    });

    it('treats a repeated messageId as a duplicate, queued or answered, in any state, recording nothing', () => {
      const r = inProgress();
      expect(decideMessage(r, 'ask', { message: 'hi', messageId: 'm1' }, tick())).toEqual({ messageId: 'm1', duplicate: false });
      const before = snapshot(r);
      expect(decideMessage(r, 'ask', { message: 'hi again', messageId: 'm1' }, tick())).toEqual({ messageId: 'm1', duplicate: true });
      expect(snapshot(r)).toEqual(before);
      answer(r, 'm1', 'hello', tick());
      end(r, 'cancelled', 'stop', 'x', tick());
      // Even in a state that refuses new messages, a retry of an answered one is accepted.
      expect(decideMessage(r, 'send', { message: 'hi', messageId: 'm1' }, tick())).toEqual({ messageId: 'm1', duplicate: true });
      expect(r.record.timeline.filter((e) => e.type === 'userMessaged')).toHaveLength(1);
    });

    it('in awaitingUserFeedback, the message is the answer: feedback, next round, planning', () => {
      const r = planning();
      recordEvent(r, { type: 'agentMessaged', originator: 'agent', message: 'Which host?' }, tick());
      advance(r, 'awaitingUserFeedback', tick());
      expect(decideMessage(r, 'send', { message: 'db-1', by: 'erin' }, tick())).toMatchObject({ duplicate: false });
      expect(r.record.state).toBe('planning');
      expect(r.record.round).toBe(2);
      expect(r.record.feedback).toEqual(['db-1']);
    });

    it('while paused, a message is not taken as the answer to an open question', () => {
      const r = planning();
      advance(r, 'awaitingUserFeedback', tick());
      expect(decidePause(r, {}, tick())).toBeUndefined();
      expect(decideMessage(r, 'send', { message: 'db-1' }, tick())).toMatchObject({ duplicate: false });
      expect(r.record.state).toBe('paused');
      expect(r.record.feedback).toEqual([]);
      expect(decideResume(r, {}, tick())).toBeUndefined();
      expect(r.record.state).toBe('awaitingUserFeedback');
    });
  });

  describe('pause', () => {
    it('refuses bad input with InvalidArgument', () => {
      const r = inProgress();
      expectRefusal(decidePause(r, { by: '' }, tick()), REFUSAL.invalidArgument, { field: 'by' });
      expectRefusal(decidePause(r, { reason: 7 }, tick()), REFUSAL.invalidArgument, { field: 'reason' });
      expect(r.record.pauseRequested).toBe(false);
    });

    it('refuses with InvalidState when paused or ended', () => {
      for (const make of [paused, completed, cancelled]) {
        const r = make();
        expectRefusal(decidePause(r, {}, tick()), REFUSAL.invalidState, { state: r.record.state });
      }
    });

    it('with work in flight only requests the pause; advance() applies it at the boundary', () => {
      const r = inProgress();
      expect(decidePause(r, { by: 'bob', reason: 'lunch' }, tick())).toBeUndefined();
      expect(r.record.state).toBe('inProgress');
      expect(r.record.pauseRequested).toBe(true);
      expect(r.record.timeline.some((e) => e.type === 'sessionPaused')).toBe(false);
      advance(r, 'inProgress', tick());
      expect(r.record.state).toBe('paused');
      expect(r.record.pauseRequested).toBe(false);
      expect(r.record.timeline.at(-1)).toMatchObject({ type: 'sessionPaused', by: 'bob', reason: 'lunch' });
      expect(decideResume(r, { by: 'bob' }, tick())).toBeUndefined();
      expect(r.record.state).toBe('inProgress');
    });

    it('complete() clears a pending pause (one requested during the summary), so nothing is left to resume', () => {
      const r = inProgress();
      expect(decidePause(r, {}, tick())).toBeUndefined();
      complete(r, 'done', [], tick());
      expect(r.record.state).toBe('completed');
      expect(view(r).pauseRequested).toBe(false);
      // Nothing is pending any more, so resume is refused like any command on an ended session.
      expectRefusal(decideResume(r, {}, tick()), REFUSAL.invalidState, { state: 'completed' });
    });
  });

  describe('resume', () => {
    it('refuses bad input with InvalidArgument and the wrong state with InvalidState', () => {
      const r = paused();
      expectRefusal(decideResume(r, { by: 42 }, tick()), REFUSAL.invalidArgument, { field: 'by' });
      for (const make of [awaitingApproval, inProgress, completed, cancelled]) {
        const other = make();
        expectRefusal(decideResume(other, {}, tick()), REFUSAL.invalidState, { state: other.record.state });
      }
    });

    it('withdraws a pending pause without an event', () => {
      const r = inProgress();
      decidePause(r, {}, tick());
      const events = r.record.timeline.length;
      expect(decideResume(r, {}, tick())).toBeUndefined();
      expect(r.record.pauseRequested).toBe(false);
      expect(r.record.timeline).toHaveLength(events);
      advance(r, 'inProgress', tick());
      expect(r.record.state).toBe('inProgress');
    });

    it('returns to the state the session was paused in', () => {
      const r = paused();
      expect(decideResume(r, { by: 'bob' }, tick())).toBeUndefined();
      expect(r.record.state).toBe('awaitingPlanApproval');
      expect(r.record.timeline.at(-1)).toMatchObject({ type: 'sessionResumed', by: 'bob' });
    });
  });

  describe('cancel', () => {
    it('refuses a missing reason with InvalidArgument(reason)', () => {
      const r = inProgress();
      expectRefusal(decideCancel(r, {}, tick()), REFUSAL.invalidArgument, { field: 'reason' });
      expectRefusal(decideCancel(r, { reason: ' ' }, tick()), REFUSAL.invalidArgument, { field: 'reason' });
      expectRefusal(decideCancel(r, null, tick()), REFUSAL.invalidArgument, { field: 'reason' });
    });

    it('refuses with InvalidState once the session has ended', () => {
      for (const make of [completed, cancelled]) {
        const r = make();
        expectRefusal(decideCancel(r, { reason: 'again' }, tick()), REFUSAL.invalidState, { state: r.record.state });
      }
    });

    it('cancels from paused, recording reason and who, and clears a pending pause', () => {
      const r = paused();
      expect(decideCancel(r, { reason: 'wrong host', by: 'carol' }, tick())).toBeUndefined();
      expect(r.record.state).toBe('cancelled');
      expect(r.record.reason).toBe('wrong host');
      expect(r.record.timeline.at(-1)).toMatchObject({ type: 'sessionCancelled', by: 'carol', reason: 'wrong host', originator: 'user' });
      const busy = inProgress();
      decidePause(busy, {}, tick());
      decideCancel(busy, { reason: 'stop' }, tick());
      expect(busy.record.pauseRequested).toBe(false);
    });
  });
});

describe('apply = false changes nothing', () => {
  const cases: [string, () => Session, (r: Session) => unknown, unknown][] = [
    ['approve', awaitingApproval, (r) => decideApprove(r, { planId: 'plan-1', by: 'a' }, tick(), false), undefined],
    ['reject', awaitingApproval, (r) => decideReject(r, { reason: 'no' }, tick(), false), undefined],
    ['reject with replan', awaitingApproval, (r) => decideReject(r, { reason: 'no', replan: true }, tick(), false), undefined],
    ['pause (waiting)', awaitingApproval, (r) => decidePause(r, { by: 'b' }, tick(), false), undefined],
    ['pause (in flight)', inProgress, (r) => decidePause(r, { by: 'b' }, tick(), false), undefined],
    ['resume', paused, (r) => decideResume(r, { by: 'b' }, tick(), false), undefined],
    ['cancel', inProgress, (r) => decideCancel(r, { reason: 'stop' }, tick(), false), undefined],
    [
      'send',
      inProgress,
      (r) => decideMessage(r, 'send', { message: 'hi', messageId: 'x' }, tick(), false),
      { messageId: 'x', duplicate: false },
    ],
    ['ask', awaitingApproval, (r) => decideMessage(r, 'ask', { message: 'hi' }, tick(), false), { messageId: 'msg-3', duplicate: false }],
  ];
  it.each(cases)('%s: the same answer as applying, and no change', (_name, make, decide, expected) => {
    const r = make();
    const before = snapshot(r);
    expect(decide(r)).toEqual(expected);
    expect(snapshot(r)).toEqual(before);
  });

  it('withdrawing a pending pause with apply=false leaves it pending', () => {
    const r = inProgress();
    decidePause(r, {}, tick());
    const before = snapshot(r);
    expect(decideResume(r, {}, tick(), false)).toBeUndefined();
    expect(snapshot(r)).toEqual(before);
    expect(r.record.pauseRequested).toBe(true);
  });

  it('refusals with apply=false are the same refusals, and change nothing', () => {
    const r = inProgress();
    const before = snapshot(r);
    expect(decideApprove(r, { planId: '' }, tick(), false)).toMatchObject({ type: REFUSAL.invalidArgument });
    expect(decideReject(r, { reason: '' }, tick(), false)).toMatchObject({ type: REFUSAL.invalidArgument });
    expect(decideResume(r, {}, tick(), false)).toMatchObject({ type: REFUSAL.invalidState });
    expect(snapshot(r)).toEqual(before);
  });

  it('decisions with apply=false check only the input: state, plan and policy are left to the handler, which records a refusal', () => {
    const r = inProgress();
    const before = snapshot(r);
    // The validator lets these through, so the handler can record who tried and why.
    expect(decideApprove(r, {}, tick(), false)).toBeUndefined();
    expect(decideReject(r, { reason: 'no', planId: 'plan-9' }, tick(), false)).toBeUndefined();
    expect(snapshot(r)).toEqual(before);
    expectRefusal(decideApprove(r, { by: 'eve' }, tick()), REFUSAL.invalidState, { state: 'inProgress' });
    expect(r.record.timeline.at(-1)).toMatchObject({ type: 'approvalRefused', decision: 'approve', by: 'eve', code: 'InvalidState' });
  });
});

describe('setState', () => {
  const states = Object.keys(TRANSITIONS) as SessionState[];

  it('refuses every transition not in TRANSITIONS, and allows the listed ones', () => {
    for (const from of states) {
      for (const to of states) {
        if (from === to) continue;
        const changes: SessionState[] = [];
        const watched = openSession({ config, carried: { ...fresh().record, state: from } }, tick(), {
          stateChanged: (x) => changes.push(x.record.state),
        });
        if (TRANSITIONS[from].includes(to)) {
          setState(watched, to, tick());
          expect(watched.record.state).toBe(to);
          expect(changes).toEqual([to]);
        } else {
          expect(() => setState(watched, to, tick())).toThrow(`illegal session transition ${from} → ${to}`);
          expect(watched.record.state).toBe(from);
          expect(changes).toEqual([]);
        }
      }
    }
  });

  it('setting the current state is a no-op (no callback, no updateTime change)', () => {
    const calls: string[] = [];
    const r = openSession({ config }, tick(), { stateChanged: (x) => calls.push(x.record.state) });
    setState(r, 'planning', tick());
    const updated = r.record.updateTime;
    setState(r, 'planning', tick());
    expect(calls).toEqual(['planning']);
    expect(r.record.updateTime).toBe(updated);
  });

  it('a finished session cannot be moved anywhere', () => {
    const r = completed();
    for (const to of states.filter((s) => s !== 'completed')) expect(() => setState(r, to, tick())).toThrow(/illegal session transition/);
  });
});

describe('timelinePage', () => {
  function withEvents(n: number): Session {
    const r = fresh();
    for (let i = 1; i <= n; i++)
      recordEvent(r, { type: 'userMessaged', originator: 'user', messageId: `m${i}`, message: `message ${i}`, by: 'u' }, tick());
    return r;
  }

  it('returns events after a seq, up to a limit, with lastSeq and state', () => {
    const r = withEvents(25);
    const first = timelinePage(r, { after: 0, limit: 10 });
    expect(first.events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(first).toMatchObject({ lastSeq: 25, state: 'queued' });
    const second = timelinePage(r, { after: 10, limit: 10 });
    expect(second.events.map((e) => e.seq)).toEqual([11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
    const last = timelinePage(r, { after: 20, limit: 10 });
    expect(last.events.map((e) => e.seq)).toEqual([21, 22, 23, 24, 25]);
    expect(timelinePage(r, { after: 25 }).events).toEqual([]);
    expect(timelinePage(r, { after: 1_000 }).events).toEqual([]);
  });

  it('pages through the whole timeline without gaps or duplicates', () => {
    const r = withEvents(37);
    const seen: number[] = [];
    let after = 0;
    for (;;) {
      const page = timelinePage(r, { after, limit: 7 });
      if (page.events.length === 0) break;
      seen.push(...page.events.map((e) => e.seq));
      after = page.events.at(-1)!.seq;
    }
    expect(seen).toEqual(Array.from({ length: 37 }, (_, i) => i + 1));
  });

  it('defaults to after 0 and limit 200, and falls back to the defaults on bad input', () => {
    const r = withEvents(250);
    expect(timelinePage(r, undefined).events).toHaveLength(200);
    expect(timelinePage(r, {}).events[0]?.seq).toBe(1);
    expect(timelinePage(r, { after: 240 }).events).toHaveLength(10);
    for (const bad of [{ after: -1 }, { limit: 0 }, { limit: 1_001 }, { after: 'x' }, 'nonsense']) {
      const page = timelinePage(r, bad);
      expect(page.events[0]?.seq).toBe(1);
      expect(page.events).toHaveLength(200);
    }
  });

  it('returns copies in seq order with numbered, timestamped events', () => {
    const r = withEvents(3);
    const { events } = timelinePage(r, {});
    expect(events.map((e) => e.seq)).toEqual([1, 2, 3]);
    for (const e of events) expect(new Date(e.time).toISOString()).toBe(e.time);
    expect(r.record.updateTime).toBe(events[2]?.time);
  });
});

describe('the record carried whole through continue-as-new', () => {
  /** A record with something in every carried field. */
  function busy(): Session {
    const r = awaitingApproval();
    decideReject(r, { reason: 'smaller steps', replan: true, by: 'alice' }, tick());
    const plan2: Plan = { ...plan1, id: 'plan-2', steps: plan1.steps.map((s) => ({ ...s, id: s.id.replace('plan-1', 'plan-2') })) };
    r.record.plan = plan2;
    recordEvent(r, { type: 'planGenerated', originator: 'agent', plan: plan2 }, tick());
    advance(r, 'awaitingPlanApproval', tick());
    decideApprove(r, { planId: 'plan-2', by: 'alice' }, tick());
    r.record.stepOutcomes.push({ stepId: 'plan-2-step-1', title: 'Look', description: 'looked' });
    r.record.currentStep = 1;
    decideMessage(r, 'ask', { message: 'answered', messageId: 'a1', by: 'bob' }, tick());
    answer(r, 'a1', 'the answer', tick());
    decideMessage(r, 'send', { message: 'still queued', messageId: 'q1', by: 'bob' }, tick());
    decidePause(r, { by: 'carol', reason: 'change freeze' }, tick());
    return r;
  }

  function restored(r: Session, onStateChange?: (x: Session) => void): Session {
    // Through JSON, as Temporal's payload converter carries it.
    const carried = JSON.parse(JSON.stringify(r.record)) as unknown;
    return openSession({ config, carried }, tick(), { stateChanged: onStateChange });
  }

  it('round-trips every field', () => {
    const r = busy();
    const copy = restored(r);
    expect(copy.record).toEqual(JSON.parse(JSON.stringify(r.record)));
    expect(view(copy)).toEqual(view(r));
    expect(copy.record.state).toBe('inProgress');
    expect(copy.record.round).toBe(2);
    expect(copy.record.feedback).toEqual(['smaller steps']);
    expect(copy.record.plan?.id).toBe('plan-2');
    expect(copy.record.currentStep).toBe(1);
    expect(copy.record.pauseRequested).toBe(true);
    expect(copy.record.queue).toEqual([{ id: 'q1', text: 'still queued', by: 'bob' }]);
    expect(copy.record.answers).toEqual([{ id: 'a1', reply: 'the answer' }]);
    expect(copy.record.acceptedMessages).toBe(2);
    expect(copy.record.createTime).toBe(r.record.createTime);
    expect(copy.record.updateTime).toBe(r.record.updateTime);
    expect(copy.record.timeline).toEqual(r.record.timeline);
    expect(transcript(copy)).toEqual(transcript(r));
  });

  it('the restored record behaves like the original: seq numbering, idempotency, the pending pause and who asked for it', () => {
    const r = busy();
    const copy = restored(r);
    // Idempotency survives: answered and queued ids are duplicates.
    expect(decideMessage(copy, 'ask', { message: 'answered', messageId: 'a1' }, tick())).toEqual({ messageId: 'a1', duplicate: true });
    expect(decideMessage(copy, 'send', { message: 'x', messageId: 'q1' }, tick())).toEqual({ messageId: 'q1', duplicate: true });
    // The pending pause takes effect at the next boundary, recorded as by whoever asked for it.
    advance(copy, 'inProgress', tick());
    expect(copy.record.state).toBe('paused');
    const paused = copy.record.timeline.at(-1)!;
    expect(paused).toMatchObject({ type: 'sessionPaused', by: 'carol', reason: 'change freeze', seq: lastSeq(r) + 1 });
    expect(decideResume(copy, {}, tick())).toBeUndefined();
    expect(copy.record.state).toBe('inProgress');
  });

  it('round-trips a paused session with the state to resume to', () => {
    const r = paused();
    const copy = restored(r);
    expect(copy.record).toEqual(JSON.parse(JSON.stringify(r.record)));
    expect(decideResume(copy, {}, tick())).toBeUndefined();
    expect(copy.record.state).toBe('awaitingPlanApproval');
  });

  it('round-trips ended sessions with reason, summary and outputs', () => {
    const done = inProgress();
    complete(
      done,
      'all done',
      [{ type: 'pullRequest', pullRequest: { url: 'https://example.test/pr/1', title: 'Fix', description: '' } }],
      tick(),
    );
    const copy = restored(done);
    expect(view(copy)).toEqual(view(done));
    expect(view(copy)).toMatchObject({ state: 'completed', summary: 'all done', currentStep: undefined });
    expect(copy.record.outputs).toEqual(done.record.outputs);

    const gone = restored(cancelled());
    expect(view(gone)).toMatchObject({ state: 'cancelled', reason: 'no' });
  });

  it('does not call onStateChange while restoring', () => {
    const calls: string[] = [];
    restored(busy(), (x) => calls.push(x.record.state));
    expect(calls).toEqual([]);
  });

  it('accepts a record carried by earlier code, without the fields added since (they take their defaults)', () => {
    const r = busy();
    // The shape sessions carried before approval policies, notifications, reviews and budgets existed.
    const { outbox, slack, approvals, escalated, awaitingSince, reminders, stepFailure, work, reviews, usage, budget, ...older } =
      JSON.parse(JSON.stringify(r.record)) as typeof r.record;
    void [outbox, slack, approvals, escalated, awaitingSince, reminders, stepFailure, work, reviews, usage, budget];
    const copy = restored({ ...r, record: older as typeof r.record });
    expect(copy.record).toMatchObject({ outbox: [], approvals: [], escalated: false, reminders: 0, reviews: [] });
    expect(copy.record.timeline).toEqual(r.record.timeline);
    expect(copy.record.state).toBe('inProgress');
    expect(decideMessage(copy, 'ask', { message: 'answered', messageId: 'a1' }, tick())).toEqual({ messageId: 'a1', duplicate: true });
  });

  it('rejects a carried record that does not parse', () => {
    expect(() => openSession({ config, carried: { state: 'planning' } }, tick())).toThrow();
  });

  it('keeps only the most recent 200 answers, oldest dropped first', () => {
    const r = inProgress();
    for (let i = 1; i <= 205; i++) {
      decideMessage(r, 'send', { message: `m${i}`, messageId: `id-${i}` }, tick());
      answer(r, `id-${i}`, `reply ${i}`, tick());
    }
    const copy = restored(r);
    expect(copy.record.answers).toHaveLength(200);
    expect(answerTo(copy, 'id-5')).toBeUndefined();
    expect(answerTo(copy, 'id-6')).toBe('reply 6');
    expect(answerTo(copy, 'id-205')).toBe('reply 205');
  });
});

describe('approval policies', () => {
  /** plan-1 awaiting approval under `policy`, requested by `requestedBy`. */
  function underPolicy(policy: ApprovalPolicyInput, requestedBy?: string): Session {
    const r = openSession({ config: { ...config, requestedBy, approval: ApprovalPolicy.parse(policy) } }, tick());
    recordEvent(
      r,
      { type: 'sessionCreated', originator: 'system', prompt: config.prompt, title: config.title, requirePlanApproval: true },
      tick(),
    );
    setState(r, 'planning', tick());
    r.record.plan = { ...plan1, hash: planHash(plan1) };
    recordEvent(r, { type: 'planGenerated', originator: 'agent', plan: r.record.plan }, tick());
    setState(r, 'awaitingPlanApproval', tick());
    return r;
  }

  it('with no policy, anyone may approve and one approval suffices', () => {
    const r = awaitingApproval();
    expect(r.policy).toEqual(OPEN_POLICY);
    expect(view(r).approval).toEqual({ planId: 'plan-1', required: 1, approvals: [], escalated: false, deadline: undefined });
    expect(decideApprove(r, { by: 'anyone' }, tick())).toBeUndefined();
    expect(r.record.state).toBe('inProgress');
    expect(view(r).approval).toBeUndefined();
  });

  it('two of three: the first approval is approvalRecorded, the second distinct person approves the plan', () => {
    const r = underPolicy({ approvers: ['alice', 'bob', 'carol'], required: 2 });
    expect(decideApprove(r, { by: 'alice', comment: 'lgtm' }, tick())).toBeUndefined();
    expect(r.record.state).toBe('awaitingPlanApproval');
    expect(r.record.timeline.at(-1)).toMatchObject({
      type: 'approvalRecorded',
      planId: 'plan-1',
      by: 'alice',
      person: 'alice',
      approvals: 1,
      required: 2,
      comment: 'lgtm',
      originator: 'user',
    });
    expect(view(r).approval).toMatchObject({
      planId: 'plan-1',
      required: 2,
      approvals: [{ person: 'alice', by: 'alice' }],
      escalated: false,
    });

    expect(decideApprove(r, { by: 'bob' }, tick())).toBeUndefined();
    expect(r.record.state).toBe('inProgress');
    expect(r.record.currentStep).toBe(0);
    expect(r.record.timeline.slice(-1)).toEqual([
      expect.objectContaining({ type: 'planApproved', planId: 'plan-1', by: 'bob', originator: 'user' }),
    ]);
  });

  it('an approval counts once per person, across the identities that are that person', () => {
    const r = underPolicy({ required: 2, people: { alice: ['slack:U1', 'api:alice'] } });
    expect(decideApprove(r, { by: 'slack:U1' }, tick())).toBeUndefined();
    expect(r.record.timeline.at(-1)).toMatchObject({ type: 'approvalRecorded', by: 'slack:U1', person: 'alice', approvals: 1 });
    const refusal = expectRefusal(decideApprove(r, { by: 'api:alice' }, tick()), REFUSAL.duplicateApproval, {
      state: 'awaitingPlanApproval',
      planId: 'plan-1',
    });
    expect(refusal.message).toContain('already approved plan plan-1 (1 of 2 approvals)');
    expect(r.record.timeline.at(-1)).toMatchObject({
      type: 'approvalRefused',
      decision: 'approve',
      by: 'api:alice',
      code: 'DuplicateApproval',
      reason: refusal.message,
    });
    expect(r.record.approvals).toHaveLength(1);
    // A reject by someone who already approved is a different decision: not a duplicate.
    expect(decideReject(r, { reason: 'changed my mind', by: 'api:alice' }, tick())).toBeUndefined();
    expect(r.record.state).toBe('cancelled');
  });

  it('refuses people who are not approvers with NotAllowed, saying why, for approve and reject alike', () => {
    const r = underPolicy({ approvers: ['group:oncall'], groups: { oncall: ['alice', 'slack:U2'] } });
    const refusal = expectRefusal(decideApprove(r, { by: 'mallory' }, tick()), REFUSAL.notAllowed, { state: 'awaitingPlanApproval' });
    expect(refusal.message).toBe('mallory is not an approver of this session (approvers: group:oncall)');
    expect(r.record.timeline.at(-1)).toMatchObject({
      type: 'approvalRefused',
      decision: 'approve',
      by: 'mallory',
      code: 'NotAllowed',
      planId: 'plan-1',
    });
    expectRefusal(decideReject(r, { reason: 'no', by: 'mallory' }, tick()), REFUSAL.notAllowed, { state: 'awaitingPlanApproval' });
    expect(r.record.timeline.at(-1)).toMatchObject({ type: 'approvalRefused', decision: 'reject', by: 'mallory', code: 'NotAllowed' });
    expect(r.record.state).toBe('awaitingPlanApproval');
    expect(decideApprove(r, { by: 'slack:U2' }, tick())).toBeUndefined();
    expect(r.record.state).toBe('inProgress');
  });

  it('the requester rule: the requester (under any of their identities) may not approve their own plan', () => {
    const r = underPolicy({ allowRequester: false, people: { alice: ['slack:U1', 'api:alice'] } }, 'api:alice');
    const refusal = expectRefusal(decideApprove(r, { by: 'slack:U1' }, tick()), REFUSAL.notAllowed, {});
    expect(refusal.message).toBe('slack:U1 requested this session and may not approve its own plan');
    expect(decideApprove(r, { by: 'bob' }, tick())).toBeUndefined();
    expect(r.record.state).toBe('inProgress');
  });

  it('checks state, then the plan (id and hash), then the policy', () => {
    const r = underPolicy({ approvers: ['alice'] });
    expectRefusal(decideApprove(r, { by: 'mallory', planId: 'plan-0' }, tick()), REFUSAL.stalePlan, { planId: 'plan-1' });
    const stale = expectRefusal(decideApprove(r, { by: 'alice', planHash: 'not-the-hash' }, tick()), REFUSAL.stalePlan, {
      planId: 'plan-1',
    });
    expect(stale.message).toContain('the plan changed since it was shown');
    expect(r.record.timeline.at(-1)).toMatchObject({ type: 'approvalRefused', code: 'StalePlan', by: 'alice' });
    expect(decideApprove(r, { by: 'alice', planId: 'plan-1', planHash: planHash(plan1) }, tick())).toBeUndefined();
    expect(r.record.state).toBe('inProgress');
    expectRefusal(decideApprove(r, { by: 'mallory', planId: 'plan-0' }, tick()), REFUSAL.invalidState, { state: 'inProgress' });
  });

  it('once escalated, the escalation group may decide too', () => {
    const r = underPolicy({
      approvers: ['alice'],
      groups: { leads: ['lee'] },
      deadline: { after: '1h', escalateAfter: '30m', escalateTo: ['group:leads'], action: 'reject' },
    });
    expectRefusal(decideApprove(r, { by: 'lee' }, tick()), REFUSAL.notAllowed, {});
    r.record.escalated = true;
    expect(view(r).approval).toMatchObject({ escalated: true });
    expect(decideApprove(r, { by: 'lee' }, tick())).toBeUndefined();
    expect(r.record.state).toBe('inProgress');
  });

  it('the view shows the deadline, counted from when the plan started awaiting approval', () => {
    const r = underPolicy({ deadline: { after: '10m', action: 'cancel' } });
    expect(r.record.awaitingSince).toBeDefined();
    expect(view(r).approval?.deadline).toBe(new Date(Date.parse(r.record.awaitingSince!) + 600_000).toISOString());
  });

  it.each([
    ['reject', ['planRejected', 'sessionCancelled']],
    ['cancel', ['sessionCancelled']],
  ] as const)('at the deadline, action %s ends the session cancelled by policy:deadline', (action, types) => {
    const r = underPolicy({ deadline: { after: '1m', action } });
    deadlinePassed(r, action, tick());
    expect(r.record.state).toBe('cancelled');
    expect(r.record.reason).toBe('no decision on plan plan-1 before the deadline');
    expect(r.record.timeline.slice(-types.length).map((e) => e.type)).toEqual(types);
    expect(r.record.timeline.at(-1)).toMatchObject({ type: 'sessionCancelled', by: 'policy:deadline', originator: 'system' });
    if (action === 'reject')
      expect(r.record.timeline.at(-2)).toMatchObject({ planId: 'plan-1', by: 'policy:deadline', originator: 'system', replan: false });
  });

  it('at the deadline, action approve (low-risk only) approves the plan as the system', () => {
    const r = underPolicy({ required: 2, deadline: { after: '1m', action: 'approve', lowRisk: true } });
    deadlinePassed(r, 'approve', tick());
    expect(r.record.state).toBe('inProgress');
    expect(r.record.timeline.at(-1)).toMatchObject({ type: 'planApproved', by: 'policy:deadline', originator: 'system' });
  });

  it('an invalid policy (from a starter that did not validate it) is kept as policyError, naming the field', () => {
    const raw = { after: 1_000, action: 'approve' } as unknown as NonNullable<SessionWorkflowInput['config']['approval']>['deadline'];
    const r = openSession({ config: { ...config, approval: { ...OPEN_POLICY, deadline: raw } } }, tick());
    expect(r.policyError).toBe('invalid approval policy: deadline.action: action "approve" needs lowRisk: true');
  });

  it('carries the approvals, escalation and reminders through continue-as-new', () => {
    const r = underPolicy({ required: 3, deadline: { after: '1h', remindEvery: '10m', action: 'cancel' } });
    decideApprove(r, { by: 'alice' }, tick());
    r.record.escalated = true;
    r.record.reminders = 2;
    const copy = openSession({ config: r.config, carried: JSON.parse(JSON.stringify(r.record)) as unknown }, tick());
    expect(copy.record).toEqual(JSON.parse(JSON.stringify(r.record)));
    expect(view(copy)).toEqual(view(r));
    expect(copy.record).toMatchObject({ escalated: true, reminders: 2, awaitingSince: r.record.awaitingSince });
    expectRefusal(decideApprove(copy, { by: 'alice' }, tick()), REFUSAL.duplicateApproval, {});
    expect(decideApprove(copy, { by: 'bob' }, tick())).toBeUndefined();
    expect(copy.record.timeline.at(-1)).toMatchObject({ type: 'approvalRecorded', approvals: 2, required: 3 });
  });
});

describe('bounded state', () => {
  /** A session awaiting approval with `n` answered messages of `chars` characters. */
  function chatty(n: number, chars = 100): Session {
    const r = awaitingApproval();
    for (let i = 1; i <= n; i++) {
      decideMessage(r, 'send', { message: `m${i} `.padEnd(chars, '.'), messageId: `id-${i}` }, tick());
      answer(r, `id-${i}`, `reply ${i}`, tick());
    }
    return r;
  }

  /** The next run, through JSON as Temporal carries its input. */
  function nextRun(r: Session): Session {
    const input = JSON.parse(JSON.stringify({ config, ...carryOver(r) })) as SessionWorkflowInput;
    return openSession(input, tick());
  }

  it('carries only the newest events within the window and hands the rest to the next run as archived', () => {
    const r = chatty(2_000);
    const all = r.record.timeline;
    const { carried, archived } = carryOver(r);
    const window = (carried as typeof r.record).timeline;
    const bytes = (events: typeof all) => events.reduce((n, e) => n + byteSize(e), 0);
    expect(bytes(window)).toBeLessThanOrEqual(LIMITS.windowBytes);
    expect(bytes(window)).toBeGreaterThan(LIMITS.windowBytes - 1_000);
    expect(window.at(-1)).toEqual(all.at(-1));
    expect([...(archived as typeof all), ...window]).toEqual(all);

    const next = nextRun(r);
    expect(next.record.timeline).toEqual(window);
    expect(lastSeq(next)).toBe(lastSeq(r));
    // The run answers from its archived events on; earlier runs hold older ones (none here).
    const page = timelinePage(next, { after: 0, limit: 1_000 });
    expect(page.firstSeq).toBe(1);
    expect(page.events.map((e) => e.seq)).toEqual(all.slice(0, 1_000).map((e) => e.seq));
    expect(timelinePage(next, { after: window[0]!.seq - 3, limit: 5 }).events.map((e) => e.seq)).toEqual(
      [-2, -1, 0, 1, 2].map((d) => window[0]!.seq + d),
    );

    // The run after that carries the window on; the archive it got is not carried further.
    recordEvent(next, { type: 'sessionResumed', originator: 'user', by: 'x' }, tick());
    const third = nextRun(next);
    expect(third.archived.length).toBeGreaterThan(0);
    expect(third.archived[0]!.seq).toBe(window[0]!.seq);
    expect(timelinePage(third, { after: 0, limit: 1 }).firstSeq).toBe(window[0]!.seq);
    expect(third.record.timeline.at(-1)).toMatchObject({ type: 'sessionResumed', seq: lastSeq(r) + 1 });
  });

  it('asks to continue-as-new once the run outgrows its byte budget', () => {
    const r = chatty(10);
    expect(outgrown(r)).toBe(false);
    while (!outgrown(r)) recordEvent(r, { type: 'sessionResumed', originator: 'user', by: 'x'.repeat(190) }, tick());
    expect(byteSize(r.record.timeline)).toBeGreaterThan(LIMITS.continueAsNewBytes);
    expect(byteSize(r.record.timeline)).toBeLessThan(LIMITS.continueAsNewBytes * 1.02);
    expect(outgrown(nextRun(r))).toBe(false);
  });

  it('replaying a run from before the bounds carries the whole timeline and cuts nothing', () => {
    const r = openSession({ config }, tick(), {}, CURRENT_RULES, false);
    recordEvent(r, { type: 'agentMessaged', originator: 'agent', message: 'z'.repeat(50_000) }, tick());
    expect(r.record.timeline[0]).toMatchObject({ message: 'z'.repeat(50_000) });
    expect(carryOver(r)).toEqual({ carried: r.record });
    expect(outgrown(r)).toBe(false);
  });

  it('cuts event text and the transcript, saying how much was cut', () => {
    const r = awaitingApproval();
    recordEvent(r, { type: 'agentMessaged', originator: 'agent', message: 'y'.repeat(LIMITS.eventTextChars + 10) }, tick());
    const event = r.record.timeline.at(-1)!;
    expect(event).toMatchObject({ message: `${'y'.repeat(LIMITS.eventTextChars)}… [10 more characters not kept]` });
    const long = chatty(40, 30_000);
    const turns = transcript(long);
    expect(turns.reduce((n, t) => n + t.text.length, 0)).toBeLessThanOrEqual(LIMITS.transcriptChars + 100);
    expect(turns.at(-1)).toEqual({ role: 'agent', text: 'reply 40' });
  });

  it('refuses a message when the queue waiting for replies is full, naming the field', () => {
    const r = awaitingApproval();
    for (let i = 0; i < LIMITS.queueMessages; i++)
      expect(decideMessage(r, 'send', { message: `m${i}`, messageId: `q${i}` }, tick())).toMatchObject({ duplicate: false });
    const refusal = expectRefusal(decideMessage(r, 'ask', { message: 'one more' }, tick()), REFUSAL.invalidState, {
      field: 'message',
    });
    expect(refusal.message).toMatch(/500 messages waiting for the agent's reply/);
    // By length too.
    const big = awaitingApproval();
    let accepted = 0;
    while (!('type' in decideMessage(big, 'send', { message: 'x'.repeat(32_000) }, tick()))) accepted++;
    expect(accepted).toBe(Math.floor(LIMITS.queueChars / 32_000));
  });

  it('keeps remembered answers, feedback and the outbox within bounds', () => {
    const r = chatty(10);
    for (let i = 1; i <= 20; i++) {
      decideMessage(r, 'send', { message: `big ${i}`, messageId: `big-${i}` }, tick());
      answer(r, `big-${i}`, 'a'.repeat(20_000), tick());
    }
    // Checked as each event is recorded: the newest reply may be over until the next one.
    recordEvent(r, { type: 'sessionResumed', originator: 'user', by: 'x' }, tick());
    expect(r.record.answers.reduce((n, a) => n + a.reply.length, 0)).toBeLessThanOrEqual(LIMITS.answersChars);
    expect(answerTo(r, 'big-20')).toBeDefined();
    for (let i = 0; i < 30; i++) r.record.feedback.push(`feedback ${i}`);
    for (let i = 0; i < 60; i++) queueOutgoing(r, { kind: 'agentReplied', reply: { messageId: `m${i}`, text: 'hi' } });
    recordEvent(r, { type: 'sessionResumed', originator: 'user', by: 'x' }, tick());
    expect(r.record.feedback).toHaveLength(LIMITS.feedback);
    expect(r.record.feedback.at(-1)).toBe('feedback 29');
    expect(r.record.outbox).toHaveLength(LIMITS.outbox);
    expect(r.record.outbox.at(-1)).toMatchObject({ reply: { messageId: 'm59' } });
  });
});
