#!/usr/bin/env node
// Entry point of the management tool (community, terminals, residents, fleet).
'use strict';
const path = require('node:path');
const fs = require('node:fs');

const compiled = path.join(__dirname, '..', 'dist', 'provisioning', 'cli', 'index.js');
if (fs.existsSync(compiled)) {
  require(compiled).main(process.argv.slice(2));
} else {
  require('tsx/cjs/api').register();
  require(path.join(__dirname, '..', 'provisioning', 'cli', 'index.ts')).main(process.argv.slice(2));
}
