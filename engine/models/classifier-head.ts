// The no-template ablation for masked LMs (MeZO's "no prompt" baseline): a linear head from the
// first token's hidden state (<s> / [CLS]) to the task's classes, created for the run and always
// trained, whatever else the method or adapter trains. It replaces the MLM head's logits.
import { tf, type Tensor3D } from '../backend/tf.js';
import { WhetstoneError } from '../errors.js';
import { Rng } from '../util/rng.js';
import type { CausalLM, ModelPart } from './causal-lm.js';
import type { Params } from './params.js';

export const CLASSIFIER_WEIGHT = 'classifier.weight'; // [classes, hidden]
export const CLASSIFIER_BIAS = 'classifier.bias'; // [classes]

/** Add a fresh head (N(0, 0.02) weights, zero bias, as transformers initialises one), trainable. */
export function addClassifier(params: Params, hidden: number, classes: number, seed: number): void {
  if (classes < 2) {
    throw new WhetstoneError('DATASET_INVALID', 'A classification head needs two or more labels.');
  }
  const weights = new Rng(seed ^ 0xc1a55).normals(classes * hidden, 0.02);
  params.add(CLASSIFIER_WEIGHT, tf.tensor2d(weights, [classes, hidden])).trainable = true;
  params.add(CLASSIFIER_BIAS, tf.zeros([classes])).trainable = true;
}

/** `model` with the classifier as its head: logits [B, T, classes] (the first token's are read). */
export function withClassifier(model: CausalLM): CausalLM {
  if (model.prefix) {
    throw new WhetstoneError(
      'BAD_ARGUMENT',
      'A classification head (--no-template on a masked LM) cannot be trained with --peft prefix or prompt yet.',
      'Use --peft full, lora, qlora or adalora with --no-template, or keep the template (prompt-based classification).',
    );
  }
  const { params } = model;
  const head = (h: Tensor3D): Tensor3D =>
    tf.tidy(() => {
      const [b, t, c] = h.shape;
      const w = params.get(CLASSIFIER_WEIGHT);
      const k = w.shape[0];
      const flat = tf.matMul(tf.reshape(h, [b * t, c]), w, false, true); // [B·T, K]
      return tf.reshape(tf.add(flat, params.get(CLASSIFIER_BIAS)), [b, t, k]);
    });
  return new Proxy(model, {
    get(target, key, receiver) {
      if (key === 'head') return head;
      if (key === 'partParams') {
        return (part: ModelPart) =>
          part === 'head' ? [CLASSIFIER_WEIGHT, CLASSIFIER_BIAS] : target.partParams(part);
      }
      const value: unknown = Reflect.get(target, key, receiver);
      return typeof value === 'function'
        ? (value as (...a: unknown[]) => unknown).bind(target)
        : value;
    },
  });
}
