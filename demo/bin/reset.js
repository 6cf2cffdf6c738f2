#!/usr/bin/env node
'use strict';
// Puts the demo back before the incident: forgets rollbacks and demo switches.
const fs = require('node:fs');
const { STATE } = require('./common');

fs.rmSync(STATE, { recursive: true, force: true });
console.log('demo reset: checkout-api is on the bad release again');
