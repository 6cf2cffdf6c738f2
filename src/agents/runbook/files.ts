/**
 * Runbook files: the formats the runbook folder may hold, and the errors that name the file, the
 * field and, where the format can tell, the line.
 *
 * - `*.yaml`, `*.yml`: the runbook object in YAML (1.2: `yes`, `no` and `on` stay strings).
 * - `*.md`: Markdown whose front matter (between a first line `---` and the next `---` line) is
 *   the runbook object in YAML; the body below it becomes the runbook's `notes`.
 * - `*.json`: the runbook object in JSON.
 *
 * Other files, and names starting with ".", are ignored.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { LineCounter, isMap, isScalar, isSeq, parseDocument, type Node as YamlNode } from 'yaml';
import { validateRunbook, type Locate, type Runbook } from './runbook';

export const RUNBOOK_EXTENSIONS = ['.yaml', '.yml', '.md', '.json'] as const;

const isRunbookFile = (file: string) =>
  !file.startsWith('.') && (RUNBOOK_EXTENSIONS as readonly string[]).includes(path.extname(file).toLowerCase());

/** Reads every runbook file in a folder, sorted by file name so errors and listings come out the same way everywhere. */
export function loadRunbooks(folder: string): Runbook[] {
  let files: string[];
  try {
    files = readdirSync(folder).filter(isRunbookFile).sort();
  } catch (error) {
    throw new Error(`cannot read the runbook folder ${folder}: ${(error as Error).message}`, { cause: error });
  }
  const byName = new Map<string, string>();
  return files.map((file) => {
    const full = path.join(folder, file);
    let text: string;
    try {
      text = readFileSync(full, 'utf8');
    } catch (error) {
      throw new Error(`cannot read runbook ${full}: ${(error as Error).message}`, { cause: error });
    }
    const runbook = parseRunbookFile(text, full);
    const other = byName.get(runbook.name);
    if (other !== undefined) throw new Error(`two runbooks are named "${runbook.name}": ${other} and ${full}`);
    byName.set(runbook.name, full);
    return runbook;
  });
}

/** One runbook file's text; its format comes from the extension of `file`, which also names it in errors. */
export function parseRunbookFile(text: string, file: string): Runbook {
  const source = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const extension = path.extname(file).toLowerCase();
  if (extension === '.json') {
    let raw: unknown;
    try {
      raw = JSON.parse(source);
    } catch (error) {
      throw new Error(
        `invalid runbook ${file}: JSON syntax error${jsonLine(source, (error as Error).message)}: ${(error as Error).message}`,
        { cause: error },
      );
    }
    return validateRunbook(raw, file);
  }
  if (extension === '.yaml' || extension === '.yml') {
    const { value, locate } = parseYaml(source, file, 0, 'file');
    return validateRunbook(value, file, locate);
  }
  if (extension === '.md') {
    let front: FrontMatter;
    try {
      front = splitFrontMatter(source);
    } catch (error) {
      throw new Error(`invalid runbook ${file}: ${(error as Error).message}`, { cause: error });
    }
    const { value, locate } = parseYaml(front.yaml, file, front.line - 1, 'front matter');
    const notes = front.body.trim();
    if (notes !== '' && isObject(value) && 'notes' in value) {
      throw new Error(
        `invalid runbook ${file}: notes (line ${locate(['notes'])}): the front matter sets notes and the Markdown body is not empty; keep one`,
      );
    }
    return validateRunbook(notes !== '' && isObject(value) ? { ...value, notes } : value, file, locate);
  }
  throw new Error(`invalid runbook ${file}: not a runbook file (expected ${RUNBOOK_EXTENSIONS.join(', ')})`);
}

export interface FrontMatter {
  /** The YAML between the fences, lines joined with "\n". */
  yaml: string;
  /** The 1-based line of the file the YAML starts on. */
  line: number;
  /** Everything after the closing fence, lines joined with "\n". */
  body: string;
}

const FENCE = /^---[ \t]*$/;

/**
 * Splits Markdown into its YAML front matter and body: the first line must be `---` and the front
 * matter ends at the next `---` line. LF or CRLF line ends; a leading byte-order mark is skipped.
 */
export function splitFrontMatter(markdown: string): FrontMatter {
  const lines = (markdown.startsWith('\uFEFF') ? markdown.slice(1) : markdown).split(/\r?\n/);
  if (!FENCE.test(lines[0]!))
    throw new Error('no front matter: a Markdown runbook must start with a "---" line, then the runbook in YAML, then another "---" line');
  const close = lines.findIndex((line, i) => i > 0 && FENCE.test(line));
  if (close < 0) throw new Error('the front matter opened by "---" on line 1 has no closing "---" line');
  return { yaml: lines.slice(1, close).join('\n'), line: 2, body: lines.slice(close + 1).join('\n') };
}

/**
 * YAML text as a value, and where each path of it is written. `lineOffset` is added to every line
 * (front matter does not start on line 1). Syntax errors and warnings (an unknown tag, say) fail.
 */
function parseYaml(text: string, file: string, lineOffset: number, what: 'file' | 'front matter'): { value: unknown; locate: Locate } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true, strict: true });
  const lineAt = (offset: number) => lineCounter.linePos(offset).line + lineOffset;
  const problem = doc.errors[0] ?? doc.warnings[0];
  if (problem) {
    const { line, col } = lineCounter.linePos(problem.pos[0]);
    const more = doc.errors.length + doc.warnings.length - 1;
    throw new Error(
      `invalid runbook ${file}: YAML syntax error at line ${line + lineOffset}, column ${col}: ${problem.message}${more > 0 ? ` (and ${more} more)` : ''}`,
    );
  }
  let value: unknown;
  try {
    value = doc.toJS();
  } catch (error) {
    // An alias to an anchor that is not defined (before it), or too many aliases.
    throw new Error(`invalid runbook ${file}: YAML: ${(error as Error).message}`, { cause: error });
  }
  if (value === null || value === undefined) throw new Error(`invalid runbook ${file}: the ${what} is empty`);
  const locate: Locate = (target) => {
    // The deepest node of the path that is written in the file: a key's line for a map entry. A
    // top-level field that is missing has no line worth giving.
    let node: unknown = doc.contents;
    let offset = target.length === 0 ? (node as YamlNode | null)?.range?.[0] : undefined;
    for (const segment of target) {
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(segment));
        if (!pair) break;
        offset = (isScalar(pair.key) ? pair.key.range?.[0] : undefined) ?? offset;
        node = pair.value;
      } else if (isSeq(node) && typeof segment === 'number' && node.items[segment] !== undefined) {
        node = node.items[segment];
        offset = (node as YamlNode).range?.[0] ?? offset;
      } else {
        break;
      }
    }
    return offset === undefined ? undefined : lineAt(offset);
  };
  return { value, locate };
}

/** " at line L, column C" for a JSON.parse error that gives a position and no line. */
function jsonLine(text: string, message: string): string {
  const position = /at position (\d+)/.exec(message);
  if (!position || /\bline\b/.test(message)) return '';
  const before = text.slice(0, Number(position[1])).split('\n');
  return ` at line ${before.length}, column ${before.at(-1)!.length + 1}`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
