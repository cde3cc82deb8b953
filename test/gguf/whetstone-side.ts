// What Whetstone itself says about a model folder, for comparison with llama.cpp: next-token
// log-probabilities, greedy continuations and token ids.
import { tf } from '../../engine/backend/tf.js';
import { forwardLogits, type CausalLM } from '../../engine/models/causal-lm.js';
import { generateTokens } from '../../engine/models/generate.js';
import { greedy } from '../../engine/models/sampling.js';

/** Log-softmax of the logits after `prompt`, and the logits' range (max - min). */
export async function whetstoneLogProbs(
  model: CausalLM,
  prompt: number[],
): Promise<{ logProbs: Float32Array; range: number }> {
  const [logProbs, logits] = tf.tidy(() => {
    const all = forwardLogits(model, tf.tensor2d(prompt, [1, prompt.length], 'int32')); // [1, T, V]
    const last = tf.squeeze(tf.slice(all, [0, prompt.length - 1, 0], [1, 1, -1])); // [V]
    return [tf.logSoftmax(last), last];
  });
  const values = (await logits.data()) as Float32Array;
  const result = (await logProbs.data()) as Float32Array;
  logits.dispose();
  logProbs.dispose();
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  return { logProbs: result, range: hi - lo };
}

/** `steps` greedy tokens after `prompt`, decoded with the KV cache. */
export async function whetstoneGreedy(
  model: CausalLM,
  prompt: number[],
  steps: number,
): Promise<number[]> {
  const { ids } = await generateTokens(model, prompt, {
    maxNewTokens: steps,
    stopTokenIds: [],
    seed: 0,
    ...greedy,
  });
  return ids;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}
