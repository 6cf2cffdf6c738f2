/**
 * The benchmarks' pure helpers: percentiles, units, tables, flag lists, samples and the growth
 * summary. No I/O and no side effects on import, so test/unit/bench-stats.test.ts can check them
 * (support.ts, which starts servers and traps signals, re-exports what the benchmarks use).
 */

/** Nearest-rank percentile of an unsorted sample (0 < p <= 100); NaN for an empty one. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export function ms(value: number): string {
  if (!Number.isFinite(value)) return '-';
  return value >= 100 ? value.toFixed(0) : value.toFixed(1);
}

export function mib(bytes: number | undefined): string {
  return bytes === undefined || !Number.isFinite(bytes) ? '-' : `${(bytes / 1024 / 1024).toFixed(0)} MiB`;
}

/** Bytes as KiB with one decimal below 100 KiB; '-' when unknown. */
export function kib(bytes: number | undefined): string {
  if (bytes === undefined || !Number.isFinite(bytes)) return '-';
  const k = bytes / 1024;
  return k >= 100 ? k.toFixed(0) : k.toFixed(1);
}

/** A plain text table: the first row is the header; columns after the first are right-aligned. */
export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  const line = (r: string[]) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
  return [line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

/**
 * A flag's comma-separated list of levels (`--checkpoints 1000,5000,10000`): integers >= `min`,
 * strictly increasing, at most `maxCount` of them. Throws naming the flag, so a typo fails before
 * a long run starts rather than after it.
 */
export function parseLevels(value: string, flag: string, min = 1, maxCount = 20): number[] {
  const parts = value.split(',').map((part) => part.trim().replace(/_/g, ''));
  if (parts.length > maxCount) throw new Error(`${flag}: at most ${maxCount} values, got ${parts.length}`);
  const levels = parts.map((part) => {
    const n = Number(part);
    if (part === '' || !Number.isInteger(n) || n < min) throw new Error(`${flag}: expected integers >= ${min}, got "${part}"`);
    return n;
  });
  levels.forEach((n, i) => {
    if (i > 0 && n <= levels[i - 1]!) throw new Error(`${flag}: values must increase, got ${levels[i - 1]} then ${n}`);
  });
  return levels;
}

/**
 * Up to `count` indices in [0, size), spread evenly (the oldest, the newest and between), none of
 * them in `taken`: a sample of parked sessions that holds both long-evicted and still-cached ones.
 * A taken index is replaced by the next free one after it (wrapping), so the sample stays spread.
 */
export function spreadSample(size: number, count: number, taken: ReadonlySet<number> = new Set()): number[] {
  const free = size - [...taken].filter((i) => i >= 0 && i < size).length;
  const want = Math.max(0, Math.min(count, free));
  const chosen = new Set<number>();
  for (let k = 0; k < want; k++) {
    let i = want === 1 ? size - 1 : Math.round((k * (size - 1)) / (want - 1));
    while (taken.has(i) || chosen.has(i)) i = (i + 1) % size;
    chosen.add(i);
  }
  return [...chosen].sort((a, b) => a - b);
}

// ---- growth -------------------------------------------------------------------------------------

/** One measured session of `bench growth`. Bytes are of the payloads and events as the server stores them. */
export interface GrowthRow {
  /** Which series the row belongs to, e.g. 'chat' (messages vary) or 'steps' (plan length varies). */
  series: string;
  /** The varied quantity: chat messages or plan steps. */
  x: number;
  /** Runs in the chain (1 + continue-as-new count). */
  runs: number;
  /** History events, all runs. */
  events: number;
  /** History bytes, all runs (each event's encoded size). */
  historyBytes: number;
  /** The whole timeline as a reader sees it (all runs), UTF-8 JSON. */
  timelineBytes: number;
  /** The session record handed to the last run by continue-as-new; undefined if it never continued. */
  carriedBytes?: number;
  /** Of which the timeline events carried (the window). */
  carriedTimelineBytes?: number;
  /** The largest single payload in any run's history. */
  largestPayloadBytes: number;
}

/** The change of `y` per unit of `x` from the smallest to the largest x (NaN for fewer than two distinct x). */
export function perUnit(rows: GrowthRow[], y: (row: GrowthRow) => number | undefined): number {
  const sorted = [...rows].sort((a, b) => a.x - b.x);
  const first = sorted[0];
  const last = sorted[sorted.length - 1];
  if (!first || !last || first.x === last.x) return NaN;
  const [y0, y1] = [y(first), y(last)];
  if (y0 === undefined || y1 === undefined) return NaN;
  return (y1 - y0) / (last.x - first.x);
}

/** `last / first` of a quantity over a series (how many times it grew); NaN if either is missing or zero. */
export function growthRatio(rows: GrowthRow[], y: (row: GrowthRow) => number | undefined): number {
  const sorted = [...rows].sort((a, b) => a.x - b.x);
  const [y0, y1] = [y(sorted[0]!), y(sorted[sorted.length - 1]!)];
  return y0 && y1 !== undefined ? y1 / y0 : NaN;
}

/**
 * Ratios first: for one series, how each cost grew from its smallest to its largest x, and what
 * one more unit (a chat message, a step) costs. `unit` names x in the text ('message', 'step').
 */
export function growthSummary(rows: GrowthRow[], unit: string): string[] {
  if (rows.length < 2) return [];
  const sorted = [...rows].sort((a, b) => a.x - b.x);
  const [first, last] = [sorted[0]!, sorted[sorted.length - 1]!];
  const times = (r: number) => (Number.isFinite(r) ? `${r.toFixed(r >= 10 ? 0 : 1)}x` : '-');
  const span = `${first.x} -> ${last.x} ${unit}s${first.x > 0 ? ` (${times(last.x / first.x)} the ${unit}s)` : ''}`;
  const line = (label: string, y: (row: GrowthRow) => number, format: (v: number) => string, per: (v: number) => string) =>
    `  ${label.padEnd(16)} ${format(y(first)).padStart(8)} -> ${format(y(last)).padStart(8)}  ${times(growthRatio(rows, y)).padStart(6)}   ${per(perUnit(rows, y))} per ${unit}`;
  const count = (v: number) => (Number.isFinite(v) ? v.toFixed(v >= 100 || Number.isInteger(v) ? 0 : 1) : '-');
  const plusKib = (v: number) => (Number.isFinite(v) ? `+${kib(v)} KiB` : '-');
  return [
    `${rows[0]!.series}: ${span}`,
    line(
      'history events',
      (r) => r.events,
      count,
      (v) => `+${count(v)}`,
    ),
    line('history KiB', (r) => r.historyBytes, kib, plusKib),
    line('timeline KiB', (r) => r.timelineBytes, kib, plusKib),
    line('largest payload', (r) => r.largestPayloadBytes, kib, plusKib),
    `  runs ${sorted.map((r) => r.runs).join(', ')}; carried record at the last continue-as-new: ${sorted
      .map((r) => (r.carriedBytes === undefined ? '-' : `${kib(r.carriedBytes)} KiB`))
      .join(', ')}`,
  ];
}

/** The full growth table: one row per measured session. */
export function growthTable(rows: GrowthRow[]): string {
  const header = ['series', 'x', 'runs', 'events', 'history KiB', 'timeline KiB', 'carried KiB', 'of it timeline', 'largest payload KiB'];
  return table([
    header,
    ...rows.map((r) => [
      r.series,
      String(r.x),
      String(r.runs),
      String(r.events),
      kib(r.historyBytes),
      kib(r.timelineBytes),
      kib(r.carriedBytes),
      kib(r.carriedTimelineBytes),
      kib(r.largestPayloadBytes),
    ]),
  ]);
}
