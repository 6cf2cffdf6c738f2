/**
 * `npm run bench -- workspace [--files 10000] [--iterations 5] [--dir <parent directory>]`
 *
 * The time to prepare a code session's working tree for a generated repository (a bare "remote"
 * on a local path, reached over the file:// transport as a remote would be), next to a plain
 * `git clone` of the same repository:
 *
 *   first session   Workspaces.prepare + open on an empty data directory: ls-remote, the mirror's
 *                   fetch, the session's `clone --shared` and checkout (also: another worker
 *                   taking over a session)
 *   later session   prepare + open for a new session on the same worker: the mirror is cached
 *   reopen          open for the same session again, tree unchanged (every step of a session)
 *   git clone       `git clone file://...` into a new directory
 *
 * Needs no Temporal: the workspace library is plain git. Mostly file writes: on a machine whose disk
 * is busy with other work, `--dir /dev/shm` (tmpfs) shows git's own cost.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { parseArgs } from 'node:util';
import { Workspaces } from '../src/workspace';
import { machine, ms, onCleanup, percentile, table } from './support';

const run = promisify(execFile);

export async function workspaceMain(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      files: { type: 'string', default: '10000' },
      iterations: { type: 'string', default: '5' },
      dir: { type: 'string', default: os.tmpdir() },
    },
  });
  const files = Number(values.files);
  const iterations = Number(values.iterations);
  if (!Number.isInteger(files) || files < 1) throw new Error('--files: expected a positive integer');
  if (!Number.isInteger(iterations) || iterations < 1) throw new Error('--iterations: expected a positive integer');

  const dir = fs.mkdtempSync(path.join(path.resolve(values.dir), 'andon-bench-workspace-'));
  onCleanup(() => fs.rmSync(dir, { recursive: true, force: true }));
  const remote = path.join(dir, 'remote.git');
  const { bytes } = await generateRepository(remote, files);
  const { stdout: gitVersion } = await run('git', ['--version']);
  console.log(
    `workspace: a generated repository of ${files} files (${(bytes / 1024 / 1024).toFixed(1)} MiB), ${iterations} iterations, in ${dir}`,
  );
  console.log(`machine: ${machine()}, ${gitVersion.trim()}`);

  const source = { git: `file://${remote}` };
  const config = (dataDir: string) => ({ dataDir, allowedGitSources: [dir] });
  const samples: Record<'clone' | 'first' | 'later' | 'reopen', number[]> = { clone: [], first: [], later: [], reopen: [] };
  const time = async (fn: () => Promise<unknown>) => {
    const start = performance.now();
    await fn();
    return performance.now() - start;
  };

  const later = new Workspaces(config(path.join(dir, 'later')));
  await later.open('warm', source, (await later.prepare(source)).baseCommit, undefined);
  for (let i = 0; i < iterations; i++) {
    // Alternating, so load from anything else on the machine falls on every side alike.
    samples.clone.push(await time(() => run('git', ['clone', '--quiet', '--', source.git, path.join(dir, `clone-${i}`)])));
    const first = new Workspaces(config(path.join(dir, `first-${i}`)));
    samples.first.push(await time(async () => first.open('s', source, (await first.prepare(source)).baseCommit, undefined)));
    samples.later.push(await time(async () => later.open(`s-${i}`, source, (await later.prepare(source)).baseCommit, undefined)));
    const { baseCommit } = await later.prepare(source);
    samples.reopen.push(await time(() => later.open(`s-${i}`, source, baseCommit, undefined)));
    fs.rmSync(path.join(dir, `clone-${i}`), { recursive: true, force: true });
    fs.rmSync(path.join(dir, `first-${i}`), { recursive: true, force: true });
    await later.remove(`s-${i}`);
  }

  const p50 = (key: keyof typeof samples) => percentile(samples[key], 50);
  const min = (key: keyof typeof samples) => Math.min(...samples[key]);
  const ratio = (key: keyof typeof samples) =>
    `${(p50(key) / p50('clone')).toFixed(2)}x   (best runs: ${(min(key) / min('clone')).toFixed(2)}x)`;
  console.log('\nratio to a plain git clone (p50; best runs, less sensitive to a busy machine):');
  console.log(`  first session (mirror + tree)   ${ratio('first')}`);
  console.log(`  later session (cached mirror)   ${ratio('later')}`);
  console.log(`  reopen (tree reused)            ${ratio('reopen')}`);
  const rows = [['ms', 'p50', 'min', 'max']];
  const labels = { clone: 'git clone file://', first: 'first session', later: 'later session', reopen: 'reopen' } as const;
  for (const key of ['clone', 'first', 'later', 'reopen'] as const) {
    rows.push([labels[key], ms(p50(key)), ms(min(key)), ms(Math.max(...samples[key]))]);
  }
  console.log(`\n${table(rows)}`);
  return 0;
}

/** A bare repository whose main holds `count` files of 100-2,000 bytes in 100 directories, built with fast-import. */
async function generateRepository(bare: string, count: number): Promise<{ bytes: number }> {
  await run('git', ['init', '--quiet', '--bare', '--', bare]);
  const parts: Buffer[] = [];
  const message = 'generated\n';
  parts.push(Buffer.from(`commit refs/heads/main\ncommitter Bench <bench@localhost> 1700000000 +0000\ndata ${message.length}\n${message}`));
  let seed = 42;
  let bytes = 0;
  for (let i = 0; i < count; i++) {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    const lines = 3 + (seed % 60);
    let content = '';
    for (let l = 0; l < lines; l++) content += `export const value${i}_${l} = ${(seed + l) % 9973}; // line ${l} of file ${i}\n`;
    const body = Buffer.from(content);
    bytes += body.length;
    parts.push(
      Buffer.from(`M 100644 inline src/d${String(i % 100).padStart(2, '0')}/file${i}.ts\ndata ${body.length}\n`),
      body,
      Buffer.from('\n'),
    );
  }
  parts.push(Buffer.from('\n'));
  await new Promise<void>((resolve, reject) => {
    const child = execFile('git', ['fast-import', '--quiet'], { env: { ...process.env, GIT_DIR: bare } }, (error) =>
      error ? reject(error) : resolve(),
    );
    child.stdin!.end(Buffer.concat(parts));
  });
  await run('git', ['symbolic-ref', 'HEAD', 'refs/heads/main'], { env: { ...process.env, GIT_DIR: bare } });
  return { bytes };
}
