// What an adapter changes in the memory estimate: the stored base (QLoRA's targets in NF4 at
// 4.127 bits per parameter), the adapter's own weights, which are all that is trained, and the
// extra activations and temporaries of the adapted modules.
import type { CausalLM } from '../models/causal-lm.js';
import { blockOf, type LinearSpec } from '../models/layers/linear.js';
import { backwardOrder } from '../optim/blockwise.js';
import type { PeftKind } from '../peft/config.js';
import { nf4Bytes } from '../peft/nf4.js';
import type { PromptTerms } from '../peft/prompt-estimate.js';

const F32 = 4;
const numel = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

export interface PeftShape {
  kind: Exclude<PeftKind, 'full'>;
  targets: LinearSpec[];
  r: number;
  /** QLoRA: the modules held in NF4 (every linear layer of the blocks). */
  quantized?: LinearSpec[];
  /** Prefix and prompt tuning: the prompt tensor and its activations (then targets is empty). */
  prompt?: PromptTerms;
}

/** The sizes the estimator's formulas are written in terms of. */
export interface StorageTerms {
  /** Every stored weight: base (NF4 where quantized) and adapter. */
  weightBytes: number;
  /** What gradients and optimizer state are the size of. */
  trainableBytes: number;
  /** The largest trainable tensor (gradient and update temporaries). */
  largestTrainable: number;
  /** The largest trainable bytes one part reads (LOMO: one part's gradients at a time). */
  largestPart: number;
  /** Trainable bytes a tied embedding holds until the end of LOMO's backward. */
  tiedBytes: number;
  /** Transient bytes beyond the trainable tensors' (QLoRA: one dequantized weight). */
  extraTemporary: number;
  /** Activation floats per token added per block by the adapters (their [N, r] and [N, out]). */
  adapterPerToken: number;
  /** State kept beside the adapter whatever the method (AdaLoRA's Ī and Ū of every weight). */
  adapterStateBytes: number;
}

export function fullStorage(model: CausalLM, shapes: Map<string, number[]>): StorageTerms {
  const bytesOf = (names: string[]) =>
    names.reduce((s, n) => s + numel(shapes.get(n) ?? [0]) * F32, 0);
  const weightBytes = [...shapes.values()].reduce((s, shape) => s + numel(shape) * F32, 0);
  const parts = backwardOrder(model);
  const tied = model.partParams('head').filter((n) => model.partParams('embed').includes(n));
  return {
    weightBytes,
    trainableBytes: weightBytes,
    largestTrainable: Math.max(...[...shapes.values()].map((s) => numel(s) * F32)),
    largestPart: Math.max(...parts.map((p) => bytesOf(model.partParams(p)))),
    tiedBytes: bytesOf(tied),
    extraTemporary: 0,
    adapterPerToken: 0,
    adapterStateBytes: 0,
  };
}

export function peftStorage(shapes: Map<string, number[]>, peft: PeftShape): StorageTerms {
  if (peft.prompt) return promptStorage(shapes, peft.prompt);
  const quantized = new Set(
    peft.kind === 'qlora' ? peft.targets.map((t) => `${t.name}.weight`) : [],
  );
  let weightBytes = 0;
  let largestQuantized = 0;
  for (const [name, shape] of shapes) {
    const n = numel(shape);
    weightBytes += quantized.has(name) ? nf4Bytes(n) : n * F32;
    if (quantized.has(name)) largestQuantized = Math.max(largestQuantized, n * F32);
  }
  // AdaLoRA adds λ [r, 1] to Q [r, in] and P [out, r].
  const lambda = peft.kind === 'adalora' ? 1 : 0;
  const adapterOf = (t: LinearSpec) => peft.r * (t.inFeatures + t.outFeatures + lambda) * F32;
  const trainableBytes = peft.targets.reduce((s, t) => s + adapterOf(t), 0);
  const byBlock = new Map<string, number>();
  for (const t of peft.targets) {
    const block = String(blockOf(t.name) ?? 'other');
    byBlock.set(block, (byBlock.get(block) ?? 0) + adapterOf(t));
  }
  const firstBlock = peft.targets.filter((t) => blockOf(t.name) === 0);
  return {
    weightBytes: weightBytes + trainableBytes,
    trainableBytes,
    largestTrainable: Math.max(
      ...peft.targets.map((t) => peft.r * Math.max(t.inFeatures, t.outFeatures) * F32),
    ),
    largestPart: Math.max(...byBlock.values()),
    tiedBytes: 0,
    // One dequantized weight (nf4-kernel.ts allocates nothing else; the stock-op composite of
    // the tensorflow backend briefly holds its unpacked codes beside it as well).
    extraTemporary: largestQuantized,
    // Per adapted module: x Aᵀ [N, r] and the [N, out] sum (the product (·)(sB)ᵀ is freed once
    // added in; measured on the Llama fixture with every linear adapted).
    adapterPerToken: firstBlock.reduce((s, t) => s + peft.r + t.outFeatures, 0),
    // AdaLoRA smooths the importance of every adapter weight in two adapter-sized moments.
    adapterStateBytes: peft.kind === 'adalora' ? 2 * trainableBytes : 0,
  };
}

/** Prefix and prompt tuning: the frozen base in float32 and one trainable tensor. */
function promptStorage(shapes: Map<string, number[]>, prompt: PromptTerms): StorageTerms {
  const base = [...shapes.values()].reduce((s, shape) => s + numel(shape) * F32, 0);
  return {
    weightBytes: base + prompt.bytes,
    trainableBytes: prompt.bytes,
    largestTrainable: prompt.bytes,
    largestPart: prompt.bytes,
    tiedBytes: 0,
    extraTemporary: 0,
    adapterPerToken: prompt.perToken,
    adapterStateBytes: 0,
  };
}
