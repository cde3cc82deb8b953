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
import { tf, type Tensor, type Variable } from '../backend/tf.js';
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
  // The method's JSON state is taken from `method`.
  state: Omit<CheckpointState, 'method'>,
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
    await writeSafetensors(join(temp, STATE_TENSORS), [
      ...[...methodState.variables].map(([n, t]) => lazy(n, t)),
      ...[...(methodState.host ?? [])].map(([n, h]) => ({
        name: n,
        shape: h.shape,
        dtype: 'F32' as const,
        data: h.values,
      })),
    ]);
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

/** Names of the weights a checkpoint saved. */
export async function checkpointWeightNames(checkpoint: LoadedCheckpoint): Promise<string[]> {
  const weights = await SafetensorsFile.open(join(checkpoint.dir, WEIGHTS));
  try {
    return weights.names();
  } finally {
    await weights.close();
  }
}

/** Put a checkpoint's weights (the trainable parameters it saved) into `params`. */
export async function restoreWeights(checkpoint: LoadedCheckpoint, params: Params): Promise<void> {
  const weights = await SafetensorsFile.open(join(checkpoint.dir, WEIGHTS));
  try {
    for (const name of weights.names()) await readInto(weights, name, params.get(name));
  } finally {
    await weights.close();
  }
}

/** Put a checkpoint's weights into `params` and its state into `method`. */
export async function restoreCheckpoint(
  checkpoint: LoadedCheckpoint,
  params: Params,
  method: TrainMethod,
): Promise<void> {
  await restoreWeights(checkpoint, params);
  const stateFile = await SafetensorsFile.open(join(checkpoint.dir, STATE_TENSORS));
  try {
    const { variables, host } = method.state();
    const need = (name: string) => {
      if (!stateFile.has(name)) {
        throw new WhetstoneError(
          'TENSOR_MISSING',
          `${stateFile.path} has no "${name}" for ${method.name}.`,
        );
      }
    };
    for (const [name, variable] of variables) {
      need(name);
      await readInto(stateFile, name, variable);
    }
    for (const [name, h] of host ?? []) {
      need(name);
      const { values, shape } = await stateFile.read(name);
      checkShape(stateFile, name, shape, h.shape);
      h.values.set(values);
    }
    method.restoreJson(checkpoint.state.method);
  } finally {
    await stateFile.close();
  }
}

/** Overwrite `variable` with the tensor `name` of `file`, whose shape must match. */
async function readInto(file: SafetensorsFile, name: string, variable: Variable): Promise<void> {
  const { values, shape } = await file.read(name);
  checkShape(file, name, shape, variable.shape);
  tf.tidy(() => variable.assign(tf.tensor(values, variable.shape)));
}

function checkShape(file: SafetensorsFile, name: string, stored: number[], wanted: number[]): void {
  if (stored.join(',') !== wanted.join(',')) {
    throw new WhetstoneError(
      'TENSOR_SHAPE_MISMATCH',
      `${file.path}: "${name}" has shape [${stored.join(', ')}], the model [${wanted.join(', ')}].`,
    );
  }
}
