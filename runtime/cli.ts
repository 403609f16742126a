/**
 * `doorway` command line: the terminal runtime and its tools. Each subcommand parses its arguments with
 * node:util parseArgs and validates them with zod; errors go to stderr, results to stdout.
 */
import { commandLine } from './command-line';
import { compareCommand, facesCommand } from './tools/faces';
import { livenessCommand } from './tools/liveness';
import { runCommand } from './tools/run';
import { updateCommand } from './update/cli';
import { passCheckCommand } from './tools/pass-check';

const USAGE = `usage: doorway <command> [options]

commands:
  run --config FILE          run the terminal (camera, face pipeline, roster, lock, hub sync)
  faces [--json] FILE...     detect and describe every face in each image
  compare [--json] A B       cosine similarity of the largest face in two images
  liveness [--json] FILE...  live person or presentation attack, per video file or image-sequence directory
  update verify --config FILE BUNDLE         check a bundle as this terminal would: {"valid","reason","version"}
  update install --config FILE (BUNDLE | --url URL)   install into the inactive slot, restart, health check, commit or roll back
  update resume --config FILE                finish an update a power cut interrupted (run at boot)
  update status --config FILE                slots, versions and the last update
  pass check --config FILE [--json] IMAGE...
                             read the visitor pass in each image and judge it as this terminal would now
  help                       this text`;

export const { run, main } = commandLine('doorway', USAGE, {
  faces: facesCommand,
  compare: compareCommand,
  liveness: livenessCommand,
  run: runCommand,
  update: updateCommand(),
  pass: passCheckCommand,
});
