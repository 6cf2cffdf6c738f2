/** The summary: once every step is done, the agent sums up; the session completes with its outputs. */
import { quick, quickOptions } from './activity-options';
import { facts, interruptible, now, type SessionContext } from './context';
import { complete } from './progress';
import { addUsage, type SessionRecord } from './record';

export async function summaryPhase(ctx: SessionContext, plan: NonNullable<SessionRecord['plan']>): Promise<void> {
  const s = ctx.session;
  const summary = await interruptible(ctx, () =>
    quick.summarize.executeWithOptions({ ...quickOptions, summary: 'summarize' }, [{ ...facts(ctx), plan, steps: s.record.stepOutcomes }]),
  );
  addUsage(s, summary?.usage);
  if (!summary || s.record.state !== 'inProgress') return;
  complete(s, summary.summary, summary.outputs, now());
}
