// Block-wise backpropagation (LOMO's engine): run the forward keeping only each block's input,
// then walk back from the head to the embedding, recomputing one part's forward from its saved
// input with `tf.engine().gradients(f, xs, dy)` and handing that part's parameter gradients to a
// visitor before moving on. Only one part's gradients exist at a time (activation checkpointing).
import { tf, type Tensor, type Tensor3D, type Variable } from '../backend/tf.js';
import type { CausalLM, ModelPart } from '../models/causal-lm.js';
import { batchLoss } from '../models/loss.js';
import type { Batch } from './method.js';

/** Receives complete gradients (by parameter name) of one part; it owns and must dispose them. */
export type GradVisitor = (part: ModelPart, grads: Map<string, Tensor>) => void;

/** The model's parts in backward order: head, last block ... first block, embed. */
export function backwardOrder(model: CausalLM): ModelPart[] {
  const blocks = Array.from({ length: model.config.layers }, (_, i) => model.config.layers - 1 - i);
  return ['head', ...blocks, 'embed'];
}

/**
 * Loss of `batch`, with every trainable parameter's gradient delivered exactly once. A parameter
 * read by several parts (a tied embedding) is summed over them and delivered with the last.
 */
export async function blockwiseBackward(
  model: CausalLM,
  batch: Batch,
  visit: GradVisitor,
): Promise<number> {
  const order = backwardOrder(model);
  // The trainable parameters each part reads, in backward order.
  const partVars = order.map((part): [string, Variable][] =>
    model
      .partParams(part)
      .map((name): [string, Variable] => [name, model.params.get(name)])
      .filter(([, v]) => v.trainable),
  );
  const uses = new Map<string, number>();
  for (const vars of partVars) for (const [name] of vars) uses.set(name, (uses.get(name) ?? 0) + 1);
  const pending = new Map<string, Tensor>();
  // Whether any part from position k of `order` on has trainable parameters: if none does, the
  // gradient need not flow further down.
  const needsBelow = partVars.map((_, k) => partVars.slice(k).some((vars) => vars.length > 0));

  // Forward, keeping only the input of each block and the final hidden state. [B, T, C] each.
  // Encoders' padding mask is computed once and read by every block's forward and recompute.
  const keys = model.keyMask?.(batch.ids);
  const inputs: Tensor3D[] = [tf.tidy(() => model.embed(batch.ids))];
  for (let i = 0; i < model.config.layers; i++) {
    const h = inputs[i]!;
    inputs.push(tf.tidy(() => model.block(i, h, undefined, keys)));
  }

  let dh: Tensor | undefined;
  let loss: Tensor | undefined;
  try {
    for (const [k, part] of order.entries()) {
      const vars = partVars[k]!;
      const passOn = k + 1 < order.length && needsBelow[k + 1]!;
      if (vars.length === 0 && !passOn) break;
      const input =
        part === 'head'
          ? inputs[model.config.layers]!
          : part === 'embed'
            ? undefined
            : inputs[part]!;
      const xs: Tensor[] = [...(passOn && input ? [input] : []), ...vars.map(([, v]) => v)];
      const f = (): Tensor =>
        part === 'head'
          ? batchLoss(model.head(input as Tensor3D), batch, model.objective)
          : part === 'embed'
            ? model.embed(batch.ids)
            : model.block(part, input as Tensor3D, undefined, keys);
      const { value, grads } = tf.engine().gradients(f, xs, dh, true);
      if (part === 'head') loss = value;
      else value.dispose();
      dh?.dispose();
      dh = passOn && input ? grads[0] : undefined;
      if (input) input.dispose();
      const paramGrads = grads.slice(passOn && input ? 1 : 0);
      visit(part, complete(vars, paramGrads, uses, pending));
    }
    return loss ? ((await loss.data()) as Float32Array)[0]! : NaN;
  } finally {
    loss?.dispose();
    dh?.dispose();
    keys?.dispose();
    for (const t of inputs) if (!t.isDisposed) t.dispose();
    for (const t of pending.values()) t.dispose();
  }
}

/** This part's gradients that are now complete; partial sums of shared parameters wait in `pending`. */
function complete(
  vars: [string, Variable][],
  grads: (Tensor | undefined)[],
  uses: Map<string, number>,
  pending: Map<string, Tensor>,
): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const [j, [name, variable]] of vars.entries()) {
    let g = grads[j] ?? tf.zerosLike(variable);
    const earlier = pending.get(name);
    if (earlier) {
      const sum = tf.add(earlier, g);
      earlier.dispose();
      g.dispose();
      g = sum;
      pending.delete(name);
    }
    const left = uses.get(name)! - 1;
    uses.set(name, left);
    if (left > 0) pending.set(name, g);
    else out.set(name, g);
  }
  return out;
}
