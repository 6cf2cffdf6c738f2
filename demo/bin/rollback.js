#!/usr/bin/env node
'use strict';
// The demo's remediation: "rolls back" the service by recording it in demo/state/<service>.state.
// Idempotent, because a failed session step may be retried after it already did its work.
const fs = require('node:fs');
const { STATE, service, stateFile, marker, releases, rolledBack } = require('./common');

const name = service(process.argv);
const { current, previous } = releases(name);
if (marker(name, 'rollback-fails')) {
  console.error(`rollback of ${name} to ${previous} failed: deployment controller refused the change (demo switch ${name}.rollback-fails)`);
  process.exit(1);
}
if (rolledBack(name)) {
  console.log(`${name} is already rolled back to ${previous}`);
  process.exit(0);
}
fs.mkdirSync(STATE, { recursive: true });
fs.appendFileSync(stateFile(name), `rolled back ${name} from ${current} to ${previous} at ${new Date().toISOString()}\n`);
console.log(`rolled back ${name} from ${current} to ${previous}`);
