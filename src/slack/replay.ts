/**
 * Where the Slack signature check remembers the signatures it accepted, so a captured request is
 * accepted once (./signature.ts). In this process by default (`MemoryReplayGuard`): enough for one
 * service. Behind several service replicas a replayed request may reach another replica, so they
 * share one (`service.slack.replayUrl`: a PostgreSQL table, ./replay-postgres.ts).
 *
 * A signature is remembered until its timestamp can no longer pass the window check (plus a
 * margin for clocks that differ between replicas); after that the window check refuses it anyway.
 */

export interface ReplayGuard {
  /**
   * Records `signature` as accepted until `expiresAtMs`: true if it was not already (the request
   * goes on), false if it was (a replay). `nowMs` is the verifier's clock, for forgetting old ones.
   */
  claim(signature: string, expiresAtMs: number, nowMs: number): Promise<boolean>;
  close(): Promise<void>;
}

/** What a replica's clock may differ from another's: signatures are kept this much past the window. */
export const CLOCK_MARGIN_MS = 60_000;

/** Most signatures one process remembers: far beyond what Slack sends one app in five minutes. */
export const MAX_REMEMBERED = 100_000;

/** The default: a map in this process, swept of expired signatures at most once a second. */
export class MemoryReplayGuard implements ReplayGuard {
  /** Signature → when it may be forgotten (ms), in insertion order (about the order of expiry). */
  private readonly seen = new Map<string, number>();
  private nextSweep = 0;

  constructor(private readonly maxRemembered = MAX_REMEMBERED) {}

  async claim(signature: string, expiresAtMs: number, nowMs: number): Promise<boolean> {
    this.forgetExpired(nowMs);
    const known = this.seen.get(signature);
    if (known !== undefined && known >= nowMs) return false;
    // Bounded: past the cap the oldest goes first. Only a flood of validly signed requests (which
    // needs the signing secret) could get here, and the window check still refuses old ones.
    while (this.seen.size >= this.maxRemembered) this.seen.delete(this.seen.keys().next().value as string);
    this.seen.set(signature, expiresAtMs);
    return true;
  }

  async close(): Promise<void> {
    this.seen.clear();
  }

  private forgetExpired(nowMs: number): void {
    // A sweep a second is plenty: an entry kept a little longer only refuses what the window refuses too.
    if (nowMs < this.nextSweep) return;
    this.nextSweep = nowMs + 1_000;
    for (const [signature, expires] of this.seen) if (expires < nowMs) this.seen.delete(signature);
  }
}
