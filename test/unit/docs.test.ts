/**
 * Keeps docs/sessions.md and docs/protocol.md in step with the code: the transition table, every
 * message name and every timeline event type.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SessionConfig, SessionView, TimelineEvent, WorkspaceView } from '../../src/session/schema';
import { ApproveInput, RejectInput } from '../../src/protocol/inputs';
import { TRANSITIONS } from '../../src/session/transitions';
import * as messages from '../../src/protocol/messages';
import { at } from '../support/at';

const docsDir = join(__dirname, '..', '..', 'docs');
const sessionsDoc = readFileSync(join(docsDir, 'sessions.md'), 'utf8');
const protocolDoc = readFileSync(join(docsDir, 'protocol.md'), 'utf8');

/** Cells of a markdown table row, with surrounding backticks removed. */
function cells(line: string): string[] {
  return line
    .trim()
    .replace(/^\||\|$/g, '')
    .split('|')
    .map((cell) => cell.trim());
}
const unquote = (text: string) => text.replace(/^`|`$/g, '');

/** The markdown table whose header is `| state | next states |`, as state → next states. */
function transitionTable(markdown: string): Record<string, string[]> {
  const lines = markdown.split('\n');
  const header = lines.findIndex((line) => /^\|/.test(line.trim()) && cells(line).join('|') === 'state|next states');
  if (header < 0) throw new Error('no "| state | next states |" table in docs/sessions.md');
  if (!/^\|[\s:|-]+\|$/.test(at(lines, header + 1).trim())) throw new Error('transition table has no separator row');
  const table: Record<string, string[]> = {};
  for (const line of lines.slice(header + 2)) {
    if (!line.trim().startsWith('|')) break;
    const [state = '', next = '', ...rest] = cells(line);
    expect(rest).toEqual([]);
    const key = unquote(state);
    if (key in table) throw new Error(`state ${key} appears twice in the transition table`);
    table[key] = next === '—' ? [] : next.split(',').map((s) => unquote(s.trim()));
  }
  return table;
}

/** Heading texts and code spans in a markdown document. */
function documentedNames(markdown: string): Set<string> {
  const names = new Set<string>();
  for (const match of markdown.matchAll(/^#{1,6}\s+(.+)$/gm)) names.add(at(match, 1).trim());
  for (const match of markdown.matchAll(/`([^`\n]+)`/g)) names.add(at(match, 1));
  return names;
}

interface Definition {
  type: 'signal' | 'update' | 'query';
  name: string;
}
const exported: unknown[] = Object.values(messages);
const definitions: Definition[] = exported.filter(
  (value): value is Definition =>
    typeof value === 'object' &&
    value !== null &&
    ['signal', 'update', 'query'].includes((value as { type?: unknown }).type as string) &&
    typeof (value as { name?: unknown }).name === 'string',
);

function eventTypes(): string[] {
  return TimelineEvent.options.map((option) => {
    const literal = option.shape.type;
    const values = [...literal.values];
    if (values.length !== 1) throw new Error('a timeline event type literal has more than one value');
    return String(values[0]);
  });
}

describe('docs/sessions.md', () => {
  it('shows the transition table exactly as TRANSITIONS defines it, in the same order', () => {
    const table = transitionTable(sessionsDoc);
    expect(Object.keys(table)).toEqual(Object.keys(TRANSITIONS));
    expect(table).toEqual(Object.fromEntries(Object.entries(TRANSITIONS).map(([state, next]) => [state, [...next]])));
  });
});

describe('docs/protocol.md', () => {
  const documented = documentedNames(protocolDoc);

  it('finds the message definitions to check', () => {
    const kinds = new Set(definitions.map((d) => d.type));
    expect(kinds).toEqual(new Set(['signal', 'update', 'query']));
  });

  it.each(definitions.map((d) => [d.type, d.name]))('documents the %s %s', (type, name) => {
    expect(documented.has(name)).toBe(true);
    // Each message has its own heading, e.g. "### `approve` (update)".
    expect(protocolDoc).toMatch(new RegExp(`^#{2,4} \`${name}\` \\(${type}\\)$`, 'm'));
  });

  it.each(eventTypes().map((t) => [t]))('documents the timeline event %s', (type) => {
    expect(documented.has(type)).toBe(true);
    expect(protocolDoc).toMatch(new RegExp(`^#{2,4} \`${type}\`$`, 'm'));
  });

  /** The field names (first cells) of the first table after `heading`. */
  function tableFields(heading: string): Set<string> {
    const lines = protocolDoc.split('\n');
    const start = lines.findIndex((line) => line.trim() === heading);
    if (start < 0) throw new Error(`no heading "${heading}" in docs/protocol.md`);
    const table = lines.slice(start + 1).findIndex((line) => line.trim().startsWith('|'));
    const rows: string[] = [];
    for (const line of lines.slice(start + 1 + table + 2)) {
      if (!line.trim().startsWith('|')) break;
      rows.push(unquote(at(cells(line), 0)));
    }
    return new Set(rows);
  }

  // The workflow gets the client's config resolved: `followUpWindow` (a duration) as `followUpWindowMs`.
  const asStarted = (field: string) => (field === 'followUpWindow' ? 'followUpWindowMs' : field);

  it.each([
    ['## Starting a session', Object.keys(SessionConfig.shape).map(asStarted)],
    ['### `approve` (update)', Object.keys(ApproveInput.shape)],
    ['### `reject` (update)', Object.keys(RejectInput.shape)],
    ['## SessionView', Object.keys(SessionView.shape)],
  ])('documents every field in the table under %s', (heading, fields) => {
    const documentedFields = tableFields(heading);
    expect(fields.filter((field) => !documentedFields.has(field))).toEqual([]);
  });

  it("documents every field of a code session's workspace in the SessionView", () => {
    const row = protocolDoc.split('\n').find((line) => line.startsWith('| `workspace` |')) ?? '';
    for (const field of Object.keys(WorkspaceView.shape)) expect(row).toMatch(new RegExp(`\\b${field}\\b`));
  });

  it('documents every refusal type', () => {
    for (const type of Object.values(messages.REFUSAL)) expect(documented.has(type)).toBe(true);
  });
});
