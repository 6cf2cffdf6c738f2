#!/usr/bin/env node
'use strict';
// Read-only: which release of the demo service is live.
const { service, releases, rolledBack } = require('./common');

const name = service(process.argv);
const { current, previous } = releases(name);
if (rolledBack(name)) console.log(`${name}: release ${previous} (rolled back from ${current})`);
else console.log(`${name}: release ${current} (previous ${previous})`);
