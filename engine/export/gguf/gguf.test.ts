// The GGUF writer's layout, the refusals, the pre-tokenizer mapping and the Modelfile, on their
// own (llama.cpp's verdict on whole files is in test/gguf-*.test.ts).
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFixtureModel } from '../../fixtures/fixture-model.js';
import { loadTokenizer } from '../../io/tokenizer.js';
import { checkModel } from '../../models/load.js';
import { architectureMetadata } from './metadata.js';
import { ollamaModelfile } from './modelfile.js';
import { preTokenizerName, tokenizerMetadata } from './tokenizer-meta.js';
import { permuteRope } from './tensors-llama.js';
import { pickTypes } from './quant-mix.js';
import { ggufPreamble, tensorBytes, writeGguf, type GgufMetadata } from './writer.js';

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'whetstone-gguf-unit-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('writer', () => {
  it('lays out header, typed metadata, reversed dims and 32-byte aligned data', async () => {
    const meta: GgufMetadata = new Map([
      ['general.architecture', { type: 'string', value: 'llama' }],
      ['x.count', { type: 'u32', value: 7 }],
    ]);
    const a = new Float32Array([1, 2, 3, 4, 5, 6]);
    const b = new Float32Array([9]);
    const tensors = [
      {
        name: 'a',
        shape: [2, 3],
        type: 'F32' as const,
        data: () => Promise.resolve(new Uint8Array(a.buffer)),
      },
      {
        name: 'b',
        shape: [1],
        type: 'F32' as const,
        data: () => Promise.resolve(new Uint8Array(b.buffer)),
      },
    ];
    const file = join(work, 'tiny.gguf');
    await writeGguf(file, meta, tensors);
    const bytes = new Uint8Array(await readFile(file));
    const view = new DataView(bytes.buffer);
    expect(new TextDecoder().decode(bytes.subarray(0, 4))).toBe('GGUF');
    expect(view.getUint32(4, true)).toBe(3);
    expect(view.getBigUint64(8, true)).toBe(2n);
    expect(view.getBigUint64(16, true)).toBe(2n);
    // key "general.architecture": u64 length, bytes, then type 8 (string).
    expect(view.getBigUint64(24, true)).toBe(20n);
    expect(view.getUint32(24 + 8 + 20, true)).toBe(8);
    const preamble = ggufPreamble(meta, tensors);
    expect(preamble.length % 32).toBe(0);
    // Tensor a: fastest dimension (3) first; data at the start, b at the next multiple of 32.
    const text = new TextDecoder('latin1').decode(bytes);
    const info = text.indexOf('\u0001\u0000\u0000\u0000\u0000\u0000\u0000\u0000a') + 9;
    expect(view.getUint32(info, true)).toBe(2);
    expect(view.getBigUint64(info + 4, true)).toBe(3n);
    expect(view.getBigUint64(info + 12, true)).toBe(2n);
    expect(new Float32Array(bytes.slice(preamble.length, preamble.length + 24).buffer)).toEqual(a);
    expect(
      new Float32Array(bytes.slice(preamble.length + 32, preamble.length + 36).buffer),
    ).toEqual(b);
    await expect(writeGguf(file, meta, tensors)).rejects.toThrow(/already exists/);
  });
});

describe('llama q/k permutation', () => {
  it('interleaves the two rotate-half halves of each head', () => {
    // 2 heads of size 4, one column: rows [h0: 0 1 2 3, h1: 4 5 6 7].
    const rows = Float32Array.from([0, 1, 2, 3, 4, 5, 6, 7]);
    expect([...permuteRope(rows, 2, 1)]).toEqual([0, 2, 1, 3, 4, 6, 5, 7]);
  });
});

describe('refusals', () => {
  it('refuses OPT, which llama.cpp has no architecture for', async () => {
    const dir = join(work, 'opt');
    await writeFixtureModel({ arch: 'opt', out: dir, force: true });
    const checked = await checkModel(dir);
    await checked.source.close();
    expect(() => architectureMetadata(checked.config)).toThrow(/llama.cpp has no OPT architecture/);
  });

  it("caps Mistral's context at its sliding window and refuses qwen2 heads narrower than the width", async () => {
    const mistral = join(work, 'mistral-window');
    await writeFixtureModel({ arch: 'mistral', contextLength: 128, out: mistral, force: true });
    const m = await checkModel(mistral);
    await m.source.close();
    expect(architectureMetadata(m.config).get('llama.context_length')).toEqual({
      type: 'u32',
      value: 32,
    });
    const qwen = join(work, 'qwen2-heads');
    await writeFixtureModel({
      arch: 'qwen2',
      out: qwen,
      force: true,
      configOverrides: { head_dim: 32 },
    });
    const q = await checkModel(qwen);
    await q.source.close();
    expect(() => architectureMetadata(q.config)).toThrow(/4 heads of size 32 in a width of 64/);
  });

  it('maps GPT-2, Llama 3 and Qwen2 pre-tokenizers and refuses others with the reason', () => {
    const bpe = { type: 'BPE', vocab: {}, merges: [] };
    const split = (regex: string) => ({
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: regex }, behavior: 'Isolated', invert: false },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    });
    const llama3 =
      "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    const gpt2 = { type: 'ByteLevel', add_prefix_space: false, use_regex: true };
    expect(preTokenizerName({ model: bpe, pre_tokenizer: gpt2 }, 'f')).toBe('gpt-2');
    expect(preTokenizerName({ model: bpe, pre_tokenizer: split(llama3) }, 'f')).toBe('llama-bpe');
    expect(
      preTokenizerName(
        {
          model: bpe,
          pre_tokenizer: split(llama3.replace('{1,3}', '')),
          normalizer: { type: 'NFC' },
        },
        'f',
      ),
    ).toBe('qwen2');
    expect(() =>
      preTokenizerName({ model: bpe, pre_tokenizer: split('\\s+|\\w+') }, 'tokenizer.json'),
    ).toThrow(/tokenizer.json has a pre-tokenizer .* not GPT-2's, Llama 3's or Qwen2's/);
    expect(() =>
      preTokenizerName({ model: { ...bpe, byte_fallback: true }, pre_tokenizer: gpt2 }, 'f'),
    ).toThrow(/byte fallback/);
    expect(() => preTokenizerName({ model: { type: 'Unigram' } }, 'f')).toThrow(/Unigram model/);
    expect(() =>
      preTokenizerName({ model: bpe, pre_tokenizer: { ...gpt2, add_prefix_space: true } }, 'f'),
    ).toThrow(/pre-tokenizer/);
  });
});

describe('Modelfile', () => {
  it('turns a ChatML template into an Ollama template and stops at the turn end', async () => {
    const dir = join(work, 'qwen2');
    await writeFixtureModel({ arch: 'qwen2', out: dir, force: true });
    const tok = await loadTokenizer(dir);
    const { text, warnings } = ollamaModelfile(
      'm.gguf',
      tok,
      (id) => (id === tok.eosTokenIds[0] ? '<|endoftext|>' : '?'),
      ['<|im_start|>', '<|im_end|>', '<|endoftext|>'],
    );
    expect(warnings).toEqual([]);
    expect(text).toContain('FROM ./m.gguf\n');
    expect(text).toContain(
      'TEMPLATE """{{ range $i, $_ := .Messages }}{{ $last := eq (len (slice $.Messages $i)) 1 }}{{ if eq .Role "system" }}<|im_start|>system\n{{ .Content }}<|im_end|>\n{{ else if eq .Role "user" }}<|im_start|>user\n{{ .Content }}<|im_end|>\n',
    );
    expect(text).toContain(
      '{{ if and $last (ne .Role "assistant") }}<|im_start|>assistant\n{{ end }}',
    );
    expect(text).toContain('PARAMETER stop "<|endoftext|>"\n');
    expect(text).toContain('PARAMETER stop "<|im_end|>"\n');
  });

  it('leaves out BOS the runner adds, and has no TEMPLATE for a template it cannot follow', async () => {
    const llamaDir = join(work, 'llama');
    await writeFixtureModel({ arch: 'llama', out: llamaDir, force: true });
    const tok = await loadTokenizer(llamaDir);
    const { text } = ollamaModelfile('m.gguf', tok, () => '<|eot_id|>', [], '<|begin_of_text|>');
    expect(text).toMatch(/^FROM \.\/m\.gguf\nTEMPLATE """\{\{ range/);
    expect(text).not.toContain('<|begin_of_text|>');

    const mistralDir = join(work, 'mistral');
    await writeFixtureModel({ arch: 'mistral', out: mistralDir, force: true });
    const mistral = ollamaModelfile('m.gguf', await loadTokenizer(mistralDir), () => '</s>', []);
    expect(mistral.text).not.toContain('TEMPLATE');
    expect(mistral.warnings[0]).toMatch(/no TEMPLATE/);
    await writeFile(join(work, 'Modelfile'), mistral.text);
  });
});

describe('Q4_K_M mix', () => {
  it("gives Llama 2 7B's shapes llama.cpp's published 4.84 bits per weight (within 2%)", () => {
    // Llama 2 7B: width 4096, 32 layers, feed-forward 11008, vocabulary 32000, untied output.
    const [h, f, v, layers] = [4096, 11008, 32000, 32];
    const tensors = [{ name: 'token_embd.weight', shape: [v, h] }];
    for (let i = 0; i < layers; i++) {
      const b = `blk.${i}`;
      tensors.push(
        { name: `${b}.attn_norm.weight`, shape: [h] },
        ...['attn_q', 'attn_k', 'attn_v', 'attn_output'].map((n) => ({
          name: `${b}.${n}.weight`,
          shape: [h, h],
        })),
        { name: `${b}.ffn_norm.weight`, shape: [h] },
        { name: `${b}.ffn_gate.weight`, shape: [f, h] },
        { name: `${b}.ffn_up.weight`, shape: [f, h] },
        { name: `${b}.ffn_down.weight`, shape: [h, f] },
      );
    }
    tensors.push(
      { name: 'output_norm.weight', shape: [h] },
      { name: 'output.weight', shape: [v, h] },
    );
    const types = pickTypes('q4_k_m', tensors, layers, false);
    let bits = 0;
    let weights = 0;
    for (const [i, t] of tensors.entries()) {
      bits += tensorBytes({ shape: t.shape, type: types[i]! }) * 8;
      weights += t.shape.reduce((a, b) => a * b, 1);
    }
    expect(Math.abs(bits / weights / 4.84 - 1)).toBeLessThan(0.02);
    // Q6_K where llama.cpp's mix puts it: the output, and attn_v / ffn_down of chosen layers.
    expect(types.at(-1)).toBe('Q6_K');
    expect(types[tensors.findIndex((t) => t.name === 'blk.0.attn_v.weight')]).toBe('Q6_K');
    expect(types[tensors.findIndex((t) => t.name === 'blk.5.attn_v.weight')]).toBe('Q4_K');
    expect(types[tensors.findIndex((t) => t.name === 'blk.6.ffn_down.weight')]).toBe('Q6_K');
  });
});

describe('add_bos_token', () => {
  it("follows a Sequence post-processor's BOS when tokenizer_config does not say", async () => {
    const dir = join(work, 'llama-bos');
    await writeFixtureModel({ arch: 'llama', out: dir, force: true });
    const tj = JSON.parse(await readFile(join(dir, 'tokenizer.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    const template = tj.post_processor;
    tj.post_processor = { type: 'Sequence', processors: [{ type: 'ByteLevel' }, template] };
    await writeFile(join(dir, 'tokenizer.json'), JSON.stringify(tj));
    const config = JSON.parse(await readFile(join(dir, 'tokenizer_config.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    delete config.add_bos_token;
    await writeFile(join(dir, 'tokenizer_config.json'), JSON.stringify(config));
    const tok = await loadTokenizer(dir);
    const meta = await tokenizerMetadata(dir, tok, 512);
    expect(meta.get('tokenizer.ggml.add_bos_token')).toEqual({ type: 'bool', value: true });
    tj.post_processor = { type: 'ByteLevel' };
    await writeFile(join(dir, 'tokenizer.json'), JSON.stringify(tj));
    const without = await tokenizerMetadata(dir, tok, 512);
    expect(without.get('tokenizer.ggml.add_bos_token')).toEqual({ type: 'bool', value: false });
  });
});
