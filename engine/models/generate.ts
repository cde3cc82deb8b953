// Text generation with a KV cache: the prompt runs once, then one token per step, each step
// reading the cached keys and values of everything before it.
import { WhetstoneError } from '../errors.js';
import { tf } from '../backend/tf.js';
import { Rng } from '../util/rng.js';
import { forwardLogits, type CausalLM } from './causal-lm.js';
import { KVCache } from './layers/kv-cache.js';
import { pickToken, type SamplingOptions } from './sampling.js';

export interface GenerateOptions extends SamplingOptions {
  maxNewTokens: number;
  /** Generation stops after emitting one of these (usually the model's EOS ids). */
  stopTokenIds: number[];
  seed: number;
  /** Called with each new token; return false to stop early. */
  onToken?: (id: number, index: number) => boolean | void;
}

export interface GenerateResult {
  /** New token ids (the stop token included when one ended the generation). */
  ids: number[];
  stoppedBy: 'stop-token' | 'max-new-tokens' | 'context' | 'caller';
}

/** Last position's logits of a [1, T, V] forward, on the host. */
async function lastLogits(model: CausalLM, ids: number[], cache: KVCache): Promise<Float32Array> {
  const row = tf.tidy(() => {
    const input = tf.tensor2d(ids, [1, ids.length], 'int32');
    const logits = forwardLogits(model, input, cache); // [1, T, V]
    const v = logits.shape[2];
    return tf.reshape(tf.slice(logits, [0, ids.length - 1, 0], [1, 1, v]), [v]);
  });
  const values = (await row.data()) as Float32Array;
  row.dispose();
  return values;
}

/** Generate up to `maxNewTokens` after `promptIds`. */
export async function generateTokens(
  model: CausalLM,
  promptIds: number[],
  opts: GenerateOptions,
): Promise<GenerateResult> {
  if (model.objective === 'masked') {
    throw new WhetstoneError(
      'MODEL_UNSUPPORTED',
      `${model.config.modelType} is a masked language model: it fills in masked tokens and cannot generate text.`,
      'Use a decoder (Llama, Qwen2, GPT-2, OPT) to generate; score a masked model with a mask token in the text.',
    );
  }
  const context = model.config.contextLength;
  if (promptIds.length === 0) throw new WhetstoneError('BAD_ARGUMENT', 'The prompt is empty.');
  if (promptIds.length >= context) {
    throw new WhetstoneError(
      'BAD_ARGUMENT',
      `The prompt is ${promptIds.length} tokens; the model's context is ${context}.`,
      'Shorten the prompt.',
    );
  }
  const budget = Math.min(opts.maxNewTokens, context - promptIds.length);
  // A prefix- or prompt-tuned model starts from its virtual tokens' keys and values.
  const virtual = model.prefix?.length ?? 0;
  const cache = new KVCache(model.config.layers, virtual + promptIds.length + budget);
  const rng = new Rng(opts.seed);
  const ids: number[] = [];
  try {
    model.prefix?.fill(cache);
    let logits = await lastLogits(model, promptIds, cache);
    while (ids.length < budget) {
      const next = pickToken(logits, opts, rng);
      ids.push(next);
      if (opts.onToken?.(next, ids.length - 1) === false) return { ids, stoppedBy: 'caller' };
      if (opts.stopTokenIds.includes(next)) return { ids, stoppedBy: 'stop-token' };
      if (ids.length === budget) break;
      logits = await lastLogits(model, [next], cache);
    }
    return { ids, stoppedBy: budget < opts.maxNewTokens ? 'context' : 'max-new-tokens' };
  } finally {
    cache.dispose();
  }
}
