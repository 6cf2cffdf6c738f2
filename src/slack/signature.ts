/**
 * Slack's request signing (v0): `X-Slack-Signature: v0=<hex HMAC-SHA256 of "v0:<timestamp>:<raw
 * body>" keyed with the app's signing secret>`, with `X-Slack-Request-Timestamp` in seconds.
 * https://docs.slack.dev/authentication/verifying-requests-from-slack
 *
 * On top of the documented check, a signature is accepted once: whoever captured a signed
 * request (a proxy log, a leaked payload) cannot click the same button again within the
 * timestamp window, and after it the timestamp check refuses it anyway. Where accepted signatures
 * are remembered is the guard's (./replay.ts): this process by default, a PostgreSQL table shared
 * by every service replica when `service.slack.replayUrl` is set.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { CLOCK_MARGIN_MS, MemoryReplayGuard, type ReplayGuard } from './replay';

/** Slack's recommendation: refuse requests older (or newer) than five minutes. */
export const SIGNATURE_WINDOW_SECONDS = 300;

export type Verdict = { ok: true } | { ok: false; reason: string };

export interface SignatureVerifierOptions {
  windowSeconds?: number;
  /** Milliseconds since the epoch; tests move the clock. */
  now?: () => number;
  /** Where accepted signatures are remembered (default: this process). */
  replays?: ReplayGuard;
}

export class SlackSignatureVerifier {
  private readonly windowSeconds: number;
  private readonly now: () => number;
  readonly replays: ReplayGuard;

  constructor(
    private readonly signingSecret: string,
    options: SignatureVerifierOptions = {},
  ) {
    this.windowSeconds = options.windowSeconds ?? SIGNATURE_WINDOW_SECONDS;
    this.now = options.now ?? Date.now;
    this.replays = options.replays ?? new MemoryReplayGuard();
  }

  /** Rejects (the replay store could not answer) rather than accept a request it cannot check. */
  async verify(headers: IncomingHttpHeaders, rawBody: Buffer): Promise<Verdict> {
    const timestamp = single(headers['x-slack-request-timestamp']);
    const signature = single(headers['x-slack-signature']);
    if (timestamp === undefined || signature === undefined)
      return { ok: false, reason: 'missing X-Slack-Signature or X-Slack-Request-Timestamp' };
    if (!/^\d{1,12}$/.test(timestamp)) return { ok: false, reason: 'malformed X-Slack-Request-Timestamp' };
    const nowMs = this.now();
    if (Math.abs(nowMs / 1_000 - Number(timestamp)) > this.windowSeconds) {
      return { ok: false, reason: `X-Slack-Request-Timestamp is more than ${this.windowSeconds} s away from now` };
    }
    const given = /^v0=([0-9a-f]{64})$/.exec(signature)?.[1];
    const expected = signRaw(this.signingSecret, timestamp, rawBody);
    // Compared even when malformed, on equal-length buffers, so the timing says nothing about the secret.
    const match = timingSafeEqual(Buffer.from(given ?? '0'.repeat(64), 'hex'), Buffer.from(expected, 'hex'));
    if (given === undefined || !match) return { ok: false, reason: 'invalid X-Slack-Signature' };

    // Remembered until the timestamp can no longer pass the window check (on any replica's clock).
    const expiresAtMs = (Number(timestamp) + this.windowSeconds) * 1_000 + CLOCK_MARGIN_MS;
    if (!(await this.replays.claim(given, expiresAtMs, nowMs)))
      return { ok: false, reason: 'this signed request was already received (replay)' };
    return { ok: true };
  }
}

/** The v0 signature of a request body at `timestamp` (seconds), as Slack computes it: `v0=<hex>`. */
export function signature(signingSecret: string, timestamp: string | number, rawBody: Buffer | string): string {
  return `v0=${signRaw(signingSecret, String(timestamp), rawBody)}`;
}

function signRaw(signingSecret: string, timestamp: string, rawBody: Buffer | string): string {
  return createHmac('sha256', signingSecret).update(`v0:${timestamp}:`).update(rawBody).digest('hex');
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? undefined : value;
}
