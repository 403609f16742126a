#!/usr/bin/env node
// Runs npm scripts at the same time and waits for all of them: `npm test` runs `typecheck` and `lint`
// so. Each is one single-threaded process (tsc, eslint with type-checked rules), so on two cores they
// take the time of the longer one instead of the sum (~70 s instead of ~110 s on CI's 2-core machine).
//
//   node scripts/together.js SCRIPT...
//
// Each script's output is kept and printed whole when it ends (not interleaved), after a line naming it.
// Exit status 0 when every script succeeded; otherwise 1, after a line naming each that failed. All are
// run to their end either way, so that one run shows every type error and every lint finding.
'use strict';
const { spawn } = require('node:child_process');

const scripts = process.argv.slice(2);
if (scripts.length === 0) {
  process.stderr.write('usage: node scripts/together.js SCRIPT...\n');
  process.exit(2);
}
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

function run(name) {
  return new Promise((resolve) => {
    const chunks = [];
    const child = spawn(npm, ['run', '-s', name], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (d) => chunks.push(d));
    child.stderr.on('data', (d) => chunks.push(d));
    child.on('error', (e) => {
      process.stdout.write(`> npm run ${name} (failed to start: ${e.message})\n`);
      resolve({ name, ok: false });
    });
    child.on('close', (code, signal) => {
      const out = Buffer.concat(chunks);
      process.stdout.write(`> npm run ${name}${code === 0 ? '' : ` (failed: ${signal ?? `exit ${code}`})`}\n`);
      process.stdout.write(out);
      resolve({ name, ok: code === 0 });
    });
  });
}

void Promise.all(scripts.map(run)).then((results) => {
  const failed = results.filter((r) => !r.ok).map((r) => r.name);
  if (failed.length > 0) {
    process.stderr.write(`npm run ${failed.join(', npm run ')} failed\n`);
    process.exitCode = 1;
  }
});
