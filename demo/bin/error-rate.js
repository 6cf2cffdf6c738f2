#!/usr/bin/env node
'use strict';
// Read-only: the demo service's error rate since its last deploy. Exits 1 above the threshold
// (second argument, percent, default 5), so it works as a runbook's verify check.
const { service, read, logFile, marker, releases, rolledBack } = require('./common');

const name = service(process.argv);
const threshold = Number(process.argv[3] ?? 5);
const { current } = releases(name);

let errors;
let total;
let since;
if (rolledBack(name) && !marker(name, 'still-failing')) {
  // The fake service has no traffic after a rollback; report what a healthy one would.
  errors = 0;
  total = 100;
  since = 'the rollback';
} else {
  const lines = read(logFile(name)).split('\n');
  const deploy = lines.findLastIndex((line) => line.includes(`deploy finished release=${current}`));
  const requests = lines.slice(deploy + 1).filter((line) => /\s(INFO|WARN|ERROR)\s/.test(line) && /\s\d{3}\s/.test(line));
  errors = requests.filter((line) => /\s5\d\d\s/.test(line)).length;
  total = requests.length;
  since = `release ${current}`;
}
const rate = total === 0 ? 0 : (100 * errors) / total;
const verdict = rate > threshold ? 'ABOVE' : 'below';
console.log(`${name}: error rate ${rate.toFixed(1)}% (${errors}/${total} requests since ${since}), ${verdict} the ${threshold}% threshold`);
process.exit(rate > threshold ? 1 : 0);
