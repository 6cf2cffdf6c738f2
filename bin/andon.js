#!/usr/bin/env node
'use strict';
// The CLI runs from its TypeScript sources through tsx, so there is no build step to forget.
require('tsx/cjs');
require('../src/cli/main.ts').run(process.argv);
