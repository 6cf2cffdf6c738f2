#!/usr/bin/env node
'use strict';
// The demo's remediation: "rolls back" the service by recording it in demo/state/<service>.state.
// Idempotent, because a failed session step may be retried after it already did its work: andon
// gives each plan step's command ANDON_IDEMPOTENCY_KEY (the same on every try of the step) and
// ANDON_ATTEMPT, and the rollback records the key, so a retry finds its own earlier work and does
// not roll back twice.
const fs = require('node:fs');
const { STATE, service, read, stateFile, marker, releases, rolledBack } = require('./common');

const name = service(process.argv);
const { current, previous } = releases(name);
if (marker(name, 'rollback-fails')) {
  console.error(`rollback of ${name} to ${previous} failed: deployment controller refused the change (demo switch ${name}.rollback-fails)`);
  process.exit(1);
}
const key = process.env.ANDON_IDEMPOTENCY_KEY;
const attempt = process.env.ANDON_ATTEMPT ?? '1';
if (key && read(stateFile(name)).includes(` key=${key}\n`)) {
  console.log(`${name} was already rolled back by this step (key ${key}); attempt ${attempt} changes nothing`);
  process.exit(0);
}
if (rolledBack(name)) {
  console.log(`${name} is already rolled back to ${previous}`);
  process.exit(0);
}
fs.mkdirSync(STATE, { recursive: true });
fs.appendFileSync(
  stateFile(name),
  `rolled back ${name} from ${current} to ${previous} at ${new Date().toISOString()}${key ? ` key=${key}` : ''}\n`,
);
console.log(`rolled back ${name} from ${current} to ${previous}`);
