// Hugging Face Llama-family tensors under llama.cpp's names (llama, Mistral, qwen2). Llama's q/k
// rows are permuted: Hugging Face rotates the two halves of each head (rotate-half), llama.cpp's
// llama rope rotates adjacent pairs; qwen2 uses rotate-half in llama.cpp too and is left as is.
import type { LlamaConfig } from '../../models/llama.js';
import { inverseFrequencies } from '../../models/layers/rope.js';
import type { PlannedTensor, ReadTensor } from './tensor-plan.js';

/** Row h*hd + 2i + j of the result is row h*hd + j*hd/2 + i of `x` (rows of `cols` values). */
export function permuteRope(x: Float32Array, heads: number, cols: number): Float32Array {
  const rows = x.length / cols;
  const hd = rows / heads;
  const out = new Float32Array(x.length);
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < hd / 2; i++) {
      for (let j = 0; j < 2; j++) {
        const to = (h * hd + 2 * i + j) * cols;
        const from = (h * hd + (j * hd) / 2 + i) * cols;
        out.set(x.subarray(from, from + cols), to);
      }
    }
  }
  return out;
}

export function llamaTensors(c: LlamaConfig, read: ReadTensor, arch: 'llama' | 'qwen2') {
  const plan: PlannedTensor[] = [];
  const add = (name: string, hf: string, shape: number[], map = (x: Float32Array) => x) =>
    plan.push({ name, shape, values: async () => map(await read(hf)) });
  const permute = arch === 'llama';
  const q = c.heads * c.headDim;
  const kv = c.kvHeads * c.headDim;

  add('token_embd.weight', 'model.embed_tokens.weight', [c.vocabSize, c.hidden]);
  if (c.rope.scaling?.type === 'llama3') {
    // llama.cpp divides each frequency by this factor: base frequency / scaled frequency.
    const plain = inverseFrequencies({ ...c.rope, scaling: undefined }, 1);
    const scaled = inverseFrequencies(c.rope, 1);
    const factors = plain.map((v, i) => v / scaled[i]!);
    plan.push({
      name: 'rope_freqs.weight',
      shape: [c.headDim / 2],
      values: () => Promise.resolve(factors),
    });
  }
  for (let i = 0; i < c.layers; i++) {
    const p = `model.layers.${i}`;
    const b = `blk.${i}`;
    add(`${b}.attn_norm.weight`, `${p}.input_layernorm.weight`, [c.hidden]);
    const qMap = permute ? (x: Float32Array) => permuteRope(x, c.heads, x.length / q) : undefined;
    const kMap = permute
      ? (x: Float32Array) => permuteRope(x, c.kvHeads, x.length / kv)
      : undefined;
    add(`${b}.attn_q.weight`, `${p}.self_attn.q_proj.weight`, [q, c.hidden], qMap);
    add(`${b}.attn_k.weight`, `${p}.self_attn.k_proj.weight`, [kv, c.hidden], kMap);
    add(`${b}.attn_v.weight`, `${p}.self_attn.v_proj.weight`, [kv, c.hidden]);
    if (c.qkvBias) {
      add(`${b}.attn_q.bias`, `${p}.self_attn.q_proj.bias`, [q], qMap);
      add(`${b}.attn_k.bias`, `${p}.self_attn.k_proj.bias`, [kv], kMap);
      add(`${b}.attn_v.bias`, `${p}.self_attn.v_proj.bias`, [kv]);
    }
    add(`${b}.attn_output.weight`, `${p}.self_attn.o_proj.weight`, [c.hidden, q]);
    if (c.outBias) add(`${b}.attn_output.bias`, `${p}.self_attn.o_proj.bias`, [c.hidden]);
    add(`${b}.ffn_norm.weight`, `${p}.post_attention_layernorm.weight`, [c.hidden]);
    add(`${b}.ffn_gate.weight`, `${p}.mlp.gate_proj.weight`, [c.intermediate, c.hidden]);
    add(`${b}.ffn_up.weight`, `${p}.mlp.up_proj.weight`, [c.intermediate, c.hidden]);
    add(`${b}.ffn_down.weight`, `${p}.mlp.down_proj.weight`, [c.hidden, c.intermediate]);
  }
  add('output_norm.weight', 'model.norm.weight', [c.hidden]);
  // Tied embeddings: llama.cpp reuses token_embd when there is no output tensor.
  if (!c.tieWordEmbeddings) add('output.weight', 'lm_head.weight', [c.vocabSize, c.hidden]);
  return plan;
}
