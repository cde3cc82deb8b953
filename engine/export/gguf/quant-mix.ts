// Which ggml type each tensor is written in for a chosen quantization, as llama.cpp's own
// quantizer (llama-quant.cpp) picks them: 1-D tensors stay F32; the output matrix goes to Q6_K
// for the 4-bit kinds; Q4_K_M gives attn_v and ffn_down of some layers Q6_K; rows that are no
// multiple of a type's block fall back as llama.cpp falls back (Q4_K -> Q5_0, Q6_K -> Q8_0).
import { blockValues, type GgmlType } from './ggml-types.js';
import { quantizeQ4_K, quantizeQ6_K } from './quant-k.js';
import { quantizeQ4_0, quantizeQ5_0 } from './quant-q4.js';
import { quantizeQ8_0 } from './quant-q8.js';
import { encodeBF16, encodeF16, encodeF32 } from './quant-float.js';

export const ggufQuants = ['f32', 'f16', 'bf16', 'q8_0', 'q4_0', 'q4_k_m'] as const;
export type GgufQuant = (typeof ggufQuants)[number];

/** general.file_type (llama_ftype) of each choice. */
export const fileType: Record<GgufQuant, number> = {
  f32: 0,
  f16: 1,
  q4_0: 2,
  q8_0: 7,
  q4_k_m: 15,
  bf16: 32,
};

/** llama.cpp's use_more_bits: the first and last eighth of the layers, and every third between. */
function useMoreBits(i: number, n: number): boolean {
  const eighth = Math.floor(n / 8);
  return i < eighth || i >= Math.floor((7 * n) / 8) || (i - eighth) % 3 === 2;
}

const fallback: Partial<Record<GgmlType, GgmlType>> = { Q4_K: 'Q5_0', Q6_K: 'Q8_0', Q4_0: 'F16' };

/**
 * Types for every planned tensor, in order. `layers` is the block count; `tiedOutput` says
 * token_embd doubles as the output matrix (llama.cpp then treats it as the output).
 */
export function pickTypes(
  quant: GgufQuant,
  tensors: readonly { name: string; shape: number[] }[],
  layers: number,
  tiedOutput: boolean,
): GgmlType[] {
  return tensors.map(({ name, shape }) => {
    if (shape.length < 2) return 'F32';
    if (quant === 'f32') return 'F32';
    if (quant === 'f16') return 'F16';
    if (quant === 'bf16') return 'BF16';
    let type: GgmlType = quant === 'q8_0' ? 'Q8_0' : quant === 'q4_0' ? 'Q4_0' : 'Q4_K';
    const isOutput = name === 'output.weight' || (tiedOutput && name === 'token_embd.weight');
    const layer = Number(/^blk\.(\d+)\./.exec(name)?.[1] ?? -1);
    if (isOutput && type !== 'Q8_0') type = 'Q6_K';
    else if (quant === 'q4_k_m' && /\.(attn_v|ffn_down)\.weight$/.test(name)) {
      if (useMoreBits(layer, layers)) type = 'Q6_K';
    }
    // GPT-2's fused q/k/v: llama.cpp gives it Q5_K in Q4_K_M; Whetstone has no Q5_K, so Q6_K.
    else if (quant === 'q4_k_m' && name.endsWith('.attn_qkv.weight')) type = 'Q6_K';
    const row = shape[shape.length - 1]!;
    while (row % blockValues(type) !== 0) type = fallback[type] ?? 'F16';
    return type;
  });
}

export function encodeAs(type: GgmlType, values: Float32Array): Uint8Array {
  switch (type) {
    case 'F32':
      return encodeF32(values);
    case 'F16':
      return encodeF16(values);
    case 'BF16':
      return encodeBF16(values);
    case 'Q8_0':
      return quantizeQ8_0(values);
    case 'Q4_0':
      return quantizeQ4_0(values);
    case 'Q5_0':
      return quantizeQ5_0(values);
    case 'Q4_K':
      return quantizeQ4_K(values);
    case 'Q6_K':
      return quantizeQ6_K(values);
  }
}
