/**
 * Runbook files in YAML, Markdown with YAML front matter and JSON: what each format reads as,
 * the errors (file, line, field path), and the shipped runbooks folder.
 */
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CallOptions, PlanResult } from '../../src/agents/agent';
import {
  RunbookAgent,
  loadRunbooks,
  matchRunbook,
  parseRunbook,
  parseRunbookFile,
  splitFrontMatter,
  type RunbookInput,
} from '../../src/agents/runbook';

const ROOT = join(__dirname, '..', '..');

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'andon-runbook-formats-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const write = (file: string, text: string) => writeFileSync(join(dir, file), text);

const minimal: RunbookInput = {
  name: 'mini',
  match: { service: 'mini' },
  plan: [{ title: 'Say hello', action: { command: ['node', 'demo/bin/status.js', '{labels.service}'] } }],
  verify: { title: 'Check', action: { command: ['node', 'demo/bin/error-rate.js', '{labels.service}'] } },
};

/** The minimal runbook in YAML; line 1 is `name: NAME`. */
const MINI_YAML = (name = 'mini') => `name: ${name}
match:
  service: mini
plan:
  - title: Say hello
    action:
      command: [node, demo/bin/status.js, "{labels.service}"]
verify:
  title: Check
  action:
    command: [node, demo/bin/error-rate.js, "{labels.service}"]
`;

const MINI_MD = (body: string, name = 'mini') => `---\n${MINI_YAML(name)}---\n${body}`;

function options(): CallOptions {
  return { signal: new AbortController().signal, attempt: 1, heartbeat: () => {} };
}

function loadError(): string {
  try {
    loadRunbooks(dir);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected loadRunbooks to fail');
}

describe('runbook formats', () => {
  it('reads *.yaml and *.yml as the same runbook object JSON gives', () => {
    write('a.yaml', MINI_YAML('a'));
    write('b.yml', MINI_YAML('b'));
    write('c.json', JSON.stringify({ ...minimal, name: 'c' }, null, 2));
    const runbooks = loadRunbooks(dir);
    expect(runbooks.map((r) => r.name)).toEqual(['a', 'b', 'c']);
    expect(runbooks[0]).toEqual(parseRunbook({ ...minimal, name: 'a' }));
    expect(runbooks[1]).toEqual(parseRunbook({ ...minimal, name: 'b' }));
    expect(runbooks[2]).toEqual(parseRunbook({ ...minimal, name: 'c' }));
  });

  it('reads YAML 1.2: yes, no and on stay strings, durations stay text until the schema reads them', () => {
    write(
      'a.yaml',
      MINI_YAML()
        .replace('service: mini', 'service: [yes, on]')
        .replace('status.js, "{labels.service}"]', 'status.js, "{labels.service}"]\n      timeout: 90s'),
    );
    const [runbook] = loadRunbooks(dir);
    expect(runbook!.match).toEqual({ service: ['yes', 'on'] });
    expect(runbook!.plan[0]!.action).toMatchObject({ timeout: 90_000 });
  });

  it('reads Markdown front matter as the runbook and the body as its notes', () => {
    write('a.md', MINI_MD('\n# Mini\n\nFirst paragraph,\nsecond line.\n\nMore.\n'));
    const [runbook] = loadRunbooks(dir);
    expect(runbook).toEqual(parseRunbook({ ...minimal, notes: '# Mini\n\nFirst paragraph,\nsecond line.\n\nMore.' }));
  });

  it('handles CRLF line ends, a byte-order mark and trailing blanks on the fences', () => {
    write('crlf.md', `\uFEFF${MINI_MD('Body.\n', 'crlf').replace(/---\n/g, '---  \n').replace(/\n/g, '\r\n')}`);
    write('bom.yaml', `\uFEFF${MINI_YAML('bom')}`);
    write('bom.json', `\uFEFF${JSON.stringify({ ...minimal, name: 'bom-json' })}`);
    expect(loadRunbooks(dir).map((r) => [r.name, r.notes])).toEqual([
      ['bom-json', ''],
      ['bom', ''],
      ['crlf', 'Body.'],
    ]);
  });

  it('splits front matter: the first "---" line opens it, the next closes it; the body may hold more "---"', () => {
    expect(splitFrontMatter('---\na: 1\n---\nbody\n---\nmore')).toEqual({ yaml: 'a: 1', line: 2, body: 'body\n---\nmore' });
    expect(splitFrontMatter('---\r\na: 1\r\n---')).toEqual({ yaml: 'a: 1', line: 2, body: '' });
    expect(() => splitFrontMatter('# Title\n---\na: 1\n---\n')).toThrow(/no front matter/);
    expect(() => splitFrontMatter('---\na: 1\n')).toThrow('the front matter opened by "---" on line 1 has no closing "---" line');
  });

  it('ignores other extensions and hidden files', () => {
    write('a.yaml', MINI_YAML());
    write('README.txt', 'not a runbook');
    write('a.yaml~', 'editor backup: {');
    write('.b.yaml', 'an editor lock file: {');
    mkdirSync(join(dir, 'drafts'));
    write('drafts/c.yaml', 'not: [read');
    expect(loadRunbooks(dir).map((r) => r.name)).toEqual(['mini']);
  });

  it('shows the first paragraph of the notes in the plan, beside the findings, on one line', async () => {
    const runbook = parseRunbookFile(
      MINI_MD('# Mini on {labels.service}\n\nCheck the dashboard\nfor {labels.service}\nfirst.\n\nCommand: not this.\n'),
      'mini.md',
    );
    const agent = new RunbookAgent({ runbooks: [runbook], workdir: ROOT });
    const plan = (await agent.plan(
      { sessionId: 's', prompt: 'p', title: 't', context: { service: 'mini' }, round: 1, feedback: [] },
      options(),
    )) as Extract<PlanResult, { kind: 'plan' }>;
    const blocks = plan.steps[0]!.description.split('\n\n');
    expect(blocks[0]).toBe('Findings (runbook mini): the runbook runs no diagnostics.');
    expect(blocks[1]).toBe('Notes (runbook mini): Check the dashboard for mini first.');
    expect(plan.steps[0]!.description).not.toContain('Command: not this');
  });
});

describe('runbook file errors name the file, the line and the field', () => {
  it('reports YAML syntax errors with the line and column', () => {
    write('bad.yaml', MINI_YAML().replace('service: mini', 'service: [a, b'));
    expect(loadError()).toMatch(
      new RegExp(`^invalid runbook ${escape(join(dir, 'bad.yaml'))}: YAML syntax error at line \\d+, column \\d+: `),
    );
    write('bad.yaml', 'name: mini\nname: again\n');
    expect(loadError()).toContain('bad.yaml: YAML syntax error at line 2, column 1: Map keys must be unique');
    write('bad.yaml', 'name: mini\n\tmatch: {}\n');
    expect(loadError()).toMatch(/bad\.yaml: YAML syntax error at line 2, column 1: Tabs are not allowed/);
    write('bad.yaml', `${MINI_YAML()}---\nname: second\n`);
    expect(loadError()).toMatch(/bad\.yaml: YAML syntax error at line 12, .*multiple documents/);
  });

  it('counts front matter lines from the top of the Markdown file', () => {
    write('bad.md', MINI_MD('Body.\n').replace('  service: mini', '  service: "mini'));
    expect(loadError()).toMatch(/bad\.md: YAML syntax error at line \d+, column \d+: Missing closing "quote/);
    write('bad.md', MINI_MD('Body.\n').replace('  title: Check', '  title: Check\n  timeout: 5 min'));
    // Line 1 is the fence, so the bad key (line 10 of the YAML) is line 11 of the file.
    expect(loadError()).toContain('bad.md: verify.timeout (line 11): unknown field');
  });

  it('reports a Markdown runbook without front matter or without its closing fence', () => {
    write('notes.md', '# Just notes\n\nNo front matter here.\n');
    expect(loadError()).toMatch(/^invalid runbook .*notes\.md: no front matter: a Markdown runbook must start with a "---" line/);
    write('notes.md', `---\n${MINI_YAML()}\nBody without the closing fence.\n`);
    expect(loadError()).toMatch(/^invalid runbook .*notes\.md: the front matter opened by "---" on line 1 has no closing "---" line$/);
    write('notes.md', '---\n---\nBody.\n');
    expect(loadError()).toMatch(/notes\.md: the front matter is empty/);
  });

  it('names the field path, and the line in YAML, of schema errors', () => {
    write(
      'a.yaml',
      MINI_YAML().replace(
        '      command: [node, demo/bin/status.js, "{labels.service}"]',
        '      command: [node, demo/bin/status.js, "{labels.service}"]\n      timeout: 5 min',
      ),
    );
    expect(loadError()).toMatch(/a\.yaml: plan\.0\.action\.timeout \(line 8\): expected a duration such as "500ms"/);

    write('a.yaml', `${MINI_YAML()}investigate:\n  - name: errors\n    log: { path: x.log, patern: ERROR }\n`);
    expect(loadError()).toMatch(
      /a\.yaml: investigate\.0\.log\.pattern \(line 14\): expected string, received undefined; investigate\.0\.log\.patern \(line 14\): unknown field$/,
    );

    write('a.yaml', `${MINI_YAML()}investigate:\n  - name: errors\n    logs: { path: x.log, pattern: ERROR }\n`);
    expect(loadError()).toMatch(/a\.yaml: investigate\.0 \(line 13\): expected a "name" and exactly one of "log", "http" or "command"$/);

    write('a.yaml', MINI_YAML().replace('name: mini', 'name: mini\nowner: payments'));
    expect(loadError()).toMatch(/a\.yaml: owner \(line 2\): unknown field$/);

    write('a.yaml', MINI_YAML().replace(/^plan:[\s\S]*?(?=verify:)/m, ''));
    expect(loadError()).toMatch(/a\.yaml: plan: expected array, received undefined$/);
  });

  it('names the field path of schema errors in JSON, and the line of syntax errors', () => {
    write('a.json', JSON.stringify({ ...minimal, verify: { title: 'Check', action: { comand: ['x'] } } }, null, 2));
    expect(loadError()).toMatch(/a\.json: verify\.action: expected either "command" \(and an optional "timeout"\) or "http"$/);
    write('a.json', '{\n  "name": "mini",\n  "match": {}\n  "plan": []\n}\n');
    expect(loadError()).toMatch(/a\.json: JSON syntax error.*\bline 4\b/);
  });

  it('refuses notes in both the front matter and the body', () => {
    write('a.md', MINI_MD('Body.\n').replace('name: mini', 'name: mini\nnotes: also here'));
    expect(loadError()).toMatch(/a\.md: notes \(line 3\): the front matter sets notes and the Markdown body is not empty/);
  });

  it('refuses two runbooks with the same name, naming both files', () => {
    write('a.yaml', MINI_YAML('same'));
    write('b.md', MINI_MD('', 'same'));
    expect(loadError()).toBe(`two runbooks are named "same": ${join(dir, 'a.yaml')} and ${join(dir, 'b.md')}`);
  });

  it('reports an empty file', () => {
    write('a.yaml', '# nothing yet\n');
    expect(loadError()).toMatch(/a\.yaml: the file is empty/);
  });
});

describe('the shipped runbooks', () => {
  const folder = join(ROOT, 'runbooks');

  it('are a YAML and a Markdown runbook, and load', () => {
    expect(readdirSync(folder).sort()).toEqual(['checkout-api-errors.yaml', 'disk-space-low.md']);
    const runbooks = loadRunbooks(folder);
    expect(runbooks.map((r) => r.name)).toEqual(['checkout-api-errors', 'disk-space-low']);
    expect(runbooks[0]!.notes).toBe('');
    expect(runbooks[1]!.notes).toMatch(/^# Disk space low on \{labels.service\}\n\nA disk that fills/);
  });

  it('still give the demo alert the checkout-api-errors runbook, and disk alerts the disk one', () => {
    const runbooks = loadRunbooks(folder);
    expect(matchRunbook(runbooks, { service: 'checkout-api', severity: 'page' })?.name).toBe('checkout-api-errors');
    expect(matchRunbook(runbooks, { service: 'checkout-api' })?.name).toBe('checkout-api-errors');
    expect(matchRunbook(runbooks, { alertname: 'CheckoutHighErrorRate', service: 'checkout-api', severity: 'critical' })?.name).toBe(
      'checkout-api-errors',
    );
    expect(matchRunbook(runbooks, { alertname: 'DiskSpaceLow', service: 'checkout-api' })?.name).toBe('disk-space-low');
    expect(matchRunbook(runbooks, { alertname: 'DiskSpaceLow' })).toBeUndefined();
    expect(matchRunbook(runbooks, { service: 'db-7' })).toBeUndefined();
  });

  it('plans the disk runbook with the default allow-lists, its notes beside the findings', async () => {
    const work = mkdtempSync(join(tmpdir(), 'andon-runbook-formats-demo-'));
    try {
      cpSync(join(ROOT, 'demo'), join(work, 'demo'), { recursive: true, filter: (src) => !src.includes(join('demo', 'state')) });
      const agent = new RunbookAgent({ runbooks: folder, workdir: work });
      const result = await agent.plan(
        {
          sessionId: 's',
          prompt: 'disk 95% full',
          title: 'Disk',
          context: { alertname: 'DiskSpaceLow', service: 'checkout-api' },
          round: 1,
          feedback: [],
        },
        options(),
      );
      if (result.kind !== 'plan') throw new Error(`expected a plan, got: ${result.question}`);
      expect(result.title).toBe('Stop the log flood filling the disk of checkout-api (runbook disk-space-low)');
      const blocks = result.steps[0]!.description.split('\n\n');
      expect(blocks[0]).toMatch(/^Findings \(runbook disk-space-low\):\n- full: 0 of the last 225 lines/);
      expect(blocks[1]).toMatch(
        /^Notes \(runbook disk-space-low\): A disk that fills within hours of a deploy is almost always the new release logging at DEBUG: roll it back first,/,
      );
      expect(result.steps.map((s) => s.description.split('\n').find((l) => l.startsWith('Command: ')))).toEqual([
        'Command: `node demo/bin/rollback.js checkout-api` (timeout 30s)',
        'Command: `node demo/bin/status.js checkout-api` (timeout 10s)',
      ]);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
