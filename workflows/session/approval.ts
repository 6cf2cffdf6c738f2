/**
 * Approval of the plan (and of a code session's change set, under the same policy): partial
 * approvals, and the policy's deadline with its reminders and escalation.
 */
import { condition } from '@temporalio/workflow';
import type { ApprovalPolicy } from '../../src/session/approval';
import { canContinueAsNew, now, type SessionContext } from './context';
import { decideApprove } from './commands';
import { announce } from './notify';
import { applyEscalation, applyReminder, deadlinePassed } from './progress';
import type { Refusal } from './record';
import { changeDeadlinePassed } from './workspace';

/** Approves, and shows a partial approval (1 of 2) where the session is announced. */
export function approve(ctx: SessionContext, raw: unknown): Refusal | undefined {
  const refusal = decideApprove(ctx.session, raw, now());
  const state = ctx.session.record.state;
  if (!refusal && (state === 'awaitingPlanApproval' || state === 'awaitingChangeApproval')) announce(ctx, { kind: 'stateChanged' });
  return refusal;
}

/**
 * Waits for a decision under a deadline: reminds every `remindEvery`, widens the circle at
 * `escalateAfter`, and at `after` lets the policy decide. Each wait is one timer in history,
 * and only sessions whose policy has a deadline pay for it.
 */
export async function awaitDecision(ctx: SessionContext, deadline: NonNullable<ApprovalPolicy['deadline']>): Promise<void> {
  const s = ctx.session;
  const r = s.record;
  const since = Date.parse(r.awaitingSince ?? r.updateTime);
  // The plan, or a code session's change set: the same policy and deadline.
  const waiting = r.state;
  for (;;) {
    const deadlineAt = since + deadline.after;
    const escalateAt = deadline.escalateAfter !== undefined && !r.escalated ? since + deadline.escalateAfter : Infinity;
    const remindAt = deadline.remindEvery ? since + deadline.remindEvery * (r.reminders + 1) : Infinity;
    const next = Math.min(deadlineAt, escalateAt, remindAt);
    const decided = await condition(() => r.state !== waiting || canContinueAsNew(ctx), Math.max(next - Date.now(), 1));
    if (decided) return;
    const at = Date.now();
    if (at >= deadlineAt) {
      if (waiting === 'awaitingChangeApproval') changeDeadlinePassed(s, deadline.action, now());
      else deadlinePassed(s, deadline.action, now());
      return;
    }
    // Keys name this wait (what awaits, since when) and the reminder's number: a retried notify
    // activity posts each at most once, and the next reminder is a post of its own.
    const wait = `${waiting}:${r.awaitingSince ?? r.updateTime}`;
    if (at >= escalateAt) {
      applyEscalation(s, deadline.escalateTo, now());
      announce(ctx, { kind: 'approvalEscalated', escalateTo: deadline.escalateTo, key: `escalation:${wait}` });
    }
    if (at >= remindAt) {
      applyReminder(s, at - since, now());
      announce(ctx, { kind: 'approvalReminder', key: `reminder:${wait}:${r.reminders}` });
    }
  }
}
