// Quantized GGUF files checked by llama.cpp: Q8_0, Q4_0 and Q4_K_M of the shipped example model
// keep llama.cpp's perplexity on held-out text within 1% (Q8_0) and 10% (4-bit) of F16's; a
// width-256 model exercises real Q4_K and Q6_K blocks, which llama.cpp loads and runs close to
// the float model; every block type's bytes decode, by an implementation written apart from the
// engine's, to the engine's own dequantization; and each type's bits per weight are ggml's.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../engine/backend/select.js';
import { tf } from '../engine/backend/tf.js';
import { dequantizeQ4_K, dequantizeQ6_K } from '../engine/export/gguf/quant-k.js';
import { dequantizeQ4_0, dequantizeQ5_0 } from '../engine/export/gguf/quant-q4.js';
import { dequantizeQ8_0 } from '../engine/export/gguf/quant-q8.js';
import { writeFixtureModel } from '../engine/fixtures/fixture-model.js';
import { storyCorpus } from '../engine/fixtures/story-corpus.js';
import { loadTokenizer } from '../engine/io/tokenizer.js';
import { loadModel } from '../engine/models/load.js';
import { exportModelGguf } from './gguf/export.js';
import { parseGguf, tensorData } from './gguf/gguf-file.js';
import { llamaCpp, llamaCppMissing, report } from './gguf/llama-cpp.js';
import { referenceBlockSize, referenceDequantize } from './gguf/reference-dequant.js';
import { maxAbsDiff, whetstoneLogProbs } from './gguf/whetstone-side.js';
import { tokenIds } from './numerics.js';

const tiny = join(import.meta.dirname, '..', 'assets', 'models', 'whetstone-tiny');
let work: string;
beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
  work = await mkdtemp(join(tmpdir(), 'whetstone-gguf-quant-'));
});
afterAll(async () => {
  tf.disposeVariables();
  await rm(work, { recursive: true, force: true });
});

/** ggml type id -> name, the engine's dequantizer, and llama.cpp's published bits per weight. */
const types: Record<number, [string, (b: Uint8Array, n: number) => Float32Array, number]> = {
  8: ['Q8_0', dequantizeQ8_0, 8.5],
  2: ['Q4_0', dequantizeQ4_0, 4.5],
  6: ['Q5_0', dequantizeQ5_0, 5.5],
  12: ['Q4_K', dequantizeQ4_K, 4.5],
  14: ['Q6_K', dequantizeQ6_K, 6.5625],
};

describe.skipIf(llamaCppMissing !== undefined)('quantized GGUF', () => {
  it(
    'keeps llama.cpp perplexity of the example model on held-out text near F16',
    { timeout: 300_000 },
    async () => {
      const tokenizer = await loadTokenizer(tiny);
      // A seed the example's pretraining does not use: text it has not seen.
      const texts = storyCorpus(6, 4242).map((t) => [
        tokenizer.bosTokenId!,
        ...tokenizer.encode(t, { addSpecialTokens: false }).slice(0, 120),
      ]);
      const quants = ['f16', 'q8_0', 'q4_0', 'q4_k_m'] as const;
      const files = quants.map((q) => join(work, `tiny-${q}.gguf`));
      for (const [i, q] of quants.entries()) await exportModelGguf(tiny, q, files[i]!);
      const answers = await llamaCpp(
        files.map((model) => ({
          model,
          vocab: 1024,
          nll: texts,
          greedy: { prompt: texts[0]!.slice(0, 8), steps: 16 },
        })),
      );
      const ppl = answers.map((a) => Math.exp(a.nll!.reduce((x, y) => x + y, 0) / a.nll!.length));
      for (const [i, q] of quants.entries()) {
        report(`whetstone-tiny ${q}: perplexity ${ppl[i]!.toFixed(4)} (F16 ${ppl[0]!.toFixed(4)})`);
        expect(answers[i]!.greedy).toHaveLength(16);
      }
      expect(ppl[0]).toBeLessThan(2);
      expect(Math.abs(ppl[1]! / ppl[0]! - 1)).toBeLessThan(0.01);
      expect(Math.abs(ppl[2]! / ppl[0]! - 1)).toBeLessThan(0.1);
      expect(Math.abs(ppl[3]! / ppl[0]! - 1)).toBeLessThan(0.1);
    },
  );

  it(
    'writes Q4_K and Q6_K blocks that llama.cpp runs and ggml decodes as the engine does',
    { timeout: 300_000 },
    async () => {
      const dir = join(work, 'wide');
      // Width 256 and feed-forward 768: every matrix row is whole K-quant super-blocks.
      await writeFixtureModel({
        arch: 'llama',
        hidden: 256,
        heads: 4,
        kvHeads: 2,
        layers: 2,
        vocab: 512,
        seed: 7,
        out: dir,
        force: true,
        configOverrides: { intermediate_size: 768 },
      });
      const model = await loadModel(dir);
      const prompt = tokenIds(8, 5);
      const mine = await whetstoneLogProbs(model, prompt);
      const quants = ['q8_0', 'q4_0', 'q4_k_m'] as const;
      const files = quants.map((q) => join(work, `wide-${q}.gguf`));
      const written: Record<string, number>[] = [];
      for (const [i, q] of quants.entries()) {
        written.push((await exportModelGguf(dir, q, files[i]!)).types as Record<string, number>);
      }
      report(`wide q4_k_m tensor types: ${JSON.stringify(written[2])}`);
      expect(written[2]!.Q4_K).toBeGreaterThan(0);
      expect(written[2]!.Q6_K).toBeGreaterThan(0);
      const answers = await llamaCpp(
        files.map((file) => ({
          model: file,
          vocab: 512,
          logProbs: [prompt],
          greedy: { prompt, steps: 8 },
        })),
      );
      // Quantized weights (and llama.cpp's 8-bit activations in quantized products) move the
      // log-probabilities by a small fraction of the logit range, never to noise.
      const bounds = { q8_0: 0.05, q4_0: 0.25, q4_k_m: 0.25 };
      for (const [i, q] of quants.entries()) {
        const diff = maxAbsDiff(answers[i]!.logProbs![0]!, mine.logProbs);
        report(
          `wide ${q}: max |Δ log p| vs Whetstone F32 ${diff.toFixed(4)} (logit range ${mine.range.toFixed(2)})`,
        );
        expect(diff).toBeLessThan(bounds[q] * mine.range);
        expect(answers[i]!.greedy).toHaveLength(8);
      }

      // One tensor of each block type: the bytes as ggml lays them out decode to the engine's values,
      // those are close to the weights, and the bits per weight are ggml's. The example model's
      // 128-wide rows give Q4_K_M its Q5_0 fallback blocks.
      const tinyFile = join(work, 'tiny-q4_k_m-blocks.gguf');
      await exportModelGguf(tiny, 'q4_k_m', tinyFile);
      const seen = new Set<number>();
      const bpw: string[] = [];
      for (const file of [...files, tinyFile]) {
        const g = parseGguf(file);
        const order = [...g.tensors].sort((a, b) => a.offset - b.offset);
        for (const [k, t] of order.entries()) {
          if (!(t.type in types)) continue;
          const [name, engineDequant, published] = types[t.type]!;
          const n = t.dims.reduce((a, b) => a * b, 1);
          const end = k + 1 < order.length ? order[k + 1]!.offset : g.bytes.length - g.dataStart;
          const bits = ((end - t.offset) * 8) / n; // padding included
          expect(Math.abs(bits / published - 1), `${name} ${t.name}`).toBeLessThan(0.02);
          const first = !seen.has(t.type);
          if (!first && !/attn_v|ffn_down/.test(t.name)) continue;
          seen.add(t.type);
          if (first) bpw.push(`${name} ${bits.toFixed(4)}`);
          const { values, bytes } = referenceBlockSize(t.type);
          const data = tensorData(g, t.name, (n / values) * bytes);
          const reference = referenceDequantize(t.type, data, n);
          const engine = engineDequant(data, n);
          expect(maxAbsDiff(reference, engine), `${name} decoding`).toBeLessThan(1e-6);
          // Against the weights themselves (q/k rows are permuted in the file, so use v/down/up).
          if (file !== tinyFile && /attn_v|ffn_up|ffn_down/.test(t.name)) {
            const [, layer, kind] = /^blk\.(\d+)\.(\w+)\.weight$/.exec(t.name)!;
            const hf = {
              attn_v: 'self_attn.v_proj',
              ffn_up: 'mlp.up_proj',
              ffn_down: 'mlp.down_proj',
            }[kind!]!;
            const w = (await model.params
              .get(`model.layers.${layer}.${hf}.weight`)
              .data()) as Float32Array;
            let err = 0;
            let norm = 0;
            for (let i = 0; i < n; i++) {
              err += (w[i]! - reference[i]!) ** 2;
              norm += w[i]! ** 2;
            }
            const rel = Math.sqrt(err / norm);
            report(`${name} ${t.name}: relative RMS error ${rel.toFixed(4)}`);
            expect(rel).toBeLessThan(name === 'Q8_0' ? 0.01 : name === 'Q6_K' ? 0.04 : 0.15);
          }
        }
      }
      report(`bits per weight: ${bpw.join(', ')}`);
      // The whole Q4_K_M mix over the 2-D weights of the wide model.
      const g = parseGguf(files[2]!);
      let weights = 0;
      for (const t of g.tensors) if (t.dims.length === 2) weights += t.dims[0]! * t.dims[1]!;
      report(
        `wide q4_k_m: ${(((g.bytes.length - g.dataStart) * 8) / weights).toFixed(3)} bits per weight over the file's tensors`,
      );
      expect([...seen].sort((a, b) => a - b)).toEqual([2, 6, 8, 12, 14]);
      model.dispose();
    },
  );
});
