import type { Command } from 'commander';
import { changeSet } from '../../client/change-set';
import type { ChangedFile, TimelineEvent } from '../../session/schema';
import type { Cli } from '../context';
import { changeLine, changeStat } from '../format';
import { wholeTimeline } from './show';

type DiffOptions = { stat?: boolean };

/**
 * `andon diff <id>`: a code session's change as a unified diff (`git apply` takes it), or with
 * `--stat` file by file. Once the session completed that is its final change set (the whole change
 * from the base commit); before, the change sets of the steps so far, in order.
 */
export function register(program: Command, cli: Cli): void {
  program
    .command('diff')
    .description("print a code session's change as a unified diff (from its base commit)")
    .argument('<id>', 'session id')
    .option('--stat', 'only the changed files with their added and removed lines')
    .action(
      cli.action<DiffOptions>(async ([id], options) => {
        const session = cli.session(id as string);
        const view = await session.info();
        const final = changeSet(view);
        const patches = final ? [final.unidiffPatch] : stepPatches(await wholeTimeline(session));
        const patch = patches.map((p) => (p.endsWith('\n') ? p : `${p}\n`)).join('');
        const files: ChangedFile[] = view.workspace?.changes.length
          ? view.workspace.changes
          : patch
            ? changeSet(patch)
                .parsed()
                .files.map(({ path, changeType, additions, deletions }) => ({ path, changeType, additions, deletions }))
            : [];
        const result = {
          sessionId: view.id,
          ...(view.workspace
            ? { source: view.workspace.source, branch: view.workspace.branch, baseCommit: view.workspace.baseCommit }
            : {}),
          complete: final !== undefined,
          files,
          ...(options.stat ? {} : { patch }),
        };
        cli.print(result, () => {
          if (files.length === 0 && !patch) return `session ${view.id} has no changes${view.workspace ? '' : ' (it has no source)'}`;
          if (options.stat) return [...files.map(changeLine), changeStat(files)].join('\n');
          return patch.trimEnd();
        });
      }),
    );
}

/** The `changeSet` artifacts of the timeline, oldest first: each step's own patch. */
function stepPatches(events: TimelineEvent[]): string[] {
  return events.flatMap((event) =>
    'artifacts' in event
      ? event.artifacts.flatMap((artifact) => (artifact.type === 'changeSet' ? [artifact.gitPatch.unidiffPatch] : []))
      : [],
  );
}
