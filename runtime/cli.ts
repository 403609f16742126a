/**
 * `doorway` command line: the terminal runtime and its tools. Each subcommand parses its arguments with
 * node:util parseArgs and validates them with zod; errors go to stderr, results to stdout.
 */
import { commandLine } from './command-line';
import { compareCommand, facesCommand } from './tools/faces';
import { livenessCommand } from './tools/liveness';
import { runCommand } from './tools/run';

const USAGE = `usage: doorway <command> [options]

commands:
  run --config FILE          run the terminal (camera, face pipeline, roster, lock, hub sync)
  faces [--json] FILE...     detect and describe every face in each image
  compare [--json] A B       cosine similarity of the largest face in two images
  liveness [--json] FILE...  live person or presentation attack, per video file or image-sequence directory
  help                       this text`;

export const { run, main } = commandLine('doorway', USAGE, {
  faces: facesCommand,
  compare: compareCommand,
  liveness: livenessCommand,
  run: runCommand,
});
