/**
 * `npm run bench -- <ops|park|growth|workspace> [flags]`: andon's performance budgets, measured side by side with
 * bare Temporal on a dev server of the bench's own. See the README, "Benchmarks".
 */
import { growthMain } from './growth';
import { opsMain } from './ops';
import { parkMain } from './park';
import { runMain } from './support';
import { workspaceMain } from './workspace';

const USAGE = `usage: npm run bench -- <command> [flags]

  ops    each session operation vs Temporal's own round trip for it, plus the history budget
         --iterations 50  --warmup 5  --sqlite-pragma <p>...
  park   N sessions parked awaiting approval, then all approved and finished; worker memory;
         then the bare-Temporal baseline of the same shape, side by side
         --sessions 10000  --concurrency 50  --max-cached-workflows <n, default 500>  --worker-heap-mb <n>
         --script <file>  --stall-seconds 120  --samples <file.json>  --sqlite-pragma <p>...  --skip-baseline
         --checkpoints 1000,5000,10000 (approve latency of a sample and worker RSS as the parked count
         reaches each)  --checkpoint-sample 20  --workers 2 (a second worker process on the same queue)
  growth history events, history and carried bytes, largest payload per session as chat and plans grow
         --messages 0,10,100,1000  --steps 3,10,30  --sqlite-pragma <p>...
  workspace  a code session's working tree for a generated repository vs a plain git clone
         --files 10000  --iterations 5  --dir <parent directory, default: the OS temp dir>`;

const [command, ...rest] = process.argv.slice(2);
if (command === 'ops') runMain(() => opsMain(rest));
else if (command === 'park') runMain(() => parkMain(rest));
else if (command === 'growth') runMain(() => growthMain(rest));
else if (command === 'workspace') runMain(() => workspaceMain(rest));
else {
  console.error(USAGE);
  process.exit(command === undefined || command === '--help' || command === '-h' ? 0 : 2);
}
