/** Durations in configuration and input (no dependencies: imported by schema modules and workflow code). */
import { z } from 'zod';

/** Durations in configuration and input: milliseconds as a number, or strings like "90s", "10m", "2h". */
export const Duration = z.preprocess(
  (value) => (typeof value === 'string' && DURATION_TEXT.test(value) ? parseDuration(value) : value),
  z.number({ error: 'expected a duration such as "500ms", "30s", "10m", "2h", "1d" or a number of milliseconds' }).int().nonnegative(),
);
const DURATION_TEXT = /^\d+(ms|s|m|h|d)$/;
const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
export function parseDuration(text: string): number {
  const match = /^(\d+)(ms|s|m|h|d)$/.exec(text);
  if (!match) throw new Error(`invalid duration "${text}"`);
  return Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
}
