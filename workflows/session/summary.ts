/** The summary: once every step is done, the agent sums up; the session completes with its outputs. */
import { activities, quick, quickOptions, workOptions } from './activity-options';
import { facts, interruptible, local, now, type SessionContext } from './context';
import { complete } from './progress';
import { addUsage, type SessionRecord } from './record';
import { codeInput, treeFree } from './code';
import { applySummary } from './workspace';

export async function summaryPhase(ctx: SessionContext, plan: NonNullable<SessionRecord['plan']>): Promise<void> {
  const s = ctx.session;
  const code = codeInput(ctx);
  if (code.code && ctx.replyInTree) await treeFree(ctx);
  const request = { ...facts(ctx), plan, steps: s.record.stepOutcomes, ...codeInput(ctx) };
  // A code session's summary opens the tree, which a fresh worker may have to rebuild: a regular
  // activity (with heartbeats), not a local one.
  const summary = await interruptible(ctx, () =>
    code.code
      ? activities.summarize.executeWithOptions({ ...workOptions, summary: 'summarize' }, [request])
      : local(ctx, () => quick.summarize.executeWithOptions({ ...quickOptions, summary: 'summarize' }, [request])),
  );
  addUsage(s, summary?.usage);
  if (!summary || s.record.state !== 'inProgress') return;
  if (code.code) applySummary(s, summary.summary, summary.outputs, now());
  else complete(s, summary.summary, summary.outputs, now());
}
