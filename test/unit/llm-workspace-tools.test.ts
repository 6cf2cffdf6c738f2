/**
 * The LLM agent's workspace tools on a real temporary tree: what each does, the bounds they keep,
 * and every way out of the tree refused with a reason the model can read (`..`, absolute paths, a
 * symlink to /etc, .git/config), with nothing written outside.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LlmBackendConfig, checkArguments, compileGlob, createTools, type AgentTool } from '../../src/agents/llm';
import { NotAllowedError, confineToTree } from '../../src/agents/runbook/sandbox';

const config = LlmBackendConfig.parse({
  kind: 'llm',
  provider: 'openai',
  model: 'gpt-4.1-mini',
  workspace: { commands: ['node test.js', 'node pwd.js'], limits: { maxListEntries: 5, maxSearchMatches: 3, maxReadBytes: 200 } },
});
const tools = createTools(config);
let tree: string;
let outside: string;

async function call(
  name: string,
  args: Record<string, unknown>,
  where: { workspace?: string } = { workspace: tree },
): Promise<{ ok: boolean; output: string }> {
  const { workspace } = where;
  const tool = tools.get(name) as AgentTool;
  const check = checkArguments(tool, name, args);
  if (!check.ok) throw new Error(`${check.field}: ${check.message}`);
  try {
    return await tool.run(check.arguments, { signal: new AbortController().signal, heartbeat: () => undefined, workspace });
  } catch (error) {
    // The agent hands refusals to the model as the call's error output: so do we.
    if (error instanceof NotAllowedError) return { ok: false, output: error.message };
    throw error;
  }
}

beforeEach(() => {
  tree = mkdtempSync(path.join(tmpdir(), 'andon-tree-'));
  outside = mkdtempSync(path.join(tmpdir(), 'andon-outside-'));
  execFileSync('git', ['init', '-q', tree]);
  mkdirSync(path.join(tree, 'src/lib'), { recursive: true });
  writeFileSync(path.join(tree, 'src/cart.js'), 'const a = 1;\nconst total = a + 1;\nmodule.exports = { total };\n');
  writeFileSync(path.join(tree, 'src/lib/money.js'), 'exports.cents = (n) => Math.round(n * 100);\n');
  writeFileSync(path.join(tree, 'README.md'), '# shop\n');
  writeFileSync(path.join(tree, 'logo.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0x0d]));
  writeFileSync(path.join(tree, 'test.js'), 'console.log("ok 1 - total"); process.exit(Number(process.argv[2] ?? 0));\n');
  writeFileSync(path.join(outside, 'secret.txt'), 'secret\n');
});
afterEach(() => {
  rmSync(tree, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
});

describe('the tools of code sessions', () => {
  it('are marked: they need a working tree, and the ones that change files say so', () => {
    const marked = [...tools.values()].filter((t) => t.workspace).map((t) => [t.name, t.changesFiles ?? false]);
    expect(marked).toEqual([
      ['listFiles', false],
      ['searchFiles', false],
      ['readFile', false],
      ['editFile', true],
      ['applyPatch', true],
      ['writeFile', true],
      ['runCommand', true],
    ]);
  });

  it('refuse to run without a working tree', async () => {
    expect(await call('listFiles', {}, {})).toEqual({ ok: false, output: expect.stringContaining('no working tree') });
  });

  it('lists a folder, recursively, by glob, without .git, within the bound', async () => {
    expect((await call('listFiles', {})).output.split('\n')).toEqual(['README.md', 'logo.png', 'src/', 'test.js']);
    expect((await call('listFiles', { path: 'src', recursive: true })).output.split('\n')).toEqual([
      'src/cart.js',
      'src/lib/',
      'src/lib/money.js',
    ]);
    expect((await call('listFiles', { glob: '*.js' })).output.split('\n')).toEqual(['src/cart.js', 'src/lib/money.js', 'test.js']);
    expect((await call('listFiles', { glob: 'src/**/*.{js,ts}' })).output.split('\n')).toEqual(['src/cart.js', 'src/lib/money.js']);
    for (let i = 0; i < 6; i++) writeFileSync(path.join(tree, `f${i}.txt`), '');
    const bounded = (await call('listFiles', {})).output.split('\n');
    expect(bounded).toHaveLength(6);
    expect(bounded[5]).toBe('… and 5 more (narrow the path or the glob)');
  });

  it('searches text files with RE2, skipping binaries and .git, bounded in matches', async () => {
    const found = await call('searchFiles', { pattern: 'total' });
    expect(found.output.split('\n')).toEqual([
      '3 matching lines in 4 files searched; 1 skipped (binary, a symbolic link, or larger than 1048576 bytes)',
      'src/cart.js:2: const total = a + 1;',
      'src/cart.js:3: module.exports = { total };',
      'test.js:1: console.log("ok 1 - total"); process.exit(Number(process.argv[2] ?? 0));',
    ]);
    expect((await call('searchFiles', { pattern: 'repositoryformatversion' })).output).toMatch(/^0 matching lines/);
    writeFileSync(path.join(tree, 'many.txt'), 'x\n'.repeat(10));
    expect((await call('searchFiles', { pattern: '^x$', path: 'many.txt' })).output).toMatch(
      /^10 matching lines in 1 file searched; the first 3 shown\n/,
    );
    expect(await call('searchFiles', { pattern: '(a)\\1' })).toEqual({ ok: false, output: expect.stringContaining('RE2') });
  });

  it('reads a file with line numbers, a line range, and says where to go on past the byte bound', async () => {
    expect((await call('readFile', { path: 'src/cart.js', startLine: 2, endLine: 2 })).output).toBe(
      'src/cart.js (lines 2-2 of 3)\n2| const total = a + 1;',
    );
    writeFileSync(path.join(tree, 'long.txt'), Array.from({ length: 100 }, (_, i) => `line ${i + 1}`).join('\n'));
    const long = await call('readFile', { path: 'long.txt' });
    expect(long.output).toMatch(/^long\.txt \(lines 1-\d+ of 100\)/);
    expect(long.output).toMatch(/read on from startLine \d+$/);
    expect(await call('readFile', { path: 'logo.png' })).toEqual({ ok: false, output: 'logo.png is a binary file' });
    expect(await call('readFile', { path: 'nope.js' })).toEqual({ ok: false, output: 'nope.js does not exist in the working tree' });
  });

  it('edits by exact replacement only when the old text occurs exactly once', async () => {
    expect(await call('editFile', { path: 'src/cart.js', oldText: 'a + 1', newText: 'a + 2' })).toEqual({
      ok: true,
      output: 'edited src/cart.js at line 2: 1 line(s) replaced by 1',
    });
    expect(readFileSync(path.join(tree, 'src/cart.js'), 'utf8')).toContain('const total = a + 2;');
    expect(await call('editFile', { path: 'src/cart.js', oldText: 'nothing like it', newText: 'x' })).toEqual({
      ok: false,
      output: expect.stringContaining('does not occur in src/cart.js'),
    });
    expect(await call('editFile', { path: 'src/cart.js', oldText: 'const', newText: 'let' })).toEqual({
      ok: false,
      output: 'oldText occurs 2 times in src/cart.js: include more surrounding lines so it occurs once',
    });
  });

  it('applies a git diff that changes, creates and deletes files, all or nothing', async () => {
    const patch = [
      'diff --git a/src/cart.js b/src/cart.js',
      '--- a/src/cart.js',
      '+++ b/src/cart.js',
      '@@ -1,3 +1,3 @@',
      ' const a = 1;',
      '-const total = a + 1;',
      '+const total = a + 3;',
      ' module.exports = { total };',
      '--- /dev/null',
      '+++ b/src/new.js',
      '@@ -0,0 +1 @@',
      '+module.exports = 42;',
      '--- a/README.md',
      '+++ /dev/null',
      '@@ -1 +0,0 @@',
      '-# shop',
      '',
    ].join('\n');
    expect(await call('applyPatch', { patch })).toEqual({
      ok: true,
      output: 'applied: changed src/cart.js, created src/new.js, deleted README.md',
    });
    expect(readFileSync(path.join(tree, 'src/cart.js'), 'utf8')).toContain('a + 3');
    expect(readFileSync(path.join(tree, 'src/new.js'), 'utf8')).toBe('module.exports = 42;\n');
    expect(existsSync(path.join(tree, 'README.md'))).toBe(false);

    // The second file's hunk does not fit: the first file stays as it was.
    const broken = [
      '--- a/src/cart.js',
      '+++ b/src/cart.js',
      '@@ -1,3 +1,3 @@',
      ' const a = 1;',
      '-const total = a + 3;',
      '+const total = a + 4;',
      ' module.exports = { total };',
      '--- a/src/lib/money.js',
      '+++ b/src/lib/money.js',
      '@@ -1 +1 @@',
      '-this line is not there',
      '+x',
      '',
    ].join('\n');
    expect(await call('applyPatch', { patch: broken })).toEqual({
      ok: false,
      output: expect.stringContaining('a hunk of src/lib/money.js does not apply'),
    });
    expect(readFileSync(path.join(tree, 'src/cart.js'), 'utf8')).toContain('a + 3');
    expect(await call('applyPatch', { patch: 'not a diff' })).toEqual({ ok: false, output: expect.stringContaining('changes no file') });
  });

  it('tells the model of file system errors without the tree’s place on the worker', async () => {
    const failed = await call('writeFile', { path: 'README.md/inside.txt', content: 'x' });
    expect(failed).toEqual({ ok: false, output: expect.stringMatching(/^(EEXIST|ENOTDIR): .*'\.\/README\.md/) });
    expect(failed.output).not.toContain(tree);
  });

  it('creates files (and folders), and overwrites only when told to', async () => {
    expect(await call('writeFile', { path: 'test/cart.test.js', content: 'ok\n' })).toEqual({
      ok: true,
      output: 'created test/cart.test.js (3 bytes)',
    });
    expect(readFileSync(path.join(tree, 'test/cart.test.js'), 'utf8')).toBe('ok\n');
    expect(await call('writeFile', { path: 'test/cart.test.js', content: 'again\n' })).toEqual({
      ok: false,
      output: expect.stringContaining('exists'),
    });
    expect(await call('writeFile', { path: 'test/cart.test.js', content: 'again\n', overwrite: true })).toMatchObject({ ok: true });
  });

  it('runs allowed commands in the tree, and refuses others', async () => {
    expect(await call('runCommand', { argv: ['node', 'test.js'] })).toEqual({ ok: true, output: '$ node test.js\nexit 0\nok 1 - total' });
    expect(await call('runCommand', { argv: ['node', 'test.js', '3'] })).toMatchObject({
      ok: false,
      output: expect.stringContaining('exit 3'),
    });
    writeFileSync(path.join(tree, 'pwd.js'), 'process.stdout.write(process.cwd())');
    expect(await call('runCommand', { argv: ['node', 'pwd.js'] })).toMatchObject({
      output: expect.stringContaining(path.basename(tree)),
    });
    expect(await call('runCommand', { argv: ['rm', '-rf', '.'] })).toEqual({
      ok: false,
      output: expect.stringContaining('"rm -rf ." is not allowed by workspace.commands'),
    });
  });
});

describe('confinement to the working tree', () => {
  const escapes: [string, string][] = [
    ['../', '".." may not leave the working tree'],
    ['src/../../x.txt', '".." may not leave the working tree'],
    ['/etc/passwd', 'not an absolute one'],
    ['.git/config', 'the .git directory belongs to the workspace'],
    ['.GIT/hooks/pre-commit', 'the .git directory belongs to the workspace'],
  ];

  it.each(escapes)('refuses %s for reading and for writing', async (where, reason) => {
    expect(await call('readFile', { path: where })).toEqual({ ok: false, output: expect.stringContaining(reason) });
    expect(await call('writeFile', { path: where, content: 'x', overwrite: true })).toEqual({
      ok: false,
      output: expect.stringContaining(reason),
    });
    expect(await call('editFile', { path: where, oldText: 'a', newText: 'b' })).toEqual({
      ok: false,
      output: expect.stringContaining(reason),
    });
    expect(await call('listFiles', { path: where })).toEqual({ ok: false, output: expect.stringContaining(reason) });
    expect(await call('searchFiles', { pattern: 'x', path: where })).toEqual({ ok: false, output: expect.stringContaining(reason) });
  });

  it('refuses symlinks out of the tree (to /etc, to another folder, dangling) and into .git', async () => {
    symlinkSync('/etc', path.join(tree, 'etc'));
    symlinkSync(outside, path.join(tree, 'out'));
    symlinkSync(path.join(outside, 'missing.txt'), path.join(tree, 'dangling.txt'));
    symlinkSync(path.join(tree, '.git'), path.join(tree, 'gitdir'));
    expect(await call('readFile', { path: 'etc/passwd' })).toEqual({
      ok: false,
      output: expect.stringContaining('a symbolic link leads outside'),
    });
    expect(await call('readFile', { path: 'out/secret.txt' })).toEqual({ ok: false, output: expect.stringContaining('outside') });
    expect(await call('writeFile', { path: 'out/new.txt', content: 'x' })).toMatchObject({ ok: false });
    expect(await call('writeFile', { path: 'dangling.txt', content: 'x', overwrite: true })).toEqual({
      ok: false,
      output: expect.stringContaining('leads nowhere'),
    });
    expect(await call('writeFile', { path: 'gitdir/config', content: 'x', overwrite: true })).toEqual({
      ok: false,
      output: expect.stringContaining('into the .git directory'),
    });
    expect(existsSync(path.join(outside, 'new.txt'))).toBe(false);
    expect(existsSync(path.join(outside, 'missing.txt'))).toBe(false);
    expect(readFileSync(path.join(tree, '.git/config'), 'utf8')).not.toBe('x');
  });

  it('refuses a patch that reaches outside or into .git, changing nothing', async () => {
    for (const target of ['../outside.txt', '.git/config']) {
      const patch = `--- a/src/cart.js\n+++ b/src/cart.js\n@@ -1 +1 @@\n-const a = 1;\n+const a = 9;\n--- /dev/null\n+++ b/${target}\n@@ -0,0 +1 @@\n+x\n`;
      expect(await call('applyPatch', { patch })).toEqual({ ok: false, output: expect.stringContaining('is refused') });
    }
    expect(readFileSync(path.join(tree, 'src/cart.js'), 'utf8')).toContain('const a = 1;');
  });

  it('follows symlinks that stay inside the tree', () => {
    symlinkSync('src', path.join(tree, 'code'));
    expect(confineToTree(tree, 'code/cart.js')).toBe(path.join(confineToTree(tree, '.'), 'src/cart.js'));
    expect(confineToTree(tree, 'src/new/deep.js')).toBe(path.join(confineToTree(tree, '.'), 'src/new/deep.js'));
  });
});

describe('globs', () => {
  it('match names without a slash and whole paths with one, in linear time', () => {
    expect(compileGlob('*.js')('src/a/b.js')).toBe(true);
    expect(compileGlob('src/*.js')('src/a/b.js')).toBe(false);
    expect(compileGlob('src/**/*.js')('src/b.js')).toBe(true);
    expect(compileGlob('src/**/*.js')('src/a/b.js')).toBe(true);
    expect(compileGlob('?.{md,txt}')('a.txt')).toBe(true);
    expect(compileGlob('a.+(b)')('a.+(b)')).toBe(true);
    expect(compileGlob('*a*a*a*a*a*a*a*a*b')('a'.repeat(5000))).toBe(false);
  });
});
