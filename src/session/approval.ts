/**
 * Approval policies: who may decide a plan, how many people must approve it, whether the
 * requester may approve their own plan, and what happens when nobody decides in time. The
 * session workflow enforces them, so they hold for every channel (Slack, HTTP API, CLI, a raw
 * Temporal signal). Deterministic: imported by workflow code.
 */
import { z } from 'zod';
import { Duration } from './duration';

export const ApprovalDeadline = z
  .object({
    /** How long after the plan starts awaiting approval the deadline falls. */
    after: Duration,
    /** Remind the approvers this often while waiting. */
    remindEvery: Duration.optional(),
    /** When to widen the circle to `escalateTo` (before `after`). */
    escalateAfter: Duration.optional(),
    /** People, groups or identities who may also decide once escalated. */
    escalateTo: z.array(z.string().min(1)).default([]),
    /** What the deadline does: reject (cancelled, with a planRejected), cancel, or approve. */
    action: z.enum(['reject', 'cancel', 'approve']),
    /** Approving by default is only allowed on routes explicitly marked low-risk. */
    lowRisk: z.boolean().default(false),
  })
  .refine((d) => d.action !== 'approve' || d.lowRisk, { message: 'action "approve" needs lowRisk: true', path: ['action'] })
  .refine((d) => d.escalateAfter === undefined || d.escalateAfter < d.after, {
    message: 'must be before the deadline',
    path: ['escalateAfter'],
  });

export const ApprovalPolicy = z.object({
  /** People, groups (`group:<name>`) or identities (`slack:U0123`, `api:alice`) who may decide. Empty: anyone. */
  approvers: z.array(z.string().min(1)).default([]),
  /** Distinct people who must approve. */
  required: z.number().int().min(1).max(10).default(1),
  /** Whether the person who requested the session may approve its plan. */
  allowRequester: z.boolean().default(true),
  /** A person's name → the identities that are that person on each channel. */
  people: z.record(z.string(), z.array(z.string().min(1))).default({}),
  /** A group's name → its members (people or identities). */
  groups: z.record(z.string(), z.array(z.string().min(1))).default({}),
  deadline: ApprovalDeadline.optional(),
});
export type ApprovalPolicy = z.output<typeof ApprovalPolicy>;
export type ApprovalPolicyInput = z.input<typeof ApprovalPolicy>;

/** No policy: anyone may decide, one approval suffices. */
export const OPEN_POLICY: ApprovalPolicy = ApprovalPolicy.parse({});

/** The person an identity belongs to (its own name when the policy does not know it). */
export function personOf(policy: ApprovalPolicy, identity: string): string {
  for (const [person, identities] of Object.entries(policy.people)) {
    if (person === identity || identities.includes(identity)) return person;
  }
  return identity;
}

/** The people (or bare identities) a list of approvers stands for, groups expanded. */
export function expand(policy: ApprovalPolicy, entries: readonly string[]): Set<string> {
  const people = new Set<string>();
  for (const entry of entries) {
    const group = entry.startsWith('group:') ? policy.groups[entry.slice('group:'.length)] : undefined;
    for (const member of group ?? [entry]) people.add(personOf(policy, member));
  }
  return people;
}

/** Why `identity` may not decide the plan, or undefined if it may. */
export function whyNotAllowed(
  policy: ApprovalPolicy,
  identity: string,
  requestedBy: string | undefined,
  escalated: boolean,
): string | undefined {
  const person = personOf(policy, identity);
  const allowed = [...policy.approvers, ...(escalated ? (policy.deadline?.escalateTo ?? []) : [])];
  if (policy.approvers.length > 0 && !expand(policy, allowed).has(person)) {
    return `${identity} is not an approver of this session (approvers: ${allowed.join(', ')})`;
  }
  if (!policy.allowRequester && requestedBy !== undefined && personOf(policy, requestedBy) === person) {
    return `${identity} requested this session and may not approve its own plan`;
  }
  return undefined;
}

/**
 * What of a plan its hash covers (a Plan from schema.ts fits; typed here so this module need not
 * import schema.ts, which imports ApprovalPolicy from it).
 */
export interface PlanContent {
  title?: string;
  steps: readonly { title: string; description: string; tools?: readonly unknown[] }[];
}

/**
 * A short fingerprint of what a plan says (title and steps). An approval binds to it: a changed
 * plan needs new approvals. FNV-1a (64-bit, as two 32-bit halves): no crypto in workflow code.
 */
export function planHash(plan: PlanContent): string {
  const text = JSON.stringify([
    plan.title ?? '',
    plan.steps.map((s) => (s.tools ? [s.title, s.description, s.tools] : [s.title, s.description])),
  ]);
  let h1 = 0x811c9dc5;
  let h2 = 0xcbf29ce4;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193) >>> 0;
    h2 = Math.imul(h2 ^ c, 0x01000193 ^ 0x5bd1e995) >>> 0;
  }
  return h1.toString(16).padStart(8, '0') + h2.toString(16).padStart(8, '0');
}
