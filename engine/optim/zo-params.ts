// The tensors a zeroth-order method perturbs: the trainable variables (all weights for full
// fine-tuning, adapter weights with PEFT), each with its noise stream and whether it takes
// weight decay. Every change to them goes through applyNoise, so the update history can
// replay it exactly.
import { noiseAxpy } from '../backend/noise.js';
import { tf, type Variable } from '../backend/tf.js';
import type { Params } from '../models/params.js';
import { counterBits, streamKey, streamOf } from '../util/counter-rng.js';
import type { NoiseRecord } from './zo-history.js';

export interface PerturbedTensor {
  name: string;
  variable: Variable;
  stream: number;
  /** Biases and norm weights (1-D tensors) take no weight decay. */
  decays: boolean;
}

export function trainableTensors(params: Params): PerturbedTensor[] {
  const tensors: PerturbedTensor[] = [];
  for (const [name, variable] of params.entries()) {
    if (!variable.trainable) continue;
    tensors.push({ name, variable, stream: streamOf(name), decays: variable.rank >= 2 });
  }
  return tensors;
}

/** θ ← a·θ + b·T(z) for every tensor (a only where it decays): one new buffer at a time. */
export function applyNoise(tensors: PerturbedTensor[], r: NoiseRecord): void {
  for (const t of tensors) {
    const a = t.decays ? r.a : 1;
    if (a === 1 && r.b === 0) continue;
    tf.tidy(() => {
      t.variable.assign(
        noiseAxpy(t.variable, a, r.b, { seed: r.seed, stream: t.stream, transform: r.transform }),
      );
    });
  }
}

/** The noise seed of query `query` of step `step` of a run seeded `runSeed`. */
export function querySeed(runSeed: number, step: number, query: number): number {
  return counterBits(step * 1024 + query, streamKey(runSeed, 0x5eed));
}
