/**
 * The workspace scope check without git: which locations a worker's allow-list covers, how
 * locations are spelled before comparing, and what a GitHub token becomes (a scoped header).
 */
import path from 'node:path';
import { WorkspaceConfig, WorkspaceError, githubRepo, sessionBranch } from '../../src/workspace';
import { locate, normalize } from '../../src/workspace/sources';
import type { SessionSource } from '../../src/session/schema';

const config = (input: Parameters<typeof WorkspaceConfig.parse>[0]) => WorkspaceConfig.parse(input);

function refusal(source: SessionSource, input: Parameters<typeof WorkspaceConfig.parse>[0], env: NodeJS.ProcessEnv = {}): string {
  try {
    locate(source, config(input), env);
  } catch (error) {
    if (WorkspaceError.isInstance(error) && error.code === 'SourceNotAllowed') return error.message;
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(source)} to be refused`);
}

describe('normalize', () => {
  it('spells local paths and file:// URLs as absolute paths, URLs without dot segments', () => {
    expect(normalize('repos/app.git')).toBe(path.resolve('repos/app.git'));
    expect(normalize('file:///srv/repos/../etc/app.git')).toBe('/srv/etc/app.git');
    expect(normalize('https://Git.Example.com/org/../other/app.git')).toBe('https://git.example.com/other/app.git');
    expect(normalize('git@github.com:org/app.git')).toBe('git@github.com:org/app.git');
    expect(normalize('ext::sh -c evil')).toBeUndefined();
    expect(normalize('fd::3')).toBeUndefined();
  });
});

describe('locate', () => {
  const allowed = { allowedGitSources: ['/srv/repos', 'https://git.example.com/org/', 'git@github.com:org/'] };

  it('accepts a location under an allowed prefix, at a path boundary', () => {
    expect(locate({ git: '/srv/repos/app.git' }, config(allowed), {}).url).toBe('/srv/repos/app.git');
    expect(locate({ git: 'https://git.example.com/org/app.git' }, config(allowed), {}).url).toBe('https://git.example.com/org/app.git');
    expect(locate({ git: 'git@github.com:org/app.git' }, config(allowed), {}).url).toBe('git@github.com:org/app.git');
  });

  it('refuses what only looks like it is under a prefix', () => {
    for (const git of [
      '/srv/repos-evil/app.git',
      '/srv/repos/../secret/app.git',
      'file:///srv/repos/../secret.git',
      'https://git.example.com/org/../other/app.git',
      'https://git.example.com.evil.net/org/app.git',
      'git@github.com:org/../other/app.git',
    ]) {
      expect(refusal({ git }, allowed)).toContain('not allowed');
    }
  });

  it('refuses credentials in a URL and remote helpers whatever the allow-list says', () => {
    expect(refusal({ git: 'https://token@git.example.com/org/app.git' }, allowed)).toContain('credentials');
    expect(refusal({ git: 'ext::sh -c touch% /tmp/x' }, { allowedGitSources: ['ext::'] })).toContain('remote helpers');
  });

  it('refuses every git source when allowedGitSources is empty, saying so', () => {
    expect(refusal({ git: '/srv/repos/app.git' }, {})).toContain('workspace.allowedGitSources is empty');
  });

  it('limits GitHub owners only when allowedGitHub is set, ignoring case', () => {
    expect(locate({ github: 'Acme/App' }, config({}), {}).url).toBe('https://github.com/Acme/App.git');
    expect(locate({ github: 'Acme/App' }, config({ allowedGitHub: ['acme'] }), {}).url).toBe('https://github.com/Acme/App.git');
    expect(locate({ github: 'acme/app' }, config({ allowedGitHub: ['ACME/APP'] }), {}).label).toBe('github:acme/app');
    expect(refusal({ github: 'acme/other' }, { allowedGitHub: ['acme/app'] })).toContain('workspace.allowedGitHub');
  });

  it('turns the GitHub token into an Authorization header scoped to the clone host, never into the URL', () => {
    const located = locate({ github: 'acme/app' }, config({ github: { tokenEnv: 'MY_TOKEN' } }), { MY_TOKEN: 'tok123' });
    expect(located.url).toBe('https://github.com/acme/app.git');
    expect(located.config).toEqual([
      ['http.https://github.com/.extraHeader', `Authorization: Basic ${Buffer.from('x-access-token:tok123').toString('base64')}`],
    ]);
    expect(located.secrets).toContain('tok123');
    expect(locate({ github: 'acme/app' }, config({}), {}).config).toEqual([]);
  });
});

describe('names', () => {
  it('answers owner/repo of github sources only', () => {
    expect(githubRepo({ github: 'acme/app' })).toEqual({ owner: 'acme', repo: 'app' });
    expect(githubRepo({ git: '/srv/repos/app.git' })).toBeUndefined();
  });

  it('makes a valid branch name of every session id', () => {
    expect(sessionBranch('ses-1')).toBe('andon/ses-1');
    expect(sessionBranch('alert:checkout:42')).toBe('andon/alert-checkout-42');
    expect(sessionBranch('a..b.lock')).toBe('andon/a-b-lock');
    expect(sessionBranch('trailing.')).toBe('andon/trailing-');
  });
});
