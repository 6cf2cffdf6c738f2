/**
 * The benchmarks' pure helpers (bench/stats.ts, bench/scripts.ts): a wrong percentile, sample or
 * growth figure would print a plausible but false number, which no benchmark run would notice.
 */
import {
  growthRatio,
  growthSummary,
  growthTable,
  kib,
  parseLevels,
  percentile,
  perUnit,
  spreadSample,
  type GrowthRow,
} from '../../bench/stats';
import { stepsAgentName, withSteps, zeroDelays } from '../../bench/scripts';
import { loadScript } from '../../src/agents/scripted';
import { DEMO_SCRIPT_PATH } from '../../bench/scripts';

describe('percentile (nearest rank)', () => {
  it('picks the nearest-rank value of an unsorted sample', () => {
    const values = [5, 1, 4, 2, 3, 10, 9, 8, 7, 6];
    expect(percentile(values, 50)).toBe(5);
    expect(percentile(values, 95)).toBe(10);
    expect(percentile(values, 10)).toBe(1);
    expect(percentile(values, 100)).toBe(10);
    expect(percentile([42], 50)).toBe(42);
  });

  it('is NaN for no values and leaves its input unsorted', () => {
    expect(percentile([], 50)).toBeNaN();
    const values = [3, 1, 2];
    percentile(values, 50);
    expect(values).toEqual([3, 1, 2]);
  });
});

describe('parseLevels', () => {
  it('reads increasing integers, with spaces and digit separators', () => {
    expect(parseLevels('1000, 5_000,10000', '--checkpoints')).toEqual([1000, 5000, 10000]);
    expect(parseLevels('0,10', '--messages', 0)).toEqual([0, 10]);
  });

  it.each([
    ['100,100', /must increase/],
    ['300,100', /must increase/],
    ['10,x', /expected integers >= 1, got "x"/],
    ['1.5', /got "1.5"/],
    ['', /got ""/],
    ['0', /expected integers >= 1/],
    ['-5', /expected integers >= 1/],
    [Array.from({ length: 21 }, (_, i) => i + 1).join(','), /at most 20 values/],
  ])('refuses %j naming the flag', (value, message) => {
    expect(() => parseLevels(value, '--checkpoints')).toThrow(/^--checkpoints: /);
    expect(() => parseLevels(value, '--checkpoints')).toThrow(message);
  });

  it('fuzz: whatever the input, returns increasing integers >= min or throws naming the flag', () => {
    let seed = 7;
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    const alphabet = '0123456789,_ -.xe';
    for (let run = 0; run < 2_000; run++) {
      const value = Array.from({ length: Math.floor(random() * 16) }, () => alphabet[Math.floor(random() * alphabet.length)]).join('');
      let levels: number[];
      try {
        levels = parseLevels(value, '--steps', 1);
      } catch (error) {
        expect((error as Error).message).toMatch(/^--steps: /);
        continue;
      }
      for (const [i, n] of levels.entries()) {
        expect(Number.isInteger(n) && n >= 1).toBe(true);
        if (i > 0) expect(n).toBeGreaterThan(levels[i - 1]!);
      }
    }
  });
});

describe('spreadSample', () => {
  it('spreads evenly from the oldest to the newest', () => {
    expect(spreadSample(100, 5)).toEqual([0, 25, 50, 74, 99]);
    expect(spreadSample(10, 1)).toEqual([9]);
  });

  it('skips taken indices, staying within range and distinct', () => {
    const taken = new Set([0, 25, 50]);
    const sample = spreadSample(100, 5, taken);
    expect(sample).toHaveLength(5);
    expect(new Set(sample).size).toBe(5);
    for (const i of sample) {
      expect(taken.has(i)).toBe(false);
      expect(i).toBeGreaterThanOrEqual(0);
      expect(i).toBeLessThan(100);
    }
  });

  it('returns no more than there are free indices', () => {
    expect(spreadSample(3, 10)).toEqual([0, 1, 2]);
    expect(spreadSample(3, 10, new Set([0, 1, 2]))).toEqual([]);
    expect(spreadSample(0, 5)).toEqual([]);
  });
});

const row = (series: string, x: number, events: number, historyBytes: number, extra: Partial<GrowthRow> = {}): GrowthRow => ({
  series,
  x,
  runs: 1,
  events,
  historyBytes,
  timelineBytes: historyBytes / 4,
  largestPayloadBytes: 2048,
  ...extra,
});

describe('growth summary', () => {
  const chat = [
    row('chat', 10, 167, 72 * 1024),
    row('chat', 0, 55, 27 * 1024),
    row('chat', 100, 1175, 480 * 1024, { runs: 2, carriedBytes: 150 * 1024 }),
  ];

  it('computes the cost per unit and the growth between the smallest and largest x, in any order', () => {
    expect(perUnit(chat, (r) => r.events)).toBeCloseTo((1175 - 55) / 100);
    expect(growthRatio(chat, (r) => r.events)).toBeCloseTo(1175 / 55);
    expect(perUnit([chat[0]!], (r) => r.events)).toBeNaN();
    expect(growthRatio(chat, (r) => r.carriedBytes)).toBeNaN();
  });

  it('prints ratios first: first -> last, the ratio, and the cost per unit', () => {
    const lines = growthSummary(chat, 'message');
    expect(lines[0]).toBe('chat: 0 -> 100 messages');
    expect(lines[1]).toMatch(/^ {2}history events\s+55 ->\s+1175\s+21x\s+\+11\.2 per message$/);
    expect(lines[2]).toMatch(/history KiB\s+27\.0 ->\s+480\s+18x\s+\+4\.5 KiB per message$/);
    expect(lines[lines.length - 1]).toBe('  runs 1, 1, 2; carried record at the last continue-as-new: -, -, 150 KiB');
    expect(growthSummary([chat[0]!], 'message')).toEqual([]);
  });

  it('says how many times x grew when it does not start at zero', () => {
    expect(growthSummary([row('steps', 3, 43, 1), row('steps', 30, 205, 2)], 'step')[0]).toBe('steps: 3 -> 30 steps (10x the steps)');
  });

  it('tabulates one row per session with unknowns as "-"', () => {
    const lines = growthTable(chat).split('\n');
    expect(lines[0]).toMatch(
      /^series\s+x\s+runs\s+events\s+history KiB\s+timeline KiB\s+carried KiB\s+of it timeline\s+largest payload KiB$/,
    );
    expect(lines[2]).toMatch(/^chat\s+10\s+1\s+167\s+72\.0\s+18\.0\s+-\s+-\s+2\.0$/);
    expect(lines[4]).toMatch(/^chat\s+100\s+2\s+1175\s+480\s+120\s+150\s+-\s+2\.0$/);
    expect(kib(undefined)).toBe('-');
    expect(kib(NaN)).toBe('-');
  });
});

describe('withSteps (the plans bench growth runs)', () => {
  const demo = zeroDelays(loadScript(DEMO_SCRIPT_PATH));

  it('cuts or extends the first plan to exactly n steps, numbering the repeats', () => {
    const five = demo.plans[0]!.steps;
    expect(withSteps(demo, 3).plans[0]!.steps).toEqual(five.slice(0, 3));
    const twelve = withSteps(demo, 12).plans[0]!.steps;
    expect(twelve).toHaveLength(12);
    expect(twelve.slice(0, 5)).toEqual(five);
    expect(twelve[5]!.title).toBe(`${five[0]!.title} (6)`);
    expect(twelve[11]!.title).toBe(`${five[1]!.title} (12)`);
    expect(twelve.every((step) => step.delayMs === 0)).toBe(true);
    expect(stepsAgentName(12)).toBe('steps-12');
  });
});
