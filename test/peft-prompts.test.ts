// Prefix and prompt tuning on every fixture architecture: initialised from a text X, the tuned
// model gives the base model's logits for "X + input" (real positions continuing after X);
// gradients of `prompt_embeddings` agree with finite differences; generation continues from the
// virtual tokens (equal to a direct greedy loop and to the base model after X); and the PEFT
// adapter folder written and read back gives identical logits.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../engine/backend/select.js';
import { tf, type Tensor2D, type Tensor4D } from '../engine/backend/tf.js';
import {
  loadPromptAdapterWeights,
  readPromptAdapterOptions,
  writePromptAdapter,
} from '../engine/peft/prompt-adapter.js';
import { SafetensorsFile } from '../engine/io/safetensors.js';
import { loadTokenizer } from '../engine/io/tokenizer.js';
import { forwardLogits, type CausalLM } from '../engine/models/causal-lm.js';
import { generateTokens } from '../engine/models/generate.js';
import { KVCache } from '../engine/models/layers/kv-cache.js';
import { loadModel } from '../engine/models/load.js';
import { causalLmLoss } from '../engine/models/loss.js';
import { greedy } from '../engine/models/sampling.js';
import { loadPeftModel, peftSpec, type PeftModel } from '../engine/peft/load.js';
import { initTokenIds, PROMPT_EMBEDDINGS, type PromptKind } from '../engine/peft/prompts.js';
import { architectureFixtures, encoderFixtures, fixturePath } from './fixtures.js';
import { relativeError, tokenIds } from './numerics.js';

const N = 7;
const TEXT = 'Sharpen the blade';
const kinds = ['prompt', 'prefix'] as const;
let work: string;

beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
  work = await mkdtemp(join(tmpdir(), 'whetstone-prompts-'));
});
afterAll(async () => {
  tf.disposeVariables();
  await rm(work, { recursive: true, force: true });
});

async function values(t: tf.Tensor): Promise<Float32Array> {
  const v = (await t.data()) as Float32Array;
  t.dispose();
  return v;
}

async function logitsOf(model: CausalLM, rows: number[][]): Promise<Float32Array> {
  const x = tf.tensor2d(rows, [rows.length, rows[0]!.length], 'int32');
  const out = await values(forwardLogits(model, x));
  x.dispose();
  return out;
}

function free(...models: CausalLM[]): void {
  for (const m of models) {
    m.params.dispose();
    m.dispose();
  }
}

const load = (
  name: (typeof architectureFixtures)[number] | (typeof encoderFixtures)[number],
  kind: PromptKind,
  initText?: string,
  seed = 3,
) =>
  loadPeftModel(
    fixturePath(name),
    peftSpec(kind, { virtualTokens: N, seed, ...(initText !== undefined && { initText }) }),
  );

// Encoders too, for prompt tuning: the virtual tokens join the sequence as X's embeddings would.
// (A prefix is X's keys and values computed without the input, which a bidirectional X differs
// from: encoders' prefix tuning is covered by test/encoder-methods.test.ts.)
describe.each([...architectureFixtures, ...encoderFixtures])('%s', (name) => {
  it.each(encoderFixtures.some((e) => e === name) ? (['prompt'] as const) : kinds)(
    '%s tuning from a text X gives the base logits of "X + input" on the input',
    async (kind) => {
      const dir = fixturePath(name);
      const base = await loadModel(dir);
      const pm = await load(name, kind, TEXT);
      const textIds = initTokenIds((await loadTokenizer(dir)).encode(TEXT), N);
      expect(textIds).toHaveLength(N);
      const rows = [tokenIds(12, 41), tokenIds(12, 42)];
      const tuned = await logitsOf(pm.model, rows);
      const full = await logitsOf(
        base,
        rows.map((r) => [...textIds, ...r]),
      );
      // The base model's logits at the input's positions (after the N text tokens).
      const v = base.config.vocabSize;
      const expected = new Float32Array(tuned.length);
      rows.forEach((r, b) => {
        const start = (b * (N + r.length) + N) * v;
        expected.set(full.subarray(start, start + r.length * v), b * r.length * v);
      });
      expect(relativeError(tuned, expected)).toBeLessThan(1e-5);
      // And the text matters: without it the logits differ.
      expect(relativeError(await logitsOf(base, rows), expected)).toBeGreaterThan(1e-3);
      free(base, pm.model);
    },
  );
});

describe.each(['llama', 'gpt2', 'opt-post-ln'] as const)('%s gradients', (name) => {
  it.each(kinds)(
    '%s: the gradient of prompt_embeddings matches finite differences',
    async (kind) => {
      const pm = await load(name, kind);
      const prompt = pm.model.params.get(PROMPT_EMBEDDINGS);
      const x = tf.tensor2d([tokenIds(10, 5), tokenIds(10, 6)], [2, 10], 'int32');
      const mask = tf.cast<Tensor2D>(tf.onesLike(x), 'float32');
      const loss = () => causalLmLoss(forwardLogits(pm.model, x), x, mask);
      const { value, grads } = tf.variableGrads(loss, [prompt]);
      const g = grads[prompt.name]!;
      // Every layer's slice of a prefix takes a gradient (every layer reads its keys and values).
      if (kind === 'prefix') {
        const perLayer = tf.tidy(() =>
          tf.sum(tf.abs(tf.reshape(g, [N, pm.model.config.layers, -1])), [0, 2]),
        );
        expect([...(await values(perLayer))].every((s) => s > 0)).toBe(true);
      }
      // Directional derivatives along random directions: ∇L·u against (L(θ+εu) − L(θ−εu)) / 2ε.
      const eps = 1e-3;
      const original = tf.clone(prompt);
      for (const seed of [1, 2, 3]) {
        const u = tf.randomNormal(prompt.shape, 0, 1, 'float32', seed);
        const analytic = (await values(tf.sum(tf.mul(g, u))))[0]!;
        const at = async (s: number) => {
          prompt.assign(tf.tidy(() => tf.add(original, tf.mul(u, s))));
          return (await values(tf.tidy(loss)))[0]!;
        };
        const numeric = ((await at(eps)) - (await at(-eps))) / (2 * eps);
        prompt.assign(original);
        u.dispose();
        // 2% of the derivative, plus the float32 noise of a central difference of two losses
        // (≈ 1e-6 each, over 2ε): small directional derivatives are dominated by it.
        expect(Math.abs(analytic - numeric), `${analytic} vs ${numeric}`).toBeLessThan(
          2e-2 * Math.abs(analytic) + 2e-3,
        );
      }
      tf.dispose([value, g, x, mask, original]);
      free(pm.model);
    },
  );
});

describe.each(['llama', 'mistral', 'gpt2', 'opt'] as const)('%s generation', (name) => {
  const promptIds = tokenIds(5, 77);
  const opts = { ...greedy, maxNewTokens: 8, stopTokenIds: [], seed: 0 };

  it.each(kinds)(
    '%s: continues from the virtual tokens, as a direct greedy loop does',
    async (kind) => {
      const pm = await load(name, kind);
      const base = await loadModel(fixturePath(name));
      const tuned = (await generateTokens(pm.model, promptIds, opts)).ids;
      // Direct: the whole sequence through the tuned model's forward (no cache) at every step.
      const ids = [...promptIds];
      for (let i = 0; i < opts.maxNewTokens; i++) {
        const logits = await logitsOf(pm.model, [ids]);
        const v = pm.model.config.vocabSize;
        const last = logits.subarray((ids.length - 1) * v);
        ids.push(last.indexOf(Math.max(...last)));
      }
      expect(tuned).toEqual(ids.slice(promptIds.length));
      expect(tuned).not.toEqual((await generateTokens(base, promptIds, opts)).ids);
      free(pm.model, base);
    },
  );

  it.each(kinds)('%s from a text X generates what the base model does after X', async (kind) => {
    const dir = fixturePath(name);
    const pm = await load(name, kind, TEXT);
    const base = await loadModel(dir);
    const textIds = initTokenIds((await loadTokenizer(dir)).encode(TEXT), N);
    const tuned = (await generateTokens(pm.model, promptIds, opts)).ids;
    expect(tuned).toEqual((await generateTokens(base, [...textIds, ...promptIds], opts)).ids);
    free(pm.model, base);
  });
});

describe.each(kinds)('%s adapter folder', (kind) => {
  it.each(['llama', 'gpt2'] as const)(
    '%s: export then import gives identical logits',
    async (name) => {
      const pm: PeftModel = await load(name, kind, undefined, 11);
      const out = join(work, `${kind}-${name}`);
      await writePromptAdapter(pm, kind, fixturePath(name), out);
      const config = JSON.parse(await readFile(join(out, 'adapter_config.json'), 'utf8')) as Record<
        string,
        unknown
      >;
      const c = pm.model.config;
      expect(config).toMatchObject({
        peft_type: kind === 'prefix' ? 'PREFIX_TUNING' : 'PROMPT_TUNING',
        task_type: 'CAUSAL_LM',
        num_virtual_tokens: N,
        num_layers: c.layers,
        num_transformer_submodules: 1,
        inference_mode: true,
        base_model_name_or_path: fixturePath(name),
        ...(kind === 'prefix'
          ? {
              prefix_projection: false,
              num_attention_heads: c.kvHeads,
              token_dim: c.kvHeads * c.headDim,
            }
          : { prompt_tuning_init: 'RANDOM', num_attention_heads: c.heads }),
      });
      const file = await SafetensorsFile.open(join(out, 'adapter_model.safetensors'));
      expect(file.names()).toEqual(['prompt_embeddings']);
      const [n, width] = (await file.read('prompt_embeddings')).shape;
      expect(n).toBe(N);
      expect(width).toBe(kind === 'prefix' ? c.layers * 2 * c.kvHeads * c.headDim : c.hidden);
      await file.close();

      const { virtualTokens } = await readPromptAdapterOptions(out, kind);
      const back = await loadPeftModel(
        fixturePath(name),
        peftSpec(kind, { virtualTokens, seed: 99 }),
      );
      const rows = [tokenIds(9, 3)];
      const before = await logitsOf(back.model, rows);
      await loadPromptAdapterWeights(out, back);
      const expected = await logitsOf(pm.model, rows);
      expect(relativeError(before, expected)).toBeGreaterThan(1e-3);
      expect(relativeError(await logitsOf(back.model, rows), expected)).toBe(0);
      // An adapter of the other kind is refused with the reason.
      await expect(
        readPromptAdapterOptions(out, kind === 'prefix' ? 'prompt' : 'prefix'),
      ).rejects.toMatchObject({ code: 'MODEL_UNSUPPORTED' });
      free(pm.model, back.model);
    },
  );
});

it.each(kinds)('%s: the random initialisation is seeded (seed 0 included)', async (kind) => {
  const draws = [];
  for (const seed of [0, 0, 1]) {
    const pm = await load('llama', kind, undefined, seed);
    draws.push(await values(tf.clone(pm.model.params.get(PROMPT_EMBEDDINGS))));
    free(pm.model);
  }
  expect(draws[1]).toEqual(draws[0]);
  expect(relativeError(draws[2]!, draws[0]!)).toBeGreaterThan(0.1);
});

describe.each(['qwen2', 'gpt2'] as const)('%s prefix layout', (name) => {
  it("reads prompt_embeddings as PEFT's view [n, L·2, KV, D]: layer l's keys at 2l, values at 2l+1", async () => {
    const pm = await load(name, 'prefix');
    const c = pm.model.config;
    const p = pm.model.params.get(PROMPT_EMBEDDINGS);
    const flat = (await p.data()) as Float32Array;
    const written: { k: Float32Array; v: Float32Array }[] = [];
    class Capture extends KVCache {
      override write(layer: number, k: Tensor4D, v: Tensor4D) {
        written[layer] = { k: k.dataSync() as Float32Array, v: v.dataSync() as Float32Array };
        return { k, v };
      }
    }
    pm.model.prefix!.fill(new Capture(c.layers, N));
    const width = c.layers * 2 * c.kvHeads * c.headDim;
    for (let l = 0; l < c.layers; l++) {
      for (const [which, offset] of [
        ['k', 0],
        ['v', 1],
      ] as const) {
        // Direct indexing: cache [1, KV, n, D] at (h, t, d) = P[t, ((2l + offset)·KV + h)·D + d].
        const expected = new Float32Array(c.kvHeads * N * c.headDim);
        for (let h = 0; h < c.kvHeads; h++)
          for (let t = 0; t < N; t++)
            for (let d = 0; d < c.headDim; d++)
              expected[(h * N + t) * c.headDim + d] =
                flat[t * width + ((2 * l + offset) * c.kvHeads + h) * c.headDim + d]!;
        expect(written[l]![which]).toEqual(expected);
      }
    }
    free(pm.model);
  });
});
