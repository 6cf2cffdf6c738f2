#!/usr/bin/env node
'use strict';
// The `andon` CLI. Installed from the package, it runs the compiled JavaScript in dist/. In a
// checkout of the repository (which has a tsconfig.json; the package ships none) it runs the
// TypeScript sources through tsx, so changing the CLI needs no build step and never runs a stale one.
const { existsSync } = require('node:fs');
const path = require('node:path');

if (existsSync(path.join(__dirname, '..', 'tsconfig.json'))) {
  require('tsx/cjs');
  require('../src/cli/main.ts').run(process.argv);
} else {
  require('../dist/src/cli/main.js').run(process.argv);
}
