/**
 * A code session's change as Jules users know it: `changeSet(outcome).parsed()` lists the changed
 * files with their line counts, `generatedFiles()` gives the created files' contents, and
 * `save(dir)` writes the change into a directory that holds the base commit's files. The patch is
 * read and applied with jsdiff (`diff`), never by hand:
 *
 *   const outcome = await session.result();
 *   const change = changeSet(outcome);
 *   for (const file of change?.parsed().files ?? []) console.log(file.path, file.changeType, `+${file.additions} -${file.deletions}`);
 *   await change?.save('/path/to/checkout-at-base');
 */
import { chmod, lstat, mkdir, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { applyPatch, parsePatch, reversePatch, type StructuredPatch } from 'diff';
import type { Artifact, ChangedFile, Output } from '../session/schema';
import { AndonError } from './errors';

type GitPatch = { unidiffPatch: string; baseCommitId?: string; suggestedCommitMessage?: string };

/** A changed file of a change set (Jules' parsed shape); a renamed file also names where it was. */
export interface ParsedFile extends ChangedFile {
  /** A rename's old path (the file at `path` replaces it). */
  previousPath?: string;
  /** Git said "Binary files differ": counted, but `save()` cannot write it. */
  binary?: boolean;
}

/** Jules' `parsed()`: the files, and how many were created, modified and deleted. */
export interface ParsedChangeSet {
  files: ParsedFile[];
  summary: { totalFiles: number; created: number; modified: number; deleted: number; additions: number; deletions: number };
}

/** A file of the change with its content: the whole file when created, the added lines otherwise (as in Jules). */
export interface GeneratedFile extends ParsedFile {
  content: string;
}

/** Jules' `generatedFiles()`: the change's files with their contents. */
export class GeneratedFiles {
  constructor(private readonly files: readonly GeneratedFile[]) {}
  all(): GeneratedFile[] {
    return [...this.files];
  }
  get(filePath: string): GeneratedFile | undefined {
    return this.files.find((file) => file.path === filePath);
  }
  filter(changeType: ChangedFile['changeType']): GeneratedFile[] {
    return this.files.filter((file) => file.changeType === changeType);
  }
}

/** A change set that cannot be read or written as asked; `path` is the file concerned, when one is. */
export class ChangeSetError extends AndonError {
  constructor(
    message: string,
    readonly path?: string,
  ) {
    super(message);
  }
  static override isInstance = (error: unknown): error is ChangeSetError => AndonError.isInstance(error) && error.name === 'ChangeSetError';
}

/** What `save()` did: paths relative to the directory. */
export interface SavedChangeSet {
  written: string[];
  deleted: string[];
}

/** A `changeSet` artifact or output: its git patch, parsed and applied with jsdiff. */
export class ChangeSet {
  readonly type = 'changeSet' as const;
  private patches?: StructuredPatch[];

  constructor(
    readonly gitPatch: GitPatch,
    /** The source the change applies to (`github:owner/repo@branch`), when the artifact says. */
    readonly source?: string,
  ) {}

  /** The cumulative unified diff. */
  get unidiffPatch(): string {
    return this.gitPatch.unidiffPatch;
  }

  get baseCommitId(): string | undefined {
    return this.gitPatch.baseCommitId;
  }

  /** The changed files with their line counts, and a summary (Jules' `parsed()`). */
  parsed(): ParsedChangeSet {
    const files = this.structured().map((patch) => describe(patch));
    const count = (type: ChangedFile['changeType']) => files.filter((file) => file.changeType === type).length;
    return {
      files,
      summary: {
        totalFiles: files.length,
        created: count('created'),
        modified: count('modified'),
        deleted: count('deleted'),
        additions: files.reduce((sum, file) => sum + file.additions, 0),
        deletions: files.reduce((sum, file) => sum + file.deletions, 0),
      },
    };
  }

  /** The files with contents (Jules' `generatedFiles()`): a created file's whole content, else the added lines. */
  generatedFiles(): GeneratedFiles {
    return new GeneratedFiles(
      this.structured().map((patch) => {
        const file = describe(patch);
        const created = file.changeType === 'created' && !file.binary ? applyPatch('', patch) : false;
        const content =
          created !== false
            ? created
            : patch.hunks
                .flatMap((hunk) => hunk.lines)
                .filter((line) => line.startsWith('+'))
                .map((line) => line.slice(1))
                .join('\n');
        return { ...file, content };
      }),
    );
  }

  /**
   * Writes the change into `dir`, which holds the files of the base commit (a checkout at
   * `baseCommitId`): created and modified files get their new contents, deleted files are removed.
   * Every file is checked before anything is written: a path outside `dir` (absolute, `..`, into
   * `.git`, or through a symbolic link), a hunk that does not apply, a created file that exists
   * with other content, or a binary change fails the whole save with a ChangeSetError naming the
   * file, and `dir` is left as it was. Saving the same change twice is a no-op the second time.
   */
  async save(dir: string): Promise<SavedChangeSet> {
    const root = await realpath(path.resolve(dir)).catch(() => {
      throw new ChangeSetError(`cannot save the change set: ${dir} is not a directory`);
    });
    const plan: Array<{ file: string; target: string; content?: string; mode?: string }> = [];
    for (const patch of this.structured()) {
      const file = describe(patch);
      if (file.binary) throw new ChangeSetError(`cannot save ${file.path}: a binary change has no content in the patch`, file.path);
      const target = await inside(root, file.path);
      const current = await readIfFile(target, file.path);
      if (file.changeType === 'created') {
        const content = applied(applyPatch('', patch), file.path);
        if (current !== undefined && current !== content)
          throw new ChangeSetError(
            `cannot save ${file.path}: the change creates it, but ${dir} already has it with other content`,
            file.path,
          );
        plan.push({ file: file.path, target, content, mode: patch.newMode });
        continue;
      }
      const sourcePath = file.previousPath ?? file.path;
      const source = file.previousPath ? await readIfFile(await inside(root, sourcePath), sourcePath) : current;
      if (source === undefined) {
        // Already saved: a deleted file that is gone, a renamed file at its new path with its new content.
        if (file.changeType === 'deleted') continue;
        if (file.previousPath && current !== undefined) continue;
        throw new ChangeSetError(
          `cannot save ${file.path}: ${sourcePath} is not in ${dir} (is it a checkout of the base commit?)`,
          file.path,
        );
      }
      const result = applyPatch(source, patch);
      if (result === false) {
        // The change is there already (a second save): nothing to do for this file.
        if (!file.previousPath && file.changeType === 'modified' && patchedAlready(source, patch)) continue;
        throw new ChangeSetError(
          `cannot save ${file.path}: the change does not apply to ${sourcePath} in ${dir} (not at the base commit?)`,
          file.path,
        );
      }
      if (file.changeType === 'deleted') {
        plan.push({ file: file.path, target });
        continue;
      }
      plan.push({ file: file.path, target, content: result, mode: patch.newMode });
      if (file.previousPath) plan.push({ file: file.previousPath, target: await inside(root, file.previousPath) });
    }
    const saved: SavedChangeSet = { written: [], deleted: [] };
    for (const step of plan) {
      if (step.content === undefined) {
        await rm(step.target, { force: true });
        saved.deleted.push(step.file);
        continue;
      }
      await mkdir(path.dirname(step.target), { recursive: true });
      await writeFile(step.target, step.content);
      if (step.mode === '100755') await chmod(step.target, 0o755);
      else if (step.mode === '100644') await chmod(step.target, 0o644);
      saved.written.push(step.file);
    }
    return saved;
  }

  private structured(): StructuredPatch[] {
    if (!this.patches) {
      try {
        this.patches = this.gitPatch.unidiffPatch.trim() === '' ? [] : parsePatch(this.gitPatch.unidiffPatch);
      } catch (error) {
        throw new ChangeSetError(`the change set is not a unified diff: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    return this.patches;
  }
}

type ChangeSetHolder = { outputs: readonly Output[] };

/**
 * The change set of a session's outcome or view (its final `changeSet` output: the whole change
 * from the base commit), of a timeline artifact or output, or of a unified diff. Undefined when an
 * outcome has no change.
 */
export function changeSet(from: Artifact | Output | GitPatch | string): ChangeSet;
export function changeSet(from: ChangeSetHolder): ChangeSet | undefined;
export function changeSet(from: ChangeSetHolder | Artifact | Output | GitPatch | string): ChangeSet | undefined;
export function changeSet(from: ChangeSetHolder | Artifact | Output | GitPatch | string): ChangeSet | undefined {
  if (typeof from === 'string') return new ChangeSet({ unidiffPatch: from });
  if ('outputs' in from) {
    const output = [...from.outputs].reverse().find((o) => o.type === 'changeSet');
    return output?.type === 'changeSet' ? new ChangeSet(output.gitPatch) : undefined;
  }
  if ('unidiffPatch' in from) return new ChangeSet(from);
  if (from.type !== 'changeSet') throw new ChangeSetError(`a ${from.type} is not a change set`);
  return new ChangeSet(from.gitPatch, 'source' in from ? from.source : undefined);
}

function stripPrefix(name: string | undefined): string | undefined {
  if (name === undefined || name === '/dev/null') return undefined;
  return name.replace(/^[ab]\//, '');
}

function describe(patch: StructuredPatch): ParsedFile {
  const oldPath = stripPrefix(patch.oldFileName);
  const newPath = stripPrefix(patch.newFileName);
  const created = patch.isCreate === true || (patch.oldFileName === '/dev/null' && newPath !== undefined);
  const deleted = !created && (patch.isDelete === true || (patch.newFileName === '/dev/null' && oldPath !== undefined));
  const filePath = (deleted ? oldPath : newPath) ?? oldPath;
  if (filePath === undefined || filePath === '') throw new ChangeSetError('the change set has a file without a name');
  let additions = 0;
  let deletions = 0;
  for (const line of patch.hunks.flatMap((hunk) => hunk.lines)) {
    if (line.startsWith('+')) additions++;
    else if (line.startsWith('-')) deletions++;
  }
  return {
    path: filePath,
    changeType: created ? 'created' : deleted ? 'deleted' : 'modified',
    additions,
    deletions,
    ...(patch.isRename && oldPath && oldPath !== filePath ? { previousPath: oldPath } : {}),
    ...(patch.isBinary ? { binary: true } : {}),
  };
}

/** `dir`/`file`, refused unless it stays inside `dir`: no absolute path, no `..`, nothing in `.git`, no symbolic link on the way. */
async function inside(root: string, file: string): Promise<string> {
  const parts = file.split('/');
  if (path.isAbsolute(file) || /^[A-Za-z]:/.test(file) || file.includes('\\') || parts.some((part) => part === '..' || part === '.git'))
    throw new ChangeSetError(`refusing ${JSON.stringify(file)}: it is outside the directory (absolute, "..", "\\" or ".git")`, file);
  const target = path.join(root, ...parts.filter((part) => part !== '' && part !== '.'));
  const relative = path.relative(root, target);
  if (relative === '' || relative.startsWith('..') || path.isAbsolute(relative))
    throw new ChangeSetError(`refusing ${JSON.stringify(file)}: it is outside the directory`, file);
  // No component on the way may be a symbolic link: it could point anywhere.
  let at = root;
  for (const part of relative.split(path.sep)) {
    at = path.join(at, part);
    const stat = await lstat(at).catch(() => undefined);
    if (!stat) break;
    if (stat.isSymbolicLink())
      throw new ChangeSetError(`refusing ${JSON.stringify(file)}: ${path.relative(root, at)} is a symbolic link`, file);
  }
  return target;
}

async function readIfFile(target: string, file: string): Promise<string | undefined> {
  const stat = await lstat(target).catch(() => undefined);
  if (!stat) return undefined;
  if (!stat.isFile()) throw new ChangeSetError(`cannot save ${file}: it is not a regular file in the directory`, file);
  return readFile(target, 'utf8');
}

function applied(result: string | false, file: string): string {
  if (result === false) throw new ChangeSetError(`cannot save ${file}: the patch for it is malformed`, file);
  return result;
}

/** Whether `content` is already what the patch makes: the reversed patch applies cleanly to it. */
function patchedAlready(content: string, patch: StructuredPatch): boolean {
  return applyPatch(content, reversePatch(patch)) !== false;
}
