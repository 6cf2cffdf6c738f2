/**
 * `npm run temporal:install-server` (and `npm test`, before jest): makes sure the Temporal server
 * and SQL tool the cluster tests run are available, building them on first use, and prints where.
 * Separate from `temporal:install`: the dev server needs only the CLI.
 */
import { findTemporalServer } from './server-binary';

findTemporalServer({ log: (line) => console.error(line) })
  .then((binaries) => console.error(`Temporal server: ${binaries.server}\nTemporal SQL tool: ${binaries.sqlTool}`))
  .catch((error: Error) => {
    console.error(error.message);
    process.exit(1);
  });
