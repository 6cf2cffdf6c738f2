import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describeSource, type SessionSource } from '../session/schema';
import type { WorkspaceConfig } from './config';
import { WorkspaceError } from './errors';

/** A source the worker may use: where git reaches it, and how to authenticate (never shown). */
export interface Location {
  /** What git is given: a normalized URL, an scp-like address or an absolute path. */
  url: string;
  /** For messages: `github:owner/repo@branch`, `git:/srv/repo.git`. */
  label: string;
  /** Git settings carrying the credential (GIT_CONFIG_* env), if any. */
  config: Array<[string, string]>;
  secrets: string[];
}

const GITHUB_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})\/[A-Za-z0-9._-]{1,100}$/;

/** owner/repo of a github source, for the PR client. */
export function githubRepo(source: SessionSource): { owner: string; repo: string } | undefined {
  if (!('github' in source)) return undefined;
  const [owner, repo] = source.github.split('/');
  return owner && repo ? { owner, repo: repo.replace(/\.git$/, '') } : undefined;
}

/**
 * The scope check: `git` sources only under an `allowedGitSources` prefix, `github` sources only
 * for `allowedGitHub` owners (when that list is not empty), remote helpers (`ext::`) never.
 */
export function locate(source: SessionSource, config: WorkspaceConfig, env: NodeJS.ProcessEnv): Location {
  const label = describeSource(source);
  if ('github' in source) {
    const repo = githubRepo(source);
    if (!repo || !GITHUB_NAME.test(source.github)) {
      throw new WorkspaceError('SourceNotAllowed', `source ${label}: expected github "owner/repo"`);
    }
    const allowed = config.allowedGitHub.map((entry) => entry.toLowerCase());
    const name = `${repo.owner}/${repo.repo}`.toLowerCase();
    if (allowed.length > 0 && !allowed.includes(repo.owner.toLowerCase()) && !allowed.includes(name)) {
      throw new WorkspaceError(
        'SourceNotAllowed',
        `source ${label} is not allowed on this worker: its owner is not in workspace.allowedGitHub (${config.allowedGitHub.join(', ')})`,
      );
    }
    const template = config.github.cloneUrl.replaceAll('{owner}', repo.owner).replaceAll('{repo}', repo.repo);
    const url = normalize(template) ?? template;
    const token = env[config.github.tokenEnv];
    // The token is scrubbed from every message whatever the URL (a template could echo it back).
    const located: Location = { url, label, config: [], secrets: token ? [token] : [] };
    if (token && /^https?:\/\//i.test(url)) {
      // GitHub takes a token as basic auth with any user name; scoped to the clone URL's host.
      const basic = Buffer.from(`x-access-token:${token}`).toString('base64');
      located.config.push([`http.${new URL(url).origin}/.extraHeader`, `Authorization: Basic ${basic}`]);
      located.secrets.push(basic);
    }
    return located;
  }

  const url = normalize(source.git);
  if (url === undefined) {
    throw new WorkspaceError('SourceNotAllowed', `source ${label} is refused: remote helpers ("<transport>::<address>") are not allowed`);
  }
  if (url.split(/[/:]/).includes('..')) {
    throw new WorkspaceError('SourceNotAllowed', `source ${label} is refused: ".." segments are not allowed in a location`);
  }
  if (/^[a-z][a-z0-9+.-]*:\/\/[^/]*@/i.test(url) && !/^ssh:\/\/[^/:@]+@/i.test(url)) {
    throw new WorkspaceError(
      'SourceNotAllowed',
      `source ${label} is refused: credentials belong in the worker's configuration, not the URL`,
    );
  }
  const prefixes = config.allowedGitSources.map((prefix) => normalize(prefix)).filter((prefix): prefix is string => !!prefix);
  if (!prefixes.some((prefix) => underPrefix(url, prefix))) {
    throw new WorkspaceError(
      'SourceNotAllowed',
      config.allowedGitSources.length === 0
        ? `source ${label} is not allowed on this worker: workspace.allowedGitSources is empty, so git sources are refused`
        : `source ${label} is not allowed on this worker: it is under none of workspace.allowedGitSources`,
    );
  }
  return { url, label, config: [], secrets: [] };
}

/**
 * One spelling per location, so the allow-list compares like with like: local paths and file://
 * URLs resolved to absolute paths, URLs with dot segments removed, scp-like addresses as given
 * (but no `..`). Undefined: a remote-helper address (`ext::...`), refused.
 */
export function normalize(location: string): string | undefined {
  if (/^[A-Za-z0-9+.-]+::/.test(location)) return undefined;
  if (/^file:\/\//i.test(location)) return path.resolve(fileURLToPath(location));
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(location)) {
    try {
      return new URL(location).href;
    } catch {
      return location;
    }
  }
  // scp-like `user@host:path` (a colon before any slash); a local path otherwise.
  if (/^[^/]*:/.test(location)) return location;
  return path.resolve(location);
}

/** `location` starts with `prefix` at a boundary: `/srv/repos` covers `/srv/repos/a`, not `/srv/repos-evil`. */
function underPrefix(location: string, prefix: string): boolean {
  if (location === prefix) return true;
  if (!location.startsWith(prefix)) return false;
  return /[/:]$/.test(prefix) || location[prefix.length] === '/';
}
