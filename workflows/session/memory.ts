/** Memory: what a person asks the session to remember, for this session, its agent or its service. */
import { WriteMemoryInput } from '../../src/protocol/messages';
import { REFUSAL } from '../../src/protocol/messages';
import { activities, chatOptions } from './activity-options';
import { now, type SessionContext } from './context';
import { refusalFailure } from './refusals';
import { applyMemoryWritten } from './progress';

/** Validates a `writeMemory` before it is accepted. */
export function checkWriteMemory(ctx: SessionContext, raw: unknown): void {
  const s = ctx.session;
  const parsed = WriteMemoryInput.safeParse(raw ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.join('.') || '(input)';
    throw refusalFailure({
      type: REFUSAL.invalidArgument,
      message: `invalid input: ${field}: ${issue?.message}`,
      details: { state: s.record.state, field },
    });
  }
  if (parsed.data.scope === 'service' && !s.config.context.service) {
    throw refusalFailure({
      type: REFUSAL.invalidArgument,
      message: 'a service memory needs a session whose context names its service (context.service)',
      details: { state: s.record.state, field: 'scope' },
    });
  }
}

export async function writeMemory(ctx: SessionContext, raw: unknown): Promise<{ memoryId: string }> {
  const s = ctx.session;
  const input = WriteMemoryInput.parse(raw);
  const by = input.by ?? 'unknown';
  const { memoryId } = await activities.remember.executeWithOptions({ ...chatOptions, summary: `remember (${input.scope})` }, [
    { sessionId: s.config.id, scope: input.scope, content: input.content, by, service: s.config.context.service, agent: s.config.agent },
  ]);
  applyMemoryWritten(s, memoryId, { scope: input.scope, content: input.content, by }, now());
  return { memoryId };
}
