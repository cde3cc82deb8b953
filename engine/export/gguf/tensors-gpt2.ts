// Hugging Face GPT-2 tensors under llama.cpp's gpt2 names. GPT-2's Conv1D weights are stored
// [in, out]; llama.cpp wants [out, in] like every other linear layer, so they are transposed.
import type { Gpt2Config } from '../../models/gpt2.js';
import { transpose, type PlannedTensor, type ReadTensor } from './tensor-plan.js';

export function gpt2Tensors(c: Gpt2Config, read: ReadTensor): PlannedTensor[] {
  const plan: PlannedTensor[] = [];
  const add = (name: string, hf: string, shape: number[], map = (x: Float32Array) => x) =>
    plan.push({ name, shape, values: async () => map(await read(hf)) });
  // HF [in, out] -> [out, in]; `shape` is the written (PyTorch-order) [out, in].
  const conv = (name: string, hf: string, inF: number, outF: number) =>
    add(name, hf, [outF, inF], (x) => transpose(x, inF, outF));
  const h = c.hidden;
  add('token_embd.weight', 'transformer.wte.weight', [c.vocabSize, h]);
  add('position_embd.weight', 'transformer.wpe.weight', [c.contextLength, h]);
  for (let i = 0; i < c.layers; i++) {
    const p = `transformer.h.${i}`;
    const b = `blk.${i}`;
    add(`${b}.attn_norm.weight`, `${p}.ln_1.weight`, [h]);
    add(`${b}.attn_norm.bias`, `${p}.ln_1.bias`, [h]);
    conv(`${b}.attn_qkv.weight`, `${p}.attn.c_attn.weight`, h, 3 * h);
    add(`${b}.attn_qkv.bias`, `${p}.attn.c_attn.bias`, [3 * h]);
    conv(`${b}.attn_output.weight`, `${p}.attn.c_proj.weight`, h, h);
    add(`${b}.attn_output.bias`, `${p}.attn.c_proj.bias`, [h]);
    add(`${b}.ffn_norm.weight`, `${p}.ln_2.weight`, [h]);
    add(`${b}.ffn_norm.bias`, `${p}.ln_2.bias`, [h]);
    conv(`${b}.ffn_up.weight`, `${p}.mlp.c_fc.weight`, h, c.inner);
    add(`${b}.ffn_up.bias`, `${p}.mlp.c_fc.bias`, [c.inner]);
    conv(`${b}.ffn_down.weight`, `${p}.mlp.c_proj.weight`, c.inner, h);
    add(`${b}.ffn_down.bias`, `${p}.mlp.c_proj.bias`, [h]);
  }
  add('output_norm.weight', 'transformer.ln_f.weight', [h]);
  add('output_norm.bias', 'transformer.ln_f.bias', [h]);
  if (!c.tieWordEmbeddings) add('output.weight', 'lm_head.weight', [c.vocabSize, h]);
  return plan;
}
