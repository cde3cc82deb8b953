// Every metadata key that sets a shape, a rope or norm constant, or the tokenizer matters: with
// it removed from a Whetstone GGUF, llama.cpp refuses the file or answers differently (other
// log-probabilities, token ids, special tokens or chat template). A key llama.cpp could default
// to the right value would pass unnoticed if written wrong, so the fixtures avoid defaults: head
// size 32 (not hidden/heads = 16), grouped-query attention, rope base 500000 (llama) and 1e6
// (qwen2), llama3 rope scaling, ε 1e-5.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFixtureModel, type FixtureOptions } from '../engine/fixtures/fixture-model.js';
import { loadTokenizer } from '../engine/io/tokenizer.js';
import { exportModelGguf } from './gguf/export.js';
import { encodeEntry, ggufMetadata, parseGguf, rewriteGguf } from './gguf/gguf-file.js';
import type { OracleAnswer } from './gguf/llama-cpp-worker.js';
import { askLlamaCpp, llamaCppMissing, report } from './gguf/llama-cpp.js';
import { maxAbsDiff } from './gguf/whetstone-side.js';
import { tokenIds } from './numerics.js';

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'whetstone-gguf-keys-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

const tokenizerKeys = [
  'tokenizer.ggml.model',
  'tokenizer.ggml.pre',
  'tokenizer.ggml.tokens',
  'tokenizer.ggml.token_type',
  'tokenizer.ggml.merges',
  'tokenizer.ggml.bos_token_id',
  'tokenizer.ggml.eos_token_id',
  'tokenizer.ggml.add_bos_token',
  'tokenizer.chat_template',
];

interface KeyCase {
  fixture: Omit<FixtureOptions, 'out'>;
  /** Keys removed one at a time. */
  keys: string[];
  /** Keys whose value is llama.cpp's default when missing: given a wrong value instead. */
  wrong?: Record<string, [type: 'string', value: string]>;
}

const cases: Record<string, KeyCase> = {
  llama: {
    fixture: { arch: 'llama', seed: 11, configOverrides: { head_dim: 32 } },
    keys: [
      'general.architecture',
      ...[
        'context_length',
        'embedding_length',
        'block_count',
        'feed_forward_length',
        'attention.head_count',
        'attention.head_count_kv',
        'attention.key_length',
        'attention.value_length',
        'rope.freq_base',
        'attention.layer_norm_rms_epsilon',
      ].map((k) => `llama.${k}`),
      ...tokenizerKeys,
    ],
  },
  'llama-linear': {
    fixture: {
      arch: 'llama',
      seed: 14,
      configOverrides: { rope_scaling: { type: 'linear', factor: 4 } },
    },
    keys: ['llama.rope.scaling.factor'],
    // llama.cpp reads a missing scaling type as linear, so the written one is tested by a wrong one.
    wrong: { 'llama.rope.scaling.type': ['string', 'none'] },
  },
  qwen2: {
    // llama.cpp's qwen2 needs heads x head size = width, so its key/value lengths are always
    // the defaults (the exporter refuses other qwen2 models); the llama case covers those keys.
    fixture: { arch: 'qwen2', seed: 12 },
    keys: [
      'qwen2.context_length',
      'qwen2.embedding_length',
      'qwen2.block_count',
      'qwen2.feed_forward_length',
      'qwen2.attention.head_count',
      'qwen2.attention.head_count_kv',
      'qwen2.rope.freq_base',
      'qwen2.attention.layer_norm_rms_epsilon',
    ],
  },
  gpt2: {
    fixture: { arch: 'gpt2', seed: 13 },
    keys: [
      'gpt2.context_length',
      'gpt2.embedding_length',
      'gpt2.block_count',
      'gpt2.feed_forward_length',
      'gpt2.attention.head_count',
      'gpt2.attention.layer_norm_epsilon',
    ],
  },
};

const texts = [
  'Hone it, then strop: 12,345 strokes!!  Done?',
  '<|start_header_id|>user<|end_header_id|>\n\nhi<|eot_id|><|im_start|>x<|im_end|>',
];

/** What changed between two answers, or undefined when llama.cpp said the same. */
function difference(a: OracleAnswer, b: OracleAnswer): string | undefined {
  const lp = maxAbsDiff(a.logProbs![0]!, b.logProbs![0]!);
  if (!(lp < 1e-4)) return `log-probabilities moved by ${lp}`;
  if (JSON.stringify(a.tokens) !== JSON.stringify(b.tokens)) return 'token ids differ';
  for (const k of ['bos', 'eos', 'addBos', 'chatTemplate'] as const) {
    if (a[k] !== b[k]) return `${k} ${String(a[k])} -> ${String(b[k])}`;
  }
  return undefined;
}

describe.skipIf(llamaCppMissing !== undefined).each(Object.keys(cases))('%s', (name) => {
  it('llama.cpp refuses or answers differently without each key', async () => {
    const { fixture, keys, wrong = {} } = cases[name]!;
    const dir = join(work, name);
    await writeFixtureModel({ ...fixture, out: dir, force: true });
    const file = join(work, `${name}.gguf`);
    await exportModelGguf(dir, 'f32', file);
    const g = parseGguf(file);
    const meta = ggufMetadata(g);
    const vocab = (meta['tokenizer.ggml.tokens'] as string[]).length;
    const probe = { vocab, logProbs: [tokenIds(6, 3, 4, 250)], tokenize: texts };
    const variants = keys.map((key) => {
      const out = join(work, `${name}-without-${key}.gguf`);
      rewriteGguf(g, out, key);
      return out;
    });
    // rope.dimension_count equals the head size llama.cpp defaults it to; a wrong one must show.
    const arch = meta['general.architecture'] as string;
    const ropeKey = `${arch}.rope.dimension_count`;
    if (ropeKey in meta) {
      const out = join(work, `${name}-wrong-rope-dims.gguf`);
      rewriteGguf(g, out, ropeKey, encodeEntry(ropeKey, 'u32', (meta[ropeKey] as number) / 2));
      variants.push(out);
    }
    for (const [key, [type, value]] of Object.entries(wrong)) {
      const out = join(work, `${name}-wrong-${key}.gguf`);
      rewriteGguf(g, out, key, encodeEntry(key, type, value));
      variants.push(out);
    }
    const [base, ...results] = await askLlamaCpp(
      [file, ...variants].map((model) => ({ model, ...probe })),
    );
    if (!base!.ok) throw new Error(`llama.cpp refused the complete file: ${base!.error}`);
    const labels = [
      ...keys,
      ...(ropeKey in meta ? [`${ropeKey} (halved)`] : []),
      ...Object.entries(wrong).map(([key, [, value]]) => `${key} (${value})`),
    ];
    for (const [i, r] of results.entries()) {
      const what = r.ok ? difference(base!.answer, r.answer) : `refused: ${r.error.slice(0, 80)}`;
      report(`${name} without ${labels[i]}: ${what ?? 'no change'}`);
      expect(what, `${labels[i]} made no difference`).toBeDefined();
    }
    // The complete file tokenizes as Whetstone does (so the differences above are departures).
    const tokenizer = await loadTokenizer(dir);
    expect(base!.answer.tokens![0]).toEqual(
      tokenizer.encode(texts[0]!, { addSpecialTokens: false }),
    );
  });
});
