// Child process for inference.test.ts: prints the reference face result of the Node that runs it.
import { faceReference } from './reference';

faceReference().then(
  (r) => process.stdout.write(JSON.stringify(r)),
  (e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 1;
  },
);
