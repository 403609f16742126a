/**
 * Loads one ONNX model under its manifest contract: the file must exist and match its sha256 before
 * onnxruntime sees it, its input name and shape must be the declared ones, and the session is warmed
 * with a zero tensor so the first real frame is not slow.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { TerminalError } from '../core/errors';
import type { ModelEntry } from './manifest';
import { sha256File } from './registry';

export class ModelFileError extends TerminalError {
  readonly code = 'model-file';
}

export interface SessionOptions {
  /** Threads inside one operator (onnxruntime intra-op pool). */
  intraOpThreads: number;
  /** Threads across independent operators; 1 keeps the graph sequential. */
  interOpThreads: number;
}

export const DEFAULT_SESSION_OPTIONS: SessionOptions = { intraOpThreads: 1, interOpThreads: 1 };

export interface LoadedModel {
  entry: ModelEntry;
  session: ort.InferenceSession;
  run(input: Float32Array): Promise<Record<string, Float32Array>>;
}

const FIX = 'run `npm run models` to fetch and verify the model files';

export function verifyModelFile(dir: string, entry: ModelEntry): string {
  const path = join(dir, entry.file);
  if (!existsSync(path)) throw new ModelFileError(`model file ${path} is missing: ${FIX}`);
  const actual = sha256File(path);
  if (actual !== entry.sha256) {
    throw new ModelFileError(
      `model file ${path} is corrupted (sha256 ${actual.slice(0, 12)}..., expected ${entry.sha256.slice(0, 12)}...): delete it and ${FIX}`,
    );
  }
  return path;
}

export async function loadModel(dir: string, entry: ModelEntry, opts: SessionOptions): Promise<LoadedModel> {
  const path = verifyModelFile(dir, entry);
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(path, {
      intraOpNumThreads: opts.intraOpThreads,
      interOpNumThreads: opts.interOpThreads,
      executionMode: opts.interOpThreads > 1 ? 'parallel' : 'sequential',
      graphOptimizationLevel: 'all',
    });
  } catch (e) {
    throw new ModelFileError(`model ${entry.id} (${path}) could not be loaded: ${(e as Error).message}`, { cause: e });
  }
  const inputName = entry.input.name;
  if (!session.inputNames.includes(inputName)) {
    throw new ModelFileError(`model ${entry.id} has no input named ${inputName} (has ${session.inputNames.join(', ')})`);
  }
  for (const out of entry.outputs) {
    if (!session.outputNames.includes(out.name)) {
      throw new ModelFileError(`model ${entry.id} has no output named ${out.name}`);
    }
  }
  const shape = entry.input.shape;
  const size = shape.reduce((a, b) => a * b, 1);
  const run = async (input: Float32Array): Promise<Record<string, Float32Array>> => {
    if (input.length !== size) {
      throw new RangeError(`model ${entry.id}: input has ${input.length} values, expected ${size}`);
    }
    const result = await session.run({ [inputName]: new ort.Tensor('float32', input, shape) });
    const out: Record<string, Float32Array> = {};
    for (const o of entry.outputs) {
      const t = result[o.name];
      if (!t) throw new ModelFileError(`model ${entry.id} produced no ${o.name}`);
      out[o.name] = t.data as Float32Array;
    }
    return out;
  };
  // warm-up: the first run allocates and plans; do it now, not on the first visitor
  await run(new Float32Array(size));
  return { entry, session, run };
}
