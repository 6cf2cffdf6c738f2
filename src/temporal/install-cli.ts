/**
 * `npm run temporal:install` (and `pretest`): makes sure the pinned Temporal CLI is available,
 * building it on first use, and prints where it is.
 */
import { findTemporalCli } from './cli-binary';

findTemporalCli({ log: (line) => console.error(line) })
  .then((binary) => console.error(`Temporal CLI: ${binary}`))
  .catch((error: Error) => {
    console.error(error.message);
    process.exit(1);
  });
