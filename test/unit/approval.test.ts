/**
 * Approval policies on their own: who a person is across channels, what a list of approvers
 * stands for, why someone may not decide, the plan fingerprint an approval binds to, and the
 * policy schema's own checks.
 */
import {
  ApprovalPolicy,
  OPEN_POLICY,
  expand,
  personOf,
  planHash,
  whyNotAllowed,
  type ApprovalPolicyInput,
} from '../../src/session/approval';
import type { Plan } from '../../src/session/schema';
import { at } from '../support/at';

const policy = (input: ApprovalPolicyInput = {}): ApprovalPolicy => ApprovalPolicy.parse(input);

describe('ApprovalPolicy defaults', () => {
  it('an empty policy is the open policy: anyone, once, the requester too, no deadline', () => {
    expect(OPEN_POLICY).toEqual({ approvers: [], required: 1, allowRequester: true, people: {}, groups: {} });
    expect(policy()).toEqual(OPEN_POLICY);
  });

  it('parses deadline durations and fills the deadline defaults', () => {
    expect(policy({ deadline: { after: '10m', remindEvery: '2m', escalateAfter: 300_000, action: 'reject' } }).deadline).toEqual({
      after: 600_000,
      remindEvery: 120_000,
      escalateAfter: 300_000,
      escalateTo: [],
      action: 'reject',
      lowRisk: false,
    });
  });
});

describe('personOf', () => {
  const p = policy({ people: { alice: ['slack:U1', 'api:alice'], bob: ['cli:bob'] } });

  it('maps each of a person’s identities to the person', () => {
    expect(personOf(p, 'slack:U1')).toBe('alice');
    expect(personOf(p, 'api:alice')).toBe('alice');
    expect(personOf(p, 'cli:bob')).toBe('bob');
  });

  it('a person’s own name is that person', () => {
    expect(personOf(p, 'alice')).toBe('alice');
  });

  it('an identity the policy does not know is its own person', () => {
    expect(personOf(p, 'slack:U9')).toBe('slack:U9');
    expect(personOf(OPEN_POLICY, 'api:alice')).toBe('api:alice');
  });
});

describe('expand', () => {
  const p = policy({
    people: { alice: ['slack:U1', 'api:alice'], bob: ['cli:bob'] },
    groups: { oncall: ['alice', 'cli:bob', 'slack:U3'], leads: ['api:lee'] },
  });

  it('expands groups into their members, as people', () => {
    expect(expand(p, ['group:oncall'])).toEqual(new Set(['alice', 'bob', 'slack:U3']));
  });

  it('maps identities to people, keeps unknown identities, and removes repeats', () => {
    expect(expand(p, ['slack:U1', 'api:alice', 'alice', 'api:zoe'])).toEqual(new Set(['alice', 'api:zoe']));
  });

  it('combines groups, people and identities', () => {
    expect(expand(p, ['group:leads', 'bob', 'group:oncall'])).toEqual(new Set(['api:lee', 'bob', 'alice', 'slack:U3']));
  });

  it('an unknown group stands for no one but the entry itself (it matches no identity)', () => {
    expect(expand(p, ['group:nobody'])).toEqual(new Set(['group:nobody']));
  });
});

describe('whyNotAllowed', () => {
  it('with no approvers listed, anyone may decide', () => {
    expect(whyNotAllowed(OPEN_POLICY, 'raw:anyone', undefined, false)).toBeUndefined();
  });

  it('allows approvers named as people, identities or group members, under any of their identities', () => {
    const p = policy({
      approvers: ['alice', 'slack:U2', 'group:oncall'],
      people: { alice: ['slack:U1', 'api:alice'] },
      groups: { oncall: ['cli:carol'] },
    });
    for (const who of ['alice', 'slack:U1', 'api:alice', 'slack:U2', 'cli:carol'])
      expect(whyNotAllowed(p, who, undefined, false)).toBeUndefined();
  });

  it('says who may when someone else tries', () => {
    const p = policy({ approvers: ['alice', 'group:oncall'], groups: { oncall: ['bob'] } });
    expect(whyNotAllowed(p, 'slack:U9', undefined, false)).toBe(
      'slack:U9 is not an approver of this session (approvers: alice, group:oncall)',
    );
  });

  it('the requester rule: with allowRequester false, the requester may not decide, under any identity', () => {
    const p = policy({ allowRequester: false, people: { alice: ['slack:U1', 'api:alice'] } });
    expect(whyNotAllowed(p, 'slack:U1', 'api:alice', false)).toBe('slack:U1 requested this session and may not approve its own plan');
    expect(whyNotAllowed(p, 'alice', 'api:alice', false)).toMatch(/requested this session/);
    expect(whyNotAllowed(p, 'bob', 'api:alice', false)).toBeUndefined();
    // No requester recorded: nobody is refused for it.
    expect(whyNotAllowed(p, 'slack:U1', undefined, false)).toBeUndefined();
  });

  it('the requester rule applies to approvers too; allowRequester true (the default) lets them', () => {
    const strict = policy({ approvers: ['alice', 'bob'], allowRequester: false });
    expect(whyNotAllowed(strict, 'alice', 'alice', false)).toMatch(/may not approve its own plan/);
    expect(whyNotAllowed(policy({ approvers: ['alice', 'bob'] }), 'alice', 'alice', false)).toBeUndefined();
  });

  it('escalation widens the circle to escalateTo, only once escalated', () => {
    const p = policy({
      approvers: ['alice'],
      groups: { leads: ['lee', 'slack:U7'] },
      deadline: { after: '1h', escalateAfter: '30m', escalateTo: ['group:leads', 'api:vp'], action: 'reject' },
    });
    expect(whyNotAllowed(p, 'slack:U7', undefined, false)).toBe('slack:U7 is not an approver of this session (approvers: alice)');
    for (const who of ['lee', 'slack:U7', 'api:vp', 'alice']) expect(whyNotAllowed(p, who, undefined, true)).toBeUndefined();
    expect(whyNotAllowed(p, 'mallory', undefined, true)).toBe(
      'mallory is not an approver of this session (approvers: alice, group:leads, api:vp)',
    );
  });
});

describe('planHash', () => {
  const plan: Pick<Plan, 'title' | 'steps'> = {
    title: 'Free disk space',
    steps: [
      { id: 'plan-1-step-1', index: 0, title: 'Look', description: 'find big files' },
      { id: 'plan-1-step-2', index: 1, title: 'Rotate', description: 'rotate the logs' },
    ],
  };

  it('is a stable 16-digit hex fingerprint', () => {
    const hash = planHash(plan);
    expect(hash).toMatch(/^[0-9a-f]{16}$/);
    expect(planHash(JSON.parse(JSON.stringify(plan)) as typeof plan)).toBe(hash);
    // Pinned, so that changing the function is a deliberate act: an approver sends back the hash they were shown.
    expect(hash).toBe('d7b02f0da7e17b5a');
  });

  it('depends only on what the plan says, not on ids or indexes', () => {
    const renumbered = { ...plan, steps: plan.steps.map((s, i) => ({ ...s, id: `plan-2-step-${i + 1}` })) };
    expect(planHash(renumbered)).toBe(planHash(plan));
  });

  it('changes with the title, a step title or description, the order or the number of steps', () => {
    const variants = [
      { ...plan, title: 'Free disk space now' },
      { ...plan, title: undefined },
      { ...plan, steps: [{ ...at(plan.steps, 0), title: 'Peek' }, at(plan.steps, 1)] },
      { ...plan, steps: [at(plan.steps, 0), { ...at(plan.steps, 1), description: 'delete the logs' }] },
      { ...plan, steps: [at(plan.steps, 1), at(plan.steps, 0)] },
      { ...plan, steps: [at(plan.steps, 0)] },
    ];
    const hashes = new Set([planHash(plan), ...variants.map(planHash)]);
    expect(hashes.size).toBe(variants.length + 1);
  });

  it('does not confuse field boundaries', () => {
    const a = { title: 'ab', steps: [{ ...plan.steps[0], title: 'c', description: '' }] };
    const b = { title: 'a', steps: [{ ...plan.steps[0], title: 'bc', description: '' }] };
    expect(planHash(a)).not.toBe(planHash(b));
  });
});

describe('policy schema errors', () => {
  function issue(input: unknown): { path: string; message: string } {
    const result = ApprovalPolicy.safeParse(input);
    expect(result.success).toBe(false);
    const first = at(result.error!.issues, 0);
    return { path: first.path.join('.'), message: first.message };
  }

  it('refuses action "approve" without lowRisk: true', () => {
    expect(issue({ deadline: { after: '1h', action: 'approve' } })).toEqual({
      path: 'deadline.action',
      message: 'action "approve" needs lowRisk: true',
    });
    expect(issue({ deadline: { after: '1h', action: 'approve', lowRisk: false } }).path).toBe('deadline.action');
    expect(policy({ deadline: { after: '1h', action: 'approve', lowRisk: true } }).deadline).toMatchObject({
      action: 'approve',
      lowRisk: true,
    });
  });

  it('refuses an escalation at or after the deadline', () => {
    expect(issue({ deadline: { after: '10m', escalateAfter: '10m', escalateTo: ['group:leads'], action: 'reject' } })).toEqual({
      path: 'deadline.escalateAfter',
      message: 'must be before the deadline',
    });
    expect(issue({ deadline: { after: '10m', escalateAfter: '1h', action: 'cancel' } }).path).toBe('deadline.escalateAfter');
  });

  it('names other bad fields', () => {
    expect(issue({ required: 0 }).path).toBe('required');
    expect(issue({ required: 11 }).path).toBe('required');
    expect(issue({ required: 1.5 }).path).toBe('required');
    expect(issue({ approvers: [''] }).path).toBe('approvers.0');
    expect(issue({ people: { alice: 'slack:U1' } }).path).toBe('people.alice');
    expect(issue({ deadline: { after: 'soon', action: 'reject' } }).path).toBe('deadline.after');
    expect(issue({ deadline: { after: '1h', action: 'escalate' } }).path).toBe('deadline.action');
    expect(issue({ deadline: { action: 'reject' } }).path).toBe('deadline.after');
  });
});
