#!/usr/bin/env node
// Runs on `npm install` / `npm ci`: fetches and verifies the face models (models/fetch.ts).
// Skipped with DOORWAY_SKIP_MODELS=1 (image builds that fetch in a separate step) or when the dev
// tools are absent (a production install fetches in the build stage instead).
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const fs = require('node:fs');

if (process.env.DOORWAY_SKIP_MODELS === '1') process.exit(0);
const root = path.resolve(__dirname, '..');
const compiled = path.join(root, 'dist', 'models', 'fetch.js');
let args;
if (fs.existsSync(compiled)) args = [compiled];
else {
  let tsx;
  try { tsx = require.resolve('tsx/cli', { paths: [root] }); } catch { tsx = null; }
  if (!tsx) {
    console.error('doorway: tsx not installed and no build; run `npm run models` later to fetch the face models');
    process.exit(0);
  }
  args = [tsx, path.join(root, 'models', 'fetch.ts')];
}
const r = spawnSync(process.execPath, args, { stdio: 'inherit', cwd: root });
process.exit(r.status ?? 1);
