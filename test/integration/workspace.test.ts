/**
 * The workspace library against real git: bare remotes on local paths, real mirrors, trees,
 * patches, commits and pushes (no mocks). No Temporal here: this is the layer the activities use.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Workspaces, WorkspaceError, resolveInTree, sessionBranch, type WorkspaceConfigInput } from '../../src/workspace';
import { Git } from '../../src/workspace/git';
import { git, makeRemote, writeFiles } from '../support/git-repos';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'andon-workspace-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const remotes = path.join(dir, 'remotes');
fs.mkdirSync(remotes);
const BINARY = Buffer.from([0, 1, 2, 3, 255, 254, 0, 10, 13, 0]);
const repo = makeRemote(
  remotes,
  'app',
  {
    'README.md': '# app\n',
    'src/main.ts': 'export const answer = 41;\n',
    'src/old.ts': 'old\n',
    '.gitignore': 'build/\n',
    'logo.bin': BINARY,
  },
  { feature: { 'src/feature.ts': 'export const feature = true;\n' } },
);

let dataDirs = 0;
function workspaces(config: WorkspaceConfigInput = {}, env: NodeJS.ProcessEnv = process.env): Workspaces {
  return new Workspaces({ dataDir: path.join(dir, `data-${++dataDirs}`), allowedGitSources: [remotes], ...config }, { env });
}

async function failure(promise: Promise<unknown>): Promise<WorkspaceError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!WorkspaceError.isInstance(error)) throw new Error(`expected a WorkspaceError, got ${String(error)}`);
  return error;
}

const read = (tree: string, file: string) => fs.readFileSync(path.join(tree, file), 'utf8');

describe('prepare', () => {
  it('resolves the default branch and its commit when the source names no branch', async () => {
    await expect(workspaces().prepare({ git: repo.url })).resolves.toEqual({ branch: 'main', baseCommit: repo.commits.main });
  });

  it('resolves a named branch to its own commit', async () => {
    await expect(workspaces().prepare({ git: repo.url, branch: 'feature' })).resolves.toEqual({
      branch: 'feature',
      baseCommit: repo.commits.feature,
    });
  });

  it('answers BranchNotFound naming the branch and the source for a branch the repository lacks', async () => {
    const error = await failure(workspaces().prepare({ git: repo.url, branch: 'no-such-branch' }));
    expect(error.code).toBe('BranchNotFound');
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('no-such-branch');
    expect(error.message).toContain(repo.url);
  });

  it('answers SourceUnavailable, not retryable, for a repository that does not exist', async () => {
    const missing = path.join(remotes, 'missing.git');
    const error = await failure(workspaces().prepare({ git: missing }));
    expect(error.code).toBe('SourceUnavailable');
    expect(error.retryable).toBe(false);
    expect(error.message).toContain(missing);
  });

  it('refuses git sources outside allowedGitSources, naming the source and the configuration key', async () => {
    const elsewhere = path.join(dir, 'elsewhere.git');
    for (const ws of [workspaces(), workspaces({ allowedGitSources: [] })]) {
      const error = await failure(ws.prepare({ git: elsewhere }));
      expect(error.code).toBe('SourceNotAllowed');
      expect(error.message).toContain(elsewhere);
      expect(error.message).toContain('workspace.allowedGitSources');
    }
    // A prefix is a directory, not a string prefix; a relative path resolves first.
    expect((await failure(workspaces().prepare({ git: `${remotes}-evil/app.git` }))).code).toBe('SourceNotAllowed');
    expect((await failure(workspaces().prepare({ git: path.relative(process.cwd(), path.join(remotes, '..', 'x.git')) }))).code).toBe(
      'SourceNotAllowed',
    );
    await expect(workspaces().prepare({ git: path.relative(process.cwd(), repo.url) })).resolves.toMatchObject({ branch: 'main' });
  });

  it('refuses github owners outside allowedGitHub and accepts listed ones', async () => {
    const cloneUrl = path.join(remotes, '{owner}', '{repo}.git');
    fs.mkdirSync(path.join(remotes, 'acme'), { recursive: true });
    makeRemote(path.join(remotes, 'acme'), 'tool', { 'a.txt': 'a\n' });
    const ws = workspaces({ allowedGitHub: ['acme'], github: { cloneUrl } });
    const error = await failure(ws.prepare({ github: 'other/tool' }));
    expect(error.code).toBe('SourceNotAllowed');
    expect(error.message).toContain('github:other/tool');
    expect(error.message).toContain('workspace.allowedGitHub');
    await expect(ws.prepare({ github: 'acme/tool' })).resolves.toMatchObject({ branch: 'main' });
    await expect(
      workspaces({ allowedGitHub: ['acme/tool'], github: { cloneUrl } }).prepare({ github: 'acme/tool' }),
    ).resolves.toMatchObject({
      branch: 'main',
    });
  });

  it('refuses a source that is not a valid SessionSource, naming the field', async () => {
    const error = await failure(workspaces().prepare({ git: repo.url, branch: '-evil' }));
    expect(error.code).toBe('SourceNotAllowed');
    expect(error.message).toContain('source.branch');
  });

  it('refuses ext:: and other remote helpers, even when the allow-list would match them', async () => {
    const marker = path.join(dir, 'ext-ran');
    const source = { git: `ext::sh -c touch% ${marker}` };
    const error = await failure(workspaces({ allowedGitSources: ['ext::'] }).prepare(source));
    expect(error.code).toBe('SourceNotAllowed');
    // And git itself is configured to refuse the transport, should anything reach it.
    const run = new Git({ timeoutMs: 10_000 }).run(['ls-remote', '--', source.git], { cwd: dir });
    await expect(run).rejects.toThrow(/not allowed/);
    expect(fs.existsSync(marker)).toBe(false);
  });

  it('never shows a credential: the GitHub token is scrubbed from every error', async () => {
    const token = 'ghp_S3cretTokenValue1234567890';
    const env = { ...process.env, GITHUB_TOKEN: token };
    const port = await closedPort();
    // Over https to a port nobody listens on: the token travels as a header, the error names the host.
    const https = await failure(
      workspaces({ github: { cloneUrl: `https://127.0.0.1:${port}/{owner}/{repo}.git` } }, env).prepare({ github: 'acme/tool' }),
    );
    expect(https.code).toBe('SourceUnavailable');
    expect(https.retryable).toBe(true);
    // A template that puts the token where git echoes it back: scrubbed all the same.
    const echoed = await failure(
      workspaces({ github: { cloneUrl: path.join(dir, token, '{owner}/{repo}.git') } }, env).prepare({ github: 'acme/tool' }),
    );
    expect(echoed.code).toBe('SourceUnavailable');
    expect(echoed.message).toContain('***');
    // A URL carrying credentials is refused before git sees it.
    const inUrl = await failure(
      workspaces({ allowedGitSources: ['https://127.0.0.1/'] }).prepare({ git: `https://${token}@127.0.0.1/x.git` }),
    );
    expect(inUrl.code).toBe('SourceNotAllowed');
    for (const error of [https, echoed, inUrl]) {
      const text = `${error.message}\n${error.stack ?? ''}`;
      expect(text).not.toContain(token);
      expect(text).not.toContain(Buffer.from(`x-access-token:${token}`).toString('base64'));
    }
  });

  it('sends the GitHub token to the clone host only as a header, and keeps it out of the error', async () => {
    const token = 'ghp_HeaderToken0987654321';
    const tls = selfSignedCertificate();
    const seen: Array<string | undefined> = [];
    const server = https.createServer({ key: tls.key, cert: tls.cert }, (request, response) => {
      seen.push(request.headers.authorization);
      response.writeHead(404).end('no such repository');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as net.AddressInfo;
      const env = { ...process.env, GITHUB_TOKEN: token, GIT_SSL_CAINFO: tls.certFile };
      const ws = workspaces({ github: { cloneUrl: `https://127.0.0.1:${port}/{owner}/{repo}.git` } }, env);
      const error = await failure(ws.prepare({ github: 'acme/tool' }));
      expect(error.code).toBe('SourceUnavailable');
      expect(error.retryable).toBe(false);
      expect(error.message).toContain('github:acme/tool');
      expect(error.message).not.toContain(token);
      expect(seen[0]).toBe(`Basic ${Buffer.from(`x-access-token:${token}`).toString('base64')}`);
    } finally {
      server.close();
    }
  });

  it('refuses a repository whose checkout exceeds limits.maxTreeBytes', async () => {
    const error = await failure(workspaces({ limits: { maxTreeBytes: 20 } }).prepare({ git: repo.url }));
    expect(error.code).toBe('SourceUnavailable');
    expect(error.message).toContain('maxTreeBytes');
  });

  it('two concurrent prepares of one repository share one mirror', async () => {
    const dataDir = path.join(dir, 'shared');
    const a = new Workspaces({ dataDir, allowedGitSources: [remotes] });
    const b = new Workspaces({ dataDir, allowedGitSources: [remotes] });
    const [first, second] = await Promise.all([a.prepare({ git: repo.url }), b.prepare({ git: repo.url, branch: 'feature' })]);
    expect(first.baseCommit).toBe(repo.commits.main);
    expect(second.baseCommit).toBe(repo.commits.feature);
    const mirrors = fs.readdirSync(path.join(dataDir, 'mirrors'));
    expect(mirrors).toHaveLength(1);
    const mirror = path.join(dataDir, 'mirrors', mirrors[0]!);
    // Both commits are in the one mirror. Which refs it has depends on who fetched first: main is
    // an ancestor of feature, so a prepare that finds its commit already there skips its fetch.
    for (const commit of [repo.commits.main!, repo.commits.feature!]) expect(git(mirror, 'cat-file', '-t', commit)).toBe('commit');
  });
});

describe('open and capture', () => {
  it('captures created, modified, deleted and binary files, step by step and cumulatively', async () => {
    const ws = workspaces();
    const source = { git: repo.url };
    const { baseCommit } = await ws.prepare(source);
    const opened = await ws.open('capture-1', source, baseCommit, undefined);
    expect(read(opened.path, 'src/main.ts')).toBe('export const answer = 41;\n');

    writeFiles(opened.path, {
      'src/main.ts': 'export const answer = 42;\n',
      'src/new.ts': 'one\ntwo\n',
      'logo.bin': Buffer.from([9, 0, 9]),
    });
    fs.rmSync(path.join(opened.path, 'src/old.ts'));
    writeFiles(opened.path, { 'build/out.js': 'ignored\n' });
    const first = await ws.capture('capture-1', baseCommit, opened.tree);
    expect(first.changed).toBe(true);
    expect(first.stepPatch).toBe(first.patch);
    expect(first.files).toEqual([
      { path: 'logo.bin', changeType: 'modified', additions: 0, deletions: 0 },
      { path: 'src/main.ts', changeType: 'modified', additions: 1, deletions: 1 },
      { path: 'src/new.ts', changeType: 'created', additions: 2, deletions: 0 },
      { path: 'src/old.ts', changeType: 'deleted', additions: 0, deletions: 1 },
    ]);
    expect(first.patch).toContain('GIT binary patch');
    expect(first.patch).not.toContain('build/out.js');

    writeFiles(opened.path, { 'src/new.ts': 'one\ntwo\nthree\n' });
    const second = await ws.capture('capture-1', baseCommit, first.tree);
    expect(second.stepPatch).toContain('+three');
    expect(second.stepPatch).not.toContain('src/main.ts');
    expect(second.patch).toContain('src/main.ts');
    expect(second.files.find((f) => f.path === 'src/new.ts')).toEqual({
      path: 'src/new.ts',
      changeType: 'created',
      additions: 3,
      deletions: 0,
    });

    const idle = await ws.capture('capture-1', baseCommit, second.tree);
    expect(idle).toEqual({ tree: second.tree, changed: false, stepPatch: '', patch: second.patch, files: second.files });
  });

  it('reuses a tree that matches, and rebuilds one that does not', async () => {
    const ws = workspaces();
    const source = { git: repo.url };
    const { baseCommit } = await ws.prepare(source);
    const opened = await ws.open('reuse-1', source, baseCommit, undefined);
    writeFiles(opened.path, { 'README.md': '# app, changed\n', 'build/cache': 'kept while the tree is reused\n' });
    const change = await ws.capture('reuse-1', baseCommit, opened.tree);

    const again = await ws.open('reuse-1', source, baseCommit, change.patch);
    expect(again).toEqual({ path: opened.path, tree: change.tree });
    expect(fs.existsSync(path.join(opened.path, 'build/cache'))).toBe(true);

    // The recorded change says nothing happened (a step that failed before it was recorded): back to base.
    writeFiles(opened.path, { 'stray.txt': 'left by a dead step\n' });
    const reset = await ws.open('reuse-1', source, baseCommit, undefined);
    expect(reset.tree).toBe(opened.tree);
    expect(read(opened.path, 'README.md')).toBe('# app\n');
    expect(fs.existsSync(path.join(opened.path, 'stray.txt'))).toBe(false);
    expect(fs.existsSync(path.join(opened.path, 'build/cache'))).toBe(false);
  });

  it('rebuilds the tree from base + patch on a fresh data directory (another worker)', async () => {
    const source = { git: repo.url, branch: 'feature' };
    const first = workspaces();
    const { baseCommit } = await first.prepare(source);
    const opened = await first.open('moved-1', source, baseCommit, undefined);
    writeFiles(opened.path, {
      'src/feature.ts': 'export const feature = false;\n',
      'docs/new.md': 'new\n',
      'logo.bin': Buffer.from([7, 0, 7, 0]),
    });
    fs.rmSync(path.join(opened.path, 'README.md'));
    const change = await first.capture('moved-1', baseCommit, opened.tree);

    const other = workspaces(); // never prepared: no mirror, no tree
    const rebuilt = await other.open('moved-1', source, baseCommit, change.patch);
    expect(rebuilt.path).not.toBe(opened.path);
    expect(rebuilt.tree).toBe(change.tree);
    expect(rebuilt.branch).toBe('feature');
    expect(read(rebuilt.path, 'src/feature.ts')).toBe('export const feature = false;\n');
    expect(read(rebuilt.path, 'docs/new.md')).toBe('new\n');
    expect(fs.readFileSync(path.join(rebuilt.path, 'logo.bin'))).toEqual(Buffer.from([7, 0, 7, 0]));
    expect(fs.existsSync(path.join(rebuilt.path, 'README.md'))).toBe(false);
    // Carrying on there: the next capture is cumulative from base as before.
    writeFiles(rebuilt.path, { 'docs/new.md': 'newer\n' });
    const next = await other.capture('moved-1', baseCommit, rebuilt.tree);
    expect(next.files.map((f) => `${f.changeType} ${f.path}`)).toEqual([
      'deleted README.md',
      'created docs/new.md',
      'modified logo.bin',
      'modified src/feature.ts',
    ]);

    await other.remove('moved-1');
    expect(fs.existsSync(rebuilt.path)).toBe(false);
  });

  it('rebuilds on another worker after the branch moved on or was deleted, while the base commit is still in the repository', async () => {
    const remote = makeRemote(path.join(dir, 'remotes'), 'moving', { 'a.txt': 'a\n' }, { topic: { 't.txt': 't\n' } });
    const source = { git: remote.url, branch: 'topic' };
    const { baseCommit } = await workspaces().prepare(source);
    // main moves on past topic's base, then topic is deleted: its commit stays reachable from main.
    git(remote.url, 'update-ref', 'refs/heads/main', baseCommit);
    git(remote.url, 'update-ref', '-d', 'refs/heads/topic');
    const opened = await workspaces().open('moving-1', source, baseCommit, undefined);
    expect(read(opened.path, 't.txt')).toBe('t\n');
    // A base commit nowhere in the repository any more: a clear, final answer.
    const error = await failure(workspaces().open('moving-2', { git: remote.url }, 'f'.repeat(40), undefined));
    expect(error.code).toBe('SourceUnavailable');
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('f'.repeat(40));
  });

  it('carries a text file that is not UTF-8 byte-exact, as a binary patch', async () => {
    const source = { git: repo.url };
    const ws = workspaces();
    const { baseCommit } = await ws.prepare(source);
    const opened = await ws.open('latin1-1', source, baseCommit, undefined);
    const latin1 = Buffer.from('caf\xe9 cr\xe8me\n', 'latin1');
    writeFiles(opened.path, { 'docs/menu [fr].txt': latin1, 'src/main.ts': 'export const answer = 42;\n' });
    const change = await ws.capture('latin1-1', baseCommit, opened.tree);
    expect(change.patch).toContain('GIT binary patch');
    expect(change.patch).toContain('+export const answer = 42;');
    expect(change.files.map((f) => f.path)).toEqual(['docs/menu [fr].txt', 'src/main.ts']);
    const rebuilt = await workspaces().open('latin1-1', source, baseCommit, change.patch);
    expect(rebuilt.tree).toBe(change.tree);
    expect(fs.readFileSync(path.join(rebuilt.path, 'docs/menu [fr].txt'))).toEqual(latin1);
    // Reopened where it was made: the same patch again, so the tree is reused.
    expect(await ws.open('latin1-1', source, baseCommit, change.patch)).toEqual({ path: opened.path, tree: change.tree });
  });

  it("never runs what a step wrote into the tree's git configuration (filters, fsmonitor)", async () => {
    const ws = workspaces();
    const source = { git: repo.url };
    const { baseCommit } = await ws.prepare(source);
    const opened = await ws.open('tamper-1', source, baseCommit, undefined);
    const marker = path.join(dir, 'filter-ran');
    // What a repository's test script could do inside the tree: a clean filter runs on `git add`.
    fs.appendFileSync(
      path.join(opened.path, '.git/config'),
      `[filter "evil"]\n\tclean = touch ${marker}; cat\n[core]\n\tfsmonitor = touch ${marker}\n`,
    );
    writeFiles(opened.path, { '.gitattributes': '* filter=evil\n', 'README.md': '# changed\n' });
    const change = await ws.capture('tamper-1', baseCommit, opened.tree);
    expect(change.files.map((f) => f.path)).toEqual(['.gitattributes', 'README.md']);
    expect(fs.existsSync(marker)).toBe(false);
  });

  it('bounds every git command by limits.gitTimeoutMs: a retryable failure, not a hang', async () => {
    const error = await failure(workspaces({ limits: { gitTimeoutMs: 1 } }).prepare({ git: repo.url }));
    expect(error.retryable).toBe(true);
    expect(error.message).toContain('timed out after 1 ms');
  });

  it('takes over a mirror lock left by a process that died', async () => {
    const dataDir = path.join(dir, 'stale-lock');
    const ws = new Workspaces({ dataDir, allowedGitSources: [remotes], limits: { gitTimeoutMs: 60_000 } });
    await ws.prepare({ git: repo.url });
    const [mirror] = fs.readdirSync(path.join(dataDir, 'mirrors'));
    // A pid that cannot be running (above Linux's pid_max), on this host.
    fs.writeFileSync(path.join(dataDir, 'mirrors', `${mirror}.lock`), `${2 ** 22 + 1} ${os.hostname()}`);
    await expect(ws.prepare({ git: repo.url, branch: 'feature' })).resolves.toMatchObject({ baseCommit: repo.commits.feature });
  });

  it('cancels on an aborted signal with a retryable GitFailed', async () => {
    const ws = workspaces();
    const error = await failure(ws.prepare({ git: repo.url }, { signal: AbortSignal.abort() }));
    expect(error.code).toBe('GitFailed');
    expect(error.retryable).toBe(true);
  });

  it('fails the capture with ChangeTooLarge when the cumulative patch exceeds maxChangeBytes', async () => {
    const ws = workspaces({ limits: { maxChangeBytes: 1_000 } });
    const source = { git: repo.url };
    const { baseCommit } = await ws.prepare(source);
    const opened = await ws.open('large-1', source, baseCommit, undefined);
    writeFiles(opened.path, { 'big.txt': 'x'.repeat(80).concat('\n').repeat(60) });
    const error = await failure(ws.capture('large-1', baseCommit, opened.tree));
    expect(error.code).toBe('ChangeTooLarge');
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('maxChangeBytes');
  });
});

describe('publish', () => {
  it('pushes one deterministic commit to andon/<session>, idempotently, from any worker', async () => {
    const remote = makeRemote(path.join(dir, 'remotes'), 'publish', { 'a.txt': 'a\n', 'b.bin': BINARY });
    const source = { git: remote.url };
    const ws = workspaces();
    const { baseCommit } = await ws.prepare(source);
    const opened = await ws.open('sess:pub-1', source, baseCommit, undefined);
    writeFiles(opened.path, { 'a.txt': 'a, fixed\n', 'b.bin': Buffer.from([1, 0, 1]) });
    const { patch } = await ws.capture('sess:pub-1', baseCommit, opened.tree);
    const change = { baseCommit, patch, message: 'Fix a\n\nBy andon.', date: '2026-12-04T10:00:00.000Z' };

    const first = await ws.publish('sess:pub-1', source, change);
    expect(first.branch).toBe('andon/sess-pub-1');
    expect(sessionBranch('sess:pub-1')).toBe(first.branch);
    const again = await ws.publish('sess:pub-1', source, change);
    const elsewhere = await workspaces().publish('sess:pub-1', source, change);
    expect(again).toEqual(first);
    expect(elsewhere).toEqual(first);

    expect(git(remote.url, 'for-each-ref', '--format=%(refname) %(objectname)', 'refs/heads/andon')).toBe(
      `refs/heads/andon/sess-pub-1 ${first.commit}`,
    );
    expect(git(remote.url, 'rev-parse', `${first.commit}^`)).toBe(baseCommit);
    expect(git(remote.url, 'show', `${first.commit}:a.txt`)).toBe('a, fixed');
    expect(git(remote.url, 'log', '-1', '--format=%an <%ae> %at %s', first.commit)).toBe(
      `andon <andon@localhost> ${Date.parse(change.date) / 1000} Fix a`,
    );
  });

  it('answers PushRejected, without forcing, when the branch already holds another commit', async () => {
    const remote = makeRemote(path.join(dir, 'remotes'), 'moved', { 'a.txt': 'a\n' });
    const source = { git: remote.url };
    const ws = workspaces();
    const { baseCommit } = await ws.prepare(source);
    git(remote.url, 'update-ref', 'refs/heads/andon/moved-1', baseCommit);
    const change = { baseCommit, patch: '', message: 'Nothing', date: '2026-12-04T10:00:00Z' };
    const error = await failure(ws.publish('moved-1', source, change));
    expect(error.code).toBe('PushRejected');
    expect(error.retryable).toBe(false);
    expect(error.message).toContain('andon/moved-1');
    expect(git(remote.url, 'rev-parse', 'refs/heads/andon/moved-1')).toBe(baseCommit);
  });
});

describe('resolveInTree', () => {
  const tree = path.join(dir, 'tree');
  const outside = path.join(dir, 'outside');
  beforeAll(() => {
    writeFiles(tree, { 'src/a.ts': 'a\n', '.git/config': '' });
    writeFiles(outside, { 'secret.txt': 'secret\n' });
    fs.symlinkSync(outside, path.join(tree, 'escape'));
    fs.symlinkSync(path.join(tree, 'src'), path.join(tree, 'alias'));
    fs.symlinkSync(path.join(tree, '.git'), path.join(tree, 'gitlink'));
    // A chain of dangling links whose end is outside: writing through `chain` would create outside/made.
    fs.symlinkSync('chain-end', path.join(tree, 'chain'));
    fs.symlinkSync(path.join(outside, 'made'), path.join(tree, 'chain-end'));
  });

  it('answers absolute real paths inside the tree, for files that exist and files to create', () => {
    const real = fs.realpathSync(tree);
    expect(resolveInTree(tree, 'src/a.ts')).toBe(path.join(real, 'src/a.ts'));
    expect(resolveInTree(tree, './src/new/b.ts')).toBe(path.join(real, 'src/new/b.ts'));
    expect(resolveInTree(tree, 'alias/a.ts')).toBe(path.join(real, 'src/a.ts'));
    expect(resolveInTree(tree, '.')).toBe(real);
  });

  it.each([
    ['../outside/secret.txt', '".."'],
    ['src/../../outside', '".."'],
    ['/etc/passwd', 'absolute'],
    ['.git/config', '.git'],
    ['src/.GIT/hooks', '.git'],
    ['escape/secret.txt', 'symbolic link'],
    ['escape', 'symbolic link'],
    ['gitlink/config', '.git'],
    ['chain', 'leads nowhere'],
    ['chain/x', 'leads nowhere'],
  ])('refuses %s with PathOutsideTree', (relative, why) => {
    let caught: unknown;
    try {
      resolveInTree(tree, relative);
    } catch (error) {
      caught = error;
    }
    expect(WorkspaceError.isInstance(caught) && caught.code).toBe('PathOutsideTree');
    expect((caught as Error).message).toContain(why);
  });
});

/** A throwaway certificate for 127.0.0.1 (git trusts it through GIT_SSL_CAINFO). */
function selfSignedCertificate(): { key: string; cert: string; certFile: string } {
  const keyFile = path.join(dir, 'tls.key');
  const certFile = path.join(dir, 'tls.crt');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      keyFile,
      '-out',
      certFile,
    ],
    { stdio: 'ignore' },
  );
  return { key: fs.readFileSync(keyFile, 'utf8'), cert: fs.readFileSync(certFile, 'utf8'), certFile };
}

async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
