// Mean loss and perplexity of a model over plain texts: every token after the first is a target,
// sequences are truncated to the context and batched with right padding that the mask ignores.
import { tf, type Tensor, type Tensor3D } from '../backend/tf.js';
import type { TextTokenizer } from '../io/tokenizer.js';
import { forwardLogits, type CausalLM } from '../models/causal-lm.js';
import { batchNll, type LossBatch } from '../models/loss.js';

export interface EvalOptions {
  /** Tokens a sequence is cut to, and sequences a forward pass scores (the jobs' seq and batch). */
  seq: number;
  batch: number;
  /** Per sequence, 1 where a token is a target (default: every real token). */
  masks?: readonly (readonly number[])[];
  /** Masked LMs: per sequence the target at each position, and the label words compared. */
  labels?: readonly (readonly number[])[];
  labelWords?: readonly number[];
  onBatch?: (done: number, total: number) => void;
}

export interface EvalResult {
  loss: number;
  perplexity: number;
  /** Target tokens scored. */
  tokens: number;
  examples: number;
  truncated: number;
  /**
   * Classification on a masked LM (labels with label words or a head): the share of targets
   * whose highest-scoring label is the right one.
   */
  accuracy?: number;
}

/** Round padded lengths up, so the webgpu buffer pool sees few distinct shapes. */
const PAD_MULTIPLE = 16;

export async function evaluateTexts(
  model: CausalLM,
  tokenizer: TextTokenizer,
  texts: string[],
  opts: EvalOptions,
): Promise<EvalResult> {
  let truncated = 0;
  const sequences = texts.map((text) => {
    const ids = tokenizer.encode(text, { addSpecialTokens: true });
    if (ids.length > opts.seq) truncated++;
    return ids.slice(0, opts.seq);
  });
  const scored = await evaluateSequences(model, sequences, opts);
  return { ...scored, truncated };
}

/** Mean loss and perplexity over token sequences (each at most `opts.seq` long). */
export async function evaluateSequences(
  model: CausalLM,
  sequences: number[][],
  opts: EvalOptions,
): Promise<EvalResult> {
  let nllSum = 0;
  let count = 0;
  let correct = 0;
  const classifying = opts.labels !== undefined && opts.masks !== undefined;
  const batches = Math.ceil(sequences.length / opts.batch);
  for (let b = 0; b < batches; b++) {
    const batch = sequences.slice(b * opts.batch, (b + 1) * opts.batch);
    const longest = Math.max(...batch.map((s) => s.length));
    const width = Math.min(opts.seq, Math.ceil(longest / PAD_MULTIPLE) * PAD_MULTIPLE);
    const ids = new Int32Array(batch.length * width);
    const mask = new Float32Array(batch.length * width);
    const labels = opts.labels && new Int32Array(batch.length * width);
    batch.forEach((seq, row) => {
      labels?.set(opts.labels![b * opts.batch + row]!.slice(0, width), row * width);
      ids.set(seq.slice(0, width), row * width);
      const given = opts.masks?.[b * opts.batch + row];
      if (given) mask.set(given.slice(0, width), row * width);
      else mask.fill(1, row * width, row * width + Math.min(seq.length, width));
    });
    const {
      sum,
      count: n,
      predicted,
    } = tf.tidy(() => {
      const idsT = tf.tensor2d(ids, [batch.length, width], 'int32');
      const logits = forwardLogits(model, idsT);
      const targets: LossBatch = {
        ids: idsT,
        mask: tf.tensor2d(mask, [batch.length, width]),
        ...(labels && { labels: tf.tensor2d(labels, [batch.length, width], 'int32') }),
        ...(opts.labelWords && { labelWords: tf.tensor1d([...opts.labelWords], 'int32') }),
      };
      const nll = batchNll(logits, targets, model.objective);
      return { ...nll, predicted: predictedLabels(logits, targets) };
    });
    nllSum += (await sum.data())[0]!;
    count += (await n.data())[0]!;
    if (classifying && labels) {
      const best = await predicted.data();
      mask.forEach((m, i) => {
        if (m === 1 && best[i] === labels[i]) correct++;
      });
    }
    tf.dispose([sum, n, predicted]);
    opts.onBatch?.(b + 1, batches);
  }
  const loss = count > 0 ? nllSum / count : NaN;
  return {
    loss,
    perplexity: Math.exp(loss),
    tokens: count,
    examples: sequences.length,
    truncated: 0,
    ...(classifying && count > 0 && { accuracy: correct / count }),
  };
}

/** The highest-scoring target at every position ([B, T]): a label word's index, or a class. */
function predictedLabels(logits: Tensor3D, t: LossBatch): Tensor {
  const scored = t.labelWords ? tf.gather(logits, t.labelWords, 2) : logits;
  return tf.argMax(scored, 2);
}
