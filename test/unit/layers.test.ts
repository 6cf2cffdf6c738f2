/**
 * Keeps the import layers honest (docs: the layer map below). Each folder may import only the
 * folders its rule names; no file or folder imports itself back through others; the workflow takes
 * only types from its activities; and the HTTP client loads no Temporal code.
 *
 * Layers, bottom to top:
 *   1. the session model (src/session) and the protocol (src/protocol)
 *   2. the runtime: workflows, activities and what they use (agents, memory, notify, storage,
 *      src/temporal)
 *   3. the clients (src/client: the Temporal SDK client, and src/client/http)
 *   4. the programs: service, Slack app, configuration, worker, CLI, main
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import path from 'node:path';
import LAYERS from '../../layers.json';
import { at } from '../support/at';

const ROOT = path.join(__dirname, '..', '..');

/**
 * What each unit (a folder under src/, or a top-level file or folder) may import, besides itself,
 * and the only modules outside src/protocol and src/session whose values workflow code may import
 * (the deterministic schema modules of agents and notify). layers.json is shared with
 * eslint.config.mjs, which reports the same rules in the editor.
 */
const RULES: Record<string, readonly string[]> = LAYERS.units;
const WORKFLOW_VALUES = new Set(LAYERS.workflowValues);

/** Files that load Temporal (the SDK client, the message definitions): the HTTP client must not import them. */
const HTTP_CLIENT_FORBIDDEN = new Set(LAYERS.httpClientForbidden);

interface Import {
  from: string;
  to: string;
  typeOnly: boolean;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir)).flatMap((name) => {
    const rel = `${dir}/${name}`;
    if (statSync(path.join(ROOT, rel)).isDirectory()) return sourceFiles(rel);
    return rel.endsWith('.ts') ? [rel] : [];
  });
}

function resolve(from: string, specifier: string): string {
  const base = path.posix.normalize(path.posix.join(path.posix.dirname(from), specifier));
  for (const candidate of [`${base}.ts`, `${base}/index.ts`, base]) {
    if (existsSync(path.join(ROOT, candidate)) && statSync(path.join(ROOT, candidate)).isFile()) return candidate;
  }
  throw new Error(`${from}: cannot resolve ${specifier}`);
}

const IMPORT =
  /^(import|export)\s+(type\s+)?[^'";]*?\s+from\s+'(\.[^']*)'|^import\s+'(\.[^']*)'|\brequire\(\s*'(\.[^']*)'\s*\)|\bimport\(\s*'(\.[^']*)'\s*\)/gm;

function importsOf(file: string): Import[] {
  const text = readFileSync(path.join(ROOT, file), 'utf8');
  return [...text.matchAll(IMPORT)].map((match) => ({
    from: file,
    to: resolve(file, match[3] ?? match[4] ?? match[5] ?? at(match, 6)),
    typeOnly: match[2] !== undefined,
  }));
}

/** The layer unit of a file: its folder under src/, or the top-level folder or file. */
function unitOf(file: string): string {
  const parts = file.split('/');
  if (parts[0] === 'src') return parts.length > 2 ? `src/${parts[1]}` : file.replace(/\.ts$/, '');
  if (parts[0] === 'workflows' || parts[0] === 'activities') return parts[0];
  return file.replace(/\.ts$/, '');
}

const FILES = [...sourceFiles('src'), ...sourceFiles('workflows'), ...sourceFiles('activities'), 'temporal.config.ts'];
const IMPORTS = FILES.flatMap(importsOf);

function cycles(edges: [string, string][]): string[][] {
  const next = new Map<string, Set<string>>();
  for (const [a, b] of edges) next.set(a, (next.get(a) ?? new Set()).add(b));
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const found: string[][] = [];
  const visit = (node: string) => {
    state.set(node, 'open');
    stack.push(node);
    for (const to of next.get(node) ?? []) {
      if (state.get(to) === 'open') found.push([...stack.slice(stack.indexOf(to)), to]);
      else if (!state.has(to)) visit(to);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of next.keys()) if (!state.has(node)) visit(node);
  return found;
}

describe('import layers', () => {
  it('finds the imports it checks (the scan is not silently empty)', () => {
    expect(FILES.length).toBeGreaterThan(100);
    expect(IMPORTS.length).toBeGreaterThan(300);
  });

  it('has a rule for every folder, and every import across folders follows its rule', () => {
    const broken = IMPORTS.filter(({ from, to }) => {
      const [a, b] = [unitOf(from), unitOf(to)];
      if (a === b) return false;
      const allowed = RULES[a];
      if (!allowed) throw new Error(`no layer rule for ${a} (${from}); add it to RULES`);
      return !allowed.includes(b);
    });
    expect(broken.map(({ from, to }) => `${from} -> ${to}`)).toEqual([]);
  });

  it('has no import cycles between files', () => {
    expect(cycles(IMPORTS.map(({ from, to }) => [from, to])).map((cycle) => cycle.join(' -> '))).toEqual([]);
  });

  it('has no import cycles between folders', () => {
    const edges = IMPORTS.map(({ from, to }): [string, string] => [unitOf(from), unitOf(to)]).filter(([a, b]) => a !== b);
    expect(cycles(edges).map((cycle) => cycle.join(' -> '))).toEqual([]);
  });

  it('gives workflow code only types from its activities, and values only from deterministic modules', () => {
    const broken = IMPORTS.filter(({ from, to, typeOnly }) => {
      if (unitOf(from) !== 'workflows' || typeOnly) return false;
      const target = unitOf(to);
      return target !== 'workflows' && target !== 'src/protocol' && target !== 'src/session' && !WORKFLOW_VALUES.has(to);
    });
    expect(broken.map(({ from, to }) => `${from} -> ${to}`)).toEqual([]);
  });

  it('keeps the HTTP client off the Temporal SDK client and the Temporal message definitions', () => {
    const broken = IMPORTS.filter(({ from, to }) => from.startsWith('src/client/http/') && HTTP_CLIENT_FORBIDDEN.has(to));
    expect(broken.map(({ from, to }) => `${from} -> ${to}`)).toEqual([]);
  });

  it('loads no @temporalio module when the HTTP client or the protocol index is loaded', () => {
    const code = [
      "require('./src/client/http');",
      "require('./src/protocol');",
      "const loaded = Object.keys(require.cache).filter((file) => file.includes('@temporalio'));",
      'console.log(JSON.stringify(loaded));',
    ].join('\n');
    const run = spawnSync(process.execPath, [require.resolve('tsx/cli'), '-e', code], { cwd: ROOT, encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toEqual([]);
  });

  it('keeps project configuration out of the client SDK', () => {
    const code = [
      "require('./src/client');",
      "require('./src/client/http');",
      "const loaded = Object.keys(require.cache).filter((file) => !file.includes('node_modules')).map((file) => file.slice(process.cwd().length + 1));",
      'console.log(JSON.stringify(loaded));',
    ].join('\n');
    const run = spawnSync(process.execPath, [require.resolve('tsx/cli'), '-e', code], { cwd: ROOT, encoding: 'utf8' });
    expect(run.stderr).toBe('');
    const loaded = JSON.parse(run.stdout) as string[];
    expect(loaded.filter((file) => !/^src\/(client|protocol|session)\//.test(file))).toEqual([]);
  });
});
