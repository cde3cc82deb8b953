// Loading real-layout folders: shards, half-precision storage, name variants, and every way a
// folder can be wrong, each with its own error.
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../engine/backend/select.js';
import { tf } from '../engine/backend/tf.js';
import type { WhetstoneError } from '../engine/errors.js';
import { SafetensorsFile } from '../engine/io/safetensors.js';
import { writeSafetensors, type WriteEntry } from '../engine/io/safetensors-writer.js';
import { loadModel } from '../engine/models/load.js';
import { fixturePath } from './fixtures.js';

let work: string;
beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
  work = await mkdtemp(join(tmpdir(), 'whetstone-load-'));
});
afterAll(async () => {
  tf.disposeVariables();
  await rm(work, { recursive: true, force: true });
});

async function paramValues(dir: string): Promise<Map<string, Float32Array>> {
  const model = await loadModel(dir);
  const out = new Map<string, Float32Array>();
  for (const [name, v] of model.params.entries()) out.set(name, (await v.data()) as Float32Array);
  model.params.dispose();
  model.dispose();
  return out;
}

/** Copy a fixture, rewriting its safetensors through `edit` (rename, drop, reshape tensors). */
async function variant(
  name: string,
  edit: (entries: WriteEntry[]) => WriteEntry[],
  configEdit?: (c: Record<string, unknown>) => void,
): Promise<string> {
  const dir = await mkdtemp(join(work, `${name}-`));
  await cp(fixturePath(name), dir, { recursive: true });
  const file = await SafetensorsFile.open(join(dir, 'model.safetensors'));
  const entries: WriteEntry[] = [];
  for (const tensorName of file.names()) {
    const info = file.info(tensorName);
    entries.push({
      name: tensorName,
      shape: info.shape,
      dtype: info.dtype,
      data: await file.readRaw(tensorName),
    });
  }
  await file.close();
  await writeSafetensors(join(dir, 'model.safetensors'), edit(entries));
  if (configEdit) {
    const config = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    configEdit(config);
    await writeFile(join(dir, 'config.json'), JSON.stringify(config));
  }
  return dir;
}

async function loadError(dir: string): Promise<WhetstoneError> {
  return loadModel(dir).then(
    () => {
      throw new Error('expected the load to fail');
    },
    (err: WhetstoneError) => err,
  );
}

describe('model folders', () => {
  it('a sharded checkpoint loads exactly as the single file', async () => {
    const single = await paramValues(fixturePath('llama'));
    const sharded = await paramValues(fixturePath('llama-sharded'));
    expect([...sharded.keys()].sort()).toEqual([...single.keys()].sort());
    for (const [name, values] of single) expect(sharded.get(name), name).toEqual(values);
  });

  it('float16 storage loads as the float16-rounded float32 weights', async () => {
    const f32 = await paramValues(fixturePath('llama'));
    const f16 = await paramValues(fixturePath('llama-f16'));
    for (const [name, values] of f32) {
      const half = f16.get(name)!;
      for (let i = 0; i < values.length; i += 97) {
        expect(Math.abs(half[i]! - values[i]!)).toBeLessThanOrEqual(
          Math.abs(values[i]!) * 2 ** -11 + 2 ** -24,
        );
      }
    }
  });

  it('GPT-2 and OPT checkpoints without the transformers prefix load the same', async () => {
    for (const [name, prefix] of [
      ['gpt2', 'transformer.'],
      ['opt', 'model.'],
    ] as const) {
      const bare = await variant(name, (entries) =>
        entries.map((e) => ({
          ...e,
          name: e.name.startsWith(prefix) ? e.name.slice(prefix.length) : e.name,
        })),
      );
      const expected = await paramValues(fixturePath(name));
      const got = await paramValues(bare);
      for (const [param, values] of expected) expect(got.get(param), param).toEqual(values);
    }
  });

  it("RoBERTa/BERT: a bias saved as the decoder's loads the same; pooler tensors are ignored", async () => {
    for (const [name, bias, decoderBias, pooler] of [
      ['roberta', 'lm_head.bias', 'lm_head.decoder.bias', 'roberta.pooler.dense.bias'],
      ['bert', 'cls.predictions.bias', 'cls.predictions.decoder.bias', 'bert.pooler.dense.bias'],
    ] as const) {
      const dir = await variant(name, (entries) => {
        const b = entries.find((e) => e.name === bias)!;
        const others = entries.filter((e) => e.name !== bias);
        const extra = {
          name: pooler,
          shape: [64],
          dtype: 'F32' as const,
          data: new Float32Array(64),
        };
        return [...others, { ...b, name: decoderBias }, extra];
      });
      const expected = await paramValues(fixturePath(name));
      const got = await paramValues(dir);
      expect([...got.keys()].sort()).toEqual([...expected.keys()].sort());
      for (const [param, values] of expected) expect(got.get(param), param).toEqual(values);
    }
  });

  it('RoBERTa with relative position embeddings is refused with the reason', async () => {
    const dir = await variant(
      'roberta',
      (entries) => entries,
      (c) => (c.position_embedding_type = 'relative_key'),
    );
    const err = await loadError(dir);
    expect(err.code).toBe('MODEL_UNSUPPORTED');
    expect(err.message).toContain('relative_key');
  });

  it('a missing tensor names itself, the file and the config', async () => {
    const dir = await variant('llama', (entries) =>
      entries.filter((e) => e.name !== 'model.layers.1.mlp.up_proj.weight'),
    );
    const err = await loadError(dir);
    expect(err.code).toBe('TENSOR_MISSING');
    expect(err.message).toContain('model.layers.1.mlp.up_proj.weight');
    expect(err.message).toContain('model.safetensors');
  });

  it('a tensor whose shape disagrees with config.json is refused', async () => {
    const dir = await variant(
      'llama',
      (entries) => entries,
      (c) => (c.intermediate_size = 96),
    );
    const err = await loadError(dir);
    expect(err.code).toBe('TENSOR_SHAPE_MISMATCH');
    expect(err.message).toMatch(/mlp\.\w+_proj\.weight/);
  });

  it('unsupported model types and pre-quantized checkpoints say what is supported', async () => {
    const t5 = await variant(
      'llama',
      (e) => e,
      (c) => (c.model_type = 't5'),
    );
    const err = await loadError(t5);
    expect(err.code).toBe('MODEL_UNSUPPORTED');
    expect(err.message).toContain('t5');
    expect(err.message).toContain('llama');
    const gptq = await variant(
      'llama',
      (e) => e,
      (c) => (c.quantization_config = { quant_method: 'gptq' }),
    );
    expect((await loadError(gptq)).code).toBe('MODEL_UNSUPPORTED');
  });

  it('integer weights are refused as a quantized checkpoint', async () => {
    const dir = await variant('gpt2', (entries) =>
      entries.map((e) =>
        e.name === 'transformer.ln_f.bias'
          ? { ...e, dtype: 'I32' as const, data: new Int32Array(e.shape[0]!) }
          : e,
      ),
    );
    const err = await loadError(dir);
    expect(err.code).toBe('MODEL_UNSUPPORTED');
    expect(err.message).toContain('transformer.ln_f.bias');
  });

  it('a folder without config.json or with broken JSON is reported', async () => {
    const empty = await mkdtemp(join(work, 'empty-'));
    expect((await loadError(empty)).code).toBe('MODEL_NOT_FOUND');
    const broken = await variant('opt', (e) => e);
    await writeFile(join(broken, 'config.json'), '{"model_type": "opt",');
    expect((await loadError(broken)).code).toBe('CONFIG_INVALID');
  });

  it('loading leaves only the parameters alive', async () => {
    const before = tf.memory().numBytes;
    const model = await loadModel(fixturePath('qwen2'));
    expect(tf.memory().numBytes - before).toBe(model.params.bytes());
    model.params.dispose();
    model.dispose();
    expect(tf.memory().numBytes).toBe(before);
  });
});
