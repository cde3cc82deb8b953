// Peak-memory prediction before a run, from each method's formula (docs/memory.md#the-estimator):
// weights, gradients, optimizer state and activations, all float32. The activation terms count the
// tensors a block keeps for its backward pass; test/memory-floors.test.ts holds the prediction
// within 10% of the measured peak.
import { blockOf } from '../models/layers/linear.js';
import type { CausalLM } from '../models/causal-lm.js';
import { fullStorage, peftStorage, type PeftShape } from './estimate-peft.js';
import type { MethodName } from '../optim/method.js';
import { isZerothOrder } from '../protocol.js';

export interface EstimateInput {
  /** A model object (its parameters need not be loaded) and every parameter's shape. */
  model: CausalLM;
  shapes: Map<string, number[]>;
  method: MethodName;
  batch: number;
  seq: number;
  /** FO methods that recompute activations block by block (LOMO and AdaLomo always do). */
  recompute: boolean;
  /** An adapter instead of full fine-tuning: its modules and rank (QLoRA: those in NF4). */
  peft?: PeftShape;
  /** fo-adamw with paged moments: one tensor's moments on the device at a time. */
  pagedOptim?: boolean;
}

export interface MemoryEstimate {
  peakBytes: number;
  weightBytes: number;
  gradientBytes: number;
  optimizerBytes: number;
  activationBytes: number;
  /** The largest single tensor, weights or logits (WebGPU binds each tensor as one buffer). */
  largestTensorBytes?: number;
  /** Which tensor that is: a weight's name, or the logits. */
  largestTensorName?: string;
  /** Process memory beside the tensors where host RAM is the device (host-overhead.ts). */
  hostOverheadBytes?: number;
}

const F32 = 4;
const numel = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

export function estimateTrainingMemory(input: EstimateInput): MemoryEstimate {
  const { model, shapes, method, batch, seq } = input;
  const cfg = model.config;
  const storage = input.peft ? peftStorage(shapes, input.peft) : fullStorage(model, shapes);
  const { weightBytes, trainableBytes, largestPart } = storage;
  const largestTensor = storage.largestTrainable;

  const tokens = batch * seq;
  // Floats a block keeps per token for its backward pass. tfjs keeps every op's output on the
  // tape; counting the linears' inputs and outputs, norms, residuals and attention scores and
  // scaling by 1.6 matches what was measured on the Llama fixtures (rotary and SwiGLU temporaries).
  const linears = model.linearSpecs().filter((s) => blockOf(s.name) === 0);
  const perToken =
    1.6 *
    (linears.reduce((s, l) => s + l.inFeatures + l.outFeatures, 0) +
      8 * cfg.hidden +
      3 * cfg.heads * seq +
      storage.adapterPerToken);
  const blockTape = tokens * perToken * F32;
  // The loss keeps the logits and their softmax; backward adds the gradient of the logits.
  const headTape = 3 * tokens * cfg.vocabSize * F32;
  const hidden = tokens * cfg.hidden * F32;

  if (isZerothOrder(method)) {
    return withAdapterState(
      storage.adapterStateBytes,
      zerothOrderEstimate(
        method,
        weightBytes,
        trainableBytes,
        largestTensor,
        storage.extraTemporary,
        {
          hidden: (cfg.layers + 1) * hidden,
          transient: Math.max(blockTape / 1.6, 5 * tokens * cfg.vocabSize * F32),
        },
      ),
    );
  }

  const fused = method === 'lomo' || method === 'adalomo';
  const recompute = fused || input.recompute;
  // Backward holds the tape and, until it ends, the gradients of the activations as well (about
  // as much again); with checkpointing, one part's tape at a time (and part of its gradients)
  // beside the saved inputs. Calibrated on Llama-family models (within 5% there); GPT-2's
  // checkpointed peak runs up to 20% above it.
  const activationBytes = recompute
    ? (cfg.layers + 1) * hidden + 1.5 * Math.max(blockTape, headTape)
    : 2 * (cfg.layers * blockTape + headTape) + hidden;

  let gradientBytes: number;
  let optimizerBytes = 0;
  if (fused) {
    // One part's gradients at a time, plus a tied embedding's gradient held until the end.
    gradientBytes = largestPart + storage.tiedBytes;
    if (method === 'adalomo') {
      for (const shape of input.peft ? adapterShapes(input.peft) : shapes.values()) {
        const factored = shape.length >= 2;
        optimizerBytes +=
          (factored
            ? numel(shape.slice(0, -1)) + numel(shape.slice(0, -2)) * shape.at(-1)!
            : numel(shape)) * F32;
      }
    }
  } else {
    gradientBytes = trainableBytes;
    // Paged: the moments live in host memory; the device sees one tensor's at a time.
    if (method === 'fo-adamw')
      optimizerBytes = 2 * (input.pagedOptim ? largestTensor : trainableBytes);
  }
  // Temporaries the size of the largest tensor: its gradient being formed and the update's
  // intermediates (AdaLomo's factored scaling needs one more); QLoRA's dequantized weight.
  const temporaries = (method === 'adalomo' ? 3 : 2) * largestTensor + storage.extraTemporary;
  const peakBytes = weightBytes + gradientBytes + optimizerBytes + activationBytes + temporaries;
  return withAdapterState(storage.adapterStateBytes, {
    peakBytes,
    weightBytes,
    gradientBytes,
    optimizerBytes,
    activationBytes,
  });
}

/** State an adapter keeps whatever the method (AdaLoRA's importance), counted as optimizer state. */
function withAdapterState(bytes: number, e: MemoryEstimate): MemoryEstimate {
  return { ...e, peakBytes: e.peakBytes + bytes, optimizerBytes: e.optimizerBytes + bytes };
}

function adapterShapes(peft: PeftShape): number[][] {
  return peft.targets.flatMap((t) => [
    [peft.r, t.inFeatures],
    [t.outFeatures, peft.r],
    ...(peft.kind === 'adalora' ? [[peft.r, 1]] : []),
  ]);
}

/**
 * The zeroth-order family runs forward passes only: inference's activations (the hidden states
 * of every block, then the loss's copies of the logits: five [B, T, V] tensors at its peak) or,
 * between passes, the update's temporaries, plus the optimizer state. Forward-Grad carries a
 * tangent beside every activation. Measured on the Llama fixtures within 5%.
 */
function zerothOrderEstimate(
  method: MethodName,
  weightBytes: number,
  trainableBytes: number,
  largestTensor: number,
  extraTemporary: number,
  inference: { hidden: number; transient: number },
): MemoryEstimate {
  const activations = inference.hidden + inference.transient + extraTemporary;
  // State: ZO-SGD-MMT's momentum, ZO-Adam's two moments. Temporary: the new value of the tensor
  // being moved (every update is one kernel).
  const optimizerBytes =
    method === 'zo-mmt' ? trainableBytes : method === 'zo-adam' ? 2 * trainableBytes : 0;
  const temporaries = largestTensor;
  const activationBytes =
    method === 'forward-grad'
      ? 2 * activations + largestTensor
      : Math.max(activations, temporaries);
  return {
    peakBytes: weightBytes + optimizerBytes + activationBytes,
    weightBytes,
    gradientBytes: 0,
    optimizerBytes,
    activationBytes,
  };
}
