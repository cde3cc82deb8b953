// Checkpoints: the trainable weights and the method's state as safetensors, plus the step, the
// data position and the method's small JSON state. Each is written to a temporary folder and
// renamed into place; `latest.json` is switched only after, so a kill at any moment leaves the
// previous checkpoint whole and findable.
import { readFile, rename, rm, readdir, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { WhetstoneError } from '../errors.js';
import { SafetensorsFile } from '../io/safetensors.js';
import { writeSafetensors, type WriteEntry } from '../io/safetensors-writer.js';
import type { TrainMethod } from '../optim/method.js';
import type { Params } from '../models/params.js';
import { tf, type Tensor } from '../backend/tf.js';
import { writeFileAtomic } from './run-dir.js';

export interface CheckpointState {
  step: number;
  /** Sequences the batch sampler has served. */
  samplerPosition: number;
  method: Record<string, unknown>;
  /** Trainer figures that continue across a resume (tokens seen, run peak, ...). */
  trainer: Record<string, unknown>;
}

const WEIGHTS = 'model.safetensors';
const STATE_TENSORS = 'optimizer.safetensors';
const STATE = 'state.json';
const LATEST = 'latest.json';

const stepName = (step: number) => `step-${String(step).padStart(7, '0')}`;

const lazy = (name: string, t: Tensor): WriteEntry => ({
  name,
  shape: t.shape,
  dtype: 'F32',
  data: async () => await t.data(),
});

/** Write a checkpoint of the trainable parameters and the method's state; keep the newest `keep`. */
export async function saveCheckpoint(
  checkpointsDir: string,
  params: Params,
  method: TrainMethod,
  state: CheckpointState,
  keep = 2,
): Promise<string> {
  const name = stepName(state.step);
  const temp = join(checkpointsDir, `.${name}.partial-${process.pid}`);
  await rm(temp, { recursive: true, force: true });
  await mkdir(temp, { recursive: true });
  try {
    const weights = [...params.entries()]
      .filter(([, v]) => v.trainable)
      .map(([n, v]) => lazy(n, v));
    await writeSafetensors(join(temp, WEIGHTS), weights, { format: 'pt' });
    const methodState = method.state();
    await writeSafetensors(
      join(temp, STATE_TENSORS),
      [...methodState.tensors].map(([n, t]) => lazy(n, t)),
    );
    await writeFileAtomic(
      join(temp, STATE),
      `${JSON.stringify({ ...state, method: methodState.json }, null, 2)}\n`,
    );
    await rm(join(checkpointsDir, name), { recursive: true, force: true });
    await rename(temp, join(checkpointsDir, name));
  } catch (err) {
    await rm(temp, { recursive: true, force: true });
    throw err;
  }
  await writeFileAtomic(
    join(checkpointsDir, LATEST),
    `${JSON.stringify({ step: state.step, dir: name })}\n`,
  );
  const old = (await readdir(checkpointsDir))
    .filter((f) => /^step-\d+$/.test(f))
    .sort()
    .slice(0, -keep);
  await Promise.all(old.map((f) => rm(join(checkpointsDir, f), { recursive: true, force: true })));
  return join(checkpointsDir, name);
}

export interface LoadedCheckpoint {
  dir: string;
  state: CheckpointState;
}

/** The newest complete checkpoint of a run, if any. */
export async function latestCheckpoint(
  checkpointsDir: string,
): Promise<LoadedCheckpoint | undefined> {
  let pointer: { dir?: unknown };
  try {
    pointer = JSON.parse(await readFile(join(checkpointsDir, LATEST), 'utf8')) as { dir?: unknown };
  } catch {
    return undefined;
  }
  if (typeof pointer.dir !== 'string' || !/^step-\d+$/.test(pointer.dir)) {
    throw new WhetstoneError('BAD_ARGUMENT', `${join(checkpointsDir, LATEST)} is damaged.`);
  }
  const dir = join(checkpointsDir, pointer.dir);
  const state = JSON.parse(await readFile(join(dir, STATE), 'utf8')) as CheckpointState;
  return { dir, state };
}

/** Put a checkpoint's weights into `params` and its state into `method`. */
export async function restoreCheckpoint(
  checkpoint: LoadedCheckpoint,
  params: Params,
  method: TrainMethod,
): Promise<void> {
  const weights = await SafetensorsFile.open(join(checkpoint.dir, WEIGHTS));
  try {
    for (const name of weights.names()) {
      const variable = params.get(name);
      const { values, shape } = await weights.read(name);
      if (shape.join(',') !== variable.shape.join(',')) {
        throw new WhetstoneError(
          'TENSOR_SHAPE_MISMATCH',
          `${weights.path}: "${name}" has shape [${shape.join(', ')}], the model [${variable.shape.join(', ')}].`,
        );
      }
      tf.tidy(() => variable.assign(tf.tensor(values, variable.shape)));
    }
  } finally {
    await weights.close();
  }
  const stateFile = await SafetensorsFile.open(join(checkpoint.dir, STATE_TENSORS));
  try {
    const tensors = new Map<string, Float32Array>();
    for (const name of stateFile.names())
      tensors.set(name, (await stateFile.read(name)).values as Float32Array);
    method.restore(tensors, checkpoint.state.method);
  } finally {
    await stateFile.close();
  }
}
