/**
 * The face pipeline gives the same answer on ARM64 as on x86: the ARM64 run computes the embedding of a
 * fixed test photo in this (ARM64) process and asks the x86 Node of the x86 checkout
 * (DOORWAY_X86_NODE, DOORWAY_X86_ROOT, set by scripts/arm64/run-tests.ts) for the same result.
 * Different SIMD kernels (NEON vs AVX) change the last bits of the floats, nothing more.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { cosine } from '../../models/embedder';
import { faceReference, type FaceReference } from './reference';

const x86Node = process.env['DOORWAY_X86_NODE'];
const x86Root = process.env['DOORWAY_X86_ROOT'];
const arm64Run = process.env['DOORWAY_ARM64_RUN'] === '1' && !!x86Node && !!x86Root;

function x86Reference(): FaceReference {
  const root = x86Root as string;
  const r = spawnSync(x86Node as string, ['--import', 'tsx', join(root, 'test', 'arm64', 'reference-child.ts')], {
    cwd: root,
    encoding: 'utf8',
    // the x86 Node must not inherit the emulator's library prefix
    env: { ...process.env, QEMU_LD_PREFIX: '' },
    maxBuffer: 16 << 20,
  });
  if (r.status !== 0) throw new Error(`x86 reference failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as FaceReference;
}

(arm64Run ? describe : describe.skip)('face pipeline on ARM64 against x86', () => {
  let arm: FaceReference;
  let x86: FaceReference;

  beforeAll(async () => {
    arm = await faceReference();
    x86 = x86Reference();
  }, 120_000);

  it('computes the reference on x86 and the result under test on ARM64', () => {
    expect(x86.arch).toBe('x64');
    expect(arm.arch).toBe('arm64');
  });

  it('finds the same face box within a tenth of a pixel and the same score within 1e-4', () => {
    expect(arm.box).toHaveLength(4);
    arm.box.forEach((v, i) => expect(Math.abs(v - (x86.box[i] as number))).toBeLessThan(0.1));
    expect(Math.abs(arm.score - x86.score)).toBeLessThan(1e-4);
  });

  it('computes an embedding whose cosine with the x86 one is above 0.9999 and no component off by 1e-3', () => {
    expect(arm.embedding).toHaveLength(x86.embedding.length);
    expect(cosine(Float32Array.from(arm.embedding), Float32Array.from(x86.embedding))).toBeGreaterThan(0.9999);
    const worst = Math.max(...arm.embedding.map((v, i) => Math.abs(v - (x86.embedding[i] as number))));
    expect(worst).toBeLessThan(1e-3);
  });
});
