#!/usr/bin/env node
// Entry point of the terminal runtime and its tools. Uses the compiled build (dist/) when present,
// else runs the TypeScript sources through tsx (development checkouts).
'use strict';
const path = require('node:path');
const fs = require('node:fs');

const compiled = path.join(__dirname, '..', 'dist', 'runtime', 'cli.js');
if (fs.existsSync(compiled)) {
  require(compiled).main(process.argv.slice(2));
} else {
  require('tsx/cjs/api').register();
  require(path.join(__dirname, '..', 'runtime', 'cli.ts')).main(process.argv.slice(2));
}
