/** Planning: the agent proposes a plan (or asks a question first), within the session's budget. */
import { activities, workOptions } from './activity-options';
import { facts, interruptible, now, type SessionContext } from './context';
import { applyPlan, budgetReached } from './progress';
import { addUsage, overBudget } from './record';
import { codeInput, treeFree } from './code';

export async function planPhase(ctx: SessionContext): Promise<void> {
  const s = ctx.session;
  const r = s.record;
  if (overBudget(s)) return budgetReached(s, now());
  if (ctx.replyInTree) await treeFree(ctx);
  const result = await interruptible(ctx, () =>
    activities.plan.executeWithOptions({ ...workOptions, summary: `plan (round ${r.round})` }, [
      { ...facts(ctx), round: r.round, feedback: r.feedback, previousPlan: r.plan, ...codeInput(ctx) },
    ]),
  );
  addUsage(s, result?.usage);
  if (!result || r.state !== 'planning') return;
  applyPlan(s, result, now());
}
