/**
 * The replay guard the Slack section asks for (`service.slack.replayUrl`), apart from ./replay so
 * that the PostgreSQL guard, which implements ./replay's interface, is loaded only when configured.
 */
import { MemoryReplayGuard, type ReplayGuard } from './replay';

/**
 * The guard `replayUrl` asks for: a PostgreSQL table shared by every replica, or this process's
 * memory when unset. The PostgreSQL guard (and the `pg` driver) loads only when configured.
 */
export function replayGuardFor(replayUrl: string | undefined): ReplayGuard {
  if (replayUrl === undefined) return new MemoryReplayGuard();
  let module: typeof import('./replay-postgres');
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    module = require('./replay-postgres') as typeof import('./replay-postgres');
  } catch (error) {
    if ((error as { code?: string }).code !== 'MODULE_NOT_FOUND' || !/'pg'/.test((error as Error).message)) throw error;
    throw new Error('service.slack.replayUrl: a shared replay store needs the `pg` package: npm install pg', { cause: error });
  }
  return new module.PostgresReplayGuard({ url: replayUrl });
}
