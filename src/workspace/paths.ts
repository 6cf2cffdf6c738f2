import fs from 'node:fs';
import path from 'node:path';
import { WorkspaceError } from './errors';

/**
 * The absolute path of `relative` inside the session's working tree, for the agents' file tools.
 * Refused with PathOutsideTree: absolute paths, `..` segments, anything under `.git` (any case),
 * and paths whose existing part resolves (through symlinks) outside the tree or into its `.git`.
 * The answer is the real path (symlinks inside the tree followed), so a later write lands there.
 * `''` and `'.'` are the tree itself.
 */
export function resolveInTree(treePath: string, relative: string): string {
  const refuse = (why: string): never => {
    throw new WorkspaceError('PathOutsideTree', `path ${JSON.stringify(relative)} is refused: ${why}`);
  };
  if (typeof relative !== 'string') refuse('expected a string');
  if (relative.includes('\0')) refuse('it contains a NUL character');
  if (path.isAbsolute(relative) || path.win32.isAbsolute(relative))
    refuse('expected a path relative to the working tree, not an absolute one');
  const segments = relative.split(/[\\/]+/).filter((part) => part !== '' && part !== '.');
  if (segments.includes('..')) refuse('".." may not leave the working tree');
  if (segments.some(isGitDir)) refuse('the .git directory belongs to the workspace, not to the agent');

  const root = fs.realpathSync(treePath);
  // Follow the longest existing prefix through its symlinks; what does not exist yet is appended.
  let real = root;
  for (let i = 0; i < segments.length; i++) {
    const next = path.join(real, segments[i]!);
    let stat: fs.Stats;
    try {
      stat = fs.lstatSync(next);
    } catch {
      real = path.join(next, ...segments.slice(i + 1));
      break;
    }
    if (stat.isSymbolicLink() && !fs.existsSync(next)) {
      // A dangling link may point at another dangling link that leaves the tree: writing through
      // it would create a file out there. Only links that resolve are followed.
      refuse('a symbolic link on it leads nowhere');
    }
    real = stat.isSymbolicLink() ? fs.realpathSync(next) : next;
    if (!within(root, real)) refuse('a symbolic link leads outside the working tree');
  }
  if (!within(root, real)) refuse('it is outside the working tree');
  if (path.relative(root, real).split(path.sep).some(isGitDir)) refuse('it leads into the .git directory');
  return real;
}

function isGitDir(segment: string): boolean {
  return segment.toLowerCase() === '.git';
}

function within(root: string, candidate: string): boolean {
  const rel = path.relative(root, candidate);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}
