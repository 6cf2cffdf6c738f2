'use strict';
// Shared by the demo scripts: where the fake service's log and state live. Paths are relative to
// this file, not the working directory, so the scripts behave the same wherever they are run from.
const fs = require('node:fs');
const path = require('node:path');

const DEMO = path.resolve(__dirname, '..');
const STATE = path.join(DEMO, 'state');

function service(argv) {
  const name = argv[2];
  if (!name || !/^[a-z0-9][a-z0-9-]*$/.test(name)) {
    console.error('usage: <script> <service> (lowercase letters, digits and "-")');
    process.exit(2);
  }
  return name;
}

function read(file) {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (error) {
    if (error.code === 'ENOENT') return '';
    throw error;
  }
}

const logFile = (name) => path.join(DEMO, 'logs', `${name}.log`);
const stateFile = (name) => path.join(STATE, `${name}.state`);
/** Test and demo switches: create the file to make the next rollback fail, or the fix not take. */
const marker = (name, what) => fs.existsSync(path.join(STATE, `${name}.${what}`));

/** The release deployed last according to the log, and the one before it. */
function releases(name) {
  const deploys = [...read(logFile(name)).matchAll(/deploy started release=(\S+) \(previous (\S+)\)/g)];
  const last = deploys[deploys.length - 1];
  return last ? { current: last[1], previous: last[2] } : { current: 'unknown', previous: 'unknown' };
}

const rolledBack = (name) => /^rolled back /m.test(read(stateFile(name)));

module.exports = { DEMO, STATE, service, read, logFile, stateFile, marker, releases, rolledBack };
