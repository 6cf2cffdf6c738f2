/**
 * Small pure helpers of code sessions that both the record and its rules use (no imports from
 * either, so neither depends on the other through them).
 */
import type { SessionSource } from '../../src/session/schema';

/** A source of the shape code sessions use (`{ github }` or `{ git }`), else undefined: the old `{ repo }` was never used. */
export function sourceOf(source: unknown): SessionSource | undefined {
  if (typeof source !== 'object' || source === null) return undefined;
  return 'github' in source || 'git' in source ? (source as SessionSource) : undefined;
}

/**
 * A fingerprint of a change set (its cumulative unified diff), for approvals that name what they
 * saw. FNV-1a (64-bit, as two 32-bit halves), like planHash: no crypto in workflow code.
 */
export function changeSetHash(patch: string): string {
  let h1 = 0x811c9dc5;
  let h2 = 0xcbf29ce4;
  for (let i = 0; i < patch.length; i++) {
    const c = patch.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193) >>> 0;
    h2 = Math.imul(h2 ^ c, 0x01000193 ^ 0x5bd1e995) >>> 0;
  }
  return h1.toString(16).padStart(8, '0') + h2.toString(16).padStart(8, '0');
}
