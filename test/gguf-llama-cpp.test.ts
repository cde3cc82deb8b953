// GGUF export checked by llama.cpp itself (node-llama-cpp's prebuilt CPU build, in a child
// process): for each architecture, F32, F16 (and, looser, BF16) files give llama.cpp's next-token
// log-probabilities and greedy tokens equal to Whetstone's, and llama.cpp tokenizes text as
// Whetstone's tokenizer does. Skips with a reason without llama.cpp, except in CI.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../engine/backend/select.js';
import { tf } from '../engine/backend/tf.js';
import { writeFixtureModel, type FixtureOptions } from '../engine/fixtures/fixture-model.js';
import { loadTokenizer } from '../engine/io/tokenizer.js';
import { loadModel } from '../engine/models/load.js';
import { exportModelGguf } from './gguf/export.js';
import { llamaCpp, llamaCppMissing, report } from './gguf/llama-cpp.js';
import { maxAbsDiff, whetstoneGreedy, whetstoneLogProbs } from './gguf/whetstone-side.js';
import { runCli } from './cli.js';
import { fixtureSpecs, writeSentencesJsonl } from './fixtures.js';
import { tokenIds } from './numerics.js';

let work: string;
beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
  work = await mkdtemp(join(tmpdir(), 'whetstone-gguf-'));
});
afterAll(async () => {
  tf.disposeVariables();
  await rm(work, { recursive: true, force: true });
});

// Mistral's window (64 of 128) covers prompt and continuation: within it, llama.cpp's full
// attention is Mistral's sliding attention.
const fixtures: Record<string, Omit<FixtureOptions, 'out'>> = {
  llama: fixtureSpecs.llama!,
  mistral: { arch: 'mistral', seed: 2, configOverrides: { sliding_window: 64 } },
  qwen2: fixtureSpecs.qwen2!,
  gpt2: fixtureSpecs.gpt2!,
  // Linear rope scaling travels as rope.scaling.type and .factor (llama3's as a tensor).
  'llama-linear': {
    arch: 'llama',
    seed: 3,
    configOverrides: { rope_scaling: { type: 'linear', factor: 4 } },
  },
};

const texts = [
  'The whetstone is flat, and the blade is sharp.',
  'Crème brûlée à la façon de Zoë; naïve señor Øresund.',
  'Call 555-0142 before 10:30, or pay $1,234.56 (3.5% off) in 2024!',
  'Sharp 🔪 edges ✨ and emoji 🎉👍🏽 here.',
  'def hone(blade, grit=1000):\n    return [x ** 2 for x in range(10)]  # ok\n\tdone()',
];

describe.skipIf(llamaCppMissing !== undefined).each(Object.keys(fixtures))('%s', (name) => {
  let dir: string;
  beforeAll(async () => {
    dir = join(work, name);
    await writeFixtureModel({ ...fixtures[name]!, out: dir, force: true });
  });

  it('F32, F16 and BF16: llama.cpp gives Whetstone logits, greedy tokens and token ids', async () => {
    const model = await loadModel(dir);
    const tokenizer = await loadTokenizer(dir);
    const vocab = model.config.vocabSize;
    const prompt = tokenIds(8, 31);
    const mine = await whetstoneLogProbs(model, prompt);
    const greedy = await whetstoneGreedy(model, prompt, 32);
    const chat = tokenizer.renderChat(
      [
        { role: 'user', content: 'Hone the blade?' },
        { role: 'assistant', content: 'Yes, at 20°.' },
      ],
      { addGenerationPrompt: false },
    );
    const quants = ['f32', 'f16', 'bf16'] as const;
    const files = quants.map((q) => join(work, `${name}-${q}.gguf`));
    for (const [i, q] of quants.entries()) await exportModelGguf(dir, q, files[i]!);
    const answers = await llamaCpp(
      files.map((file, i) => ({
        model: file,
        vocab,
        logProbs: [prompt],
        greedy: { prompt, steps: 32 },
        ...(i === 0 && { tokenize: [...texts, chat] }),
      })),
    );
    for (const [i, quant] of quants.entries()) {
      const answer = answers[i]!;
      const diff = maxAbsDiff(answer.logProbs![0]!, mine.logProbs);
      report(
        `${name} ${quant}: max |Δ log p| ${diff.toExponential(2)}, logit range ${mine.range.toFixed(2)}`,
      );
      // F16 rounds every weight to 11 significant bits, BF16 to 8: looser bounds than F32's,
      // and BF16's rounding may flip a near tie among the greedy tokens.
      expect(diff).toBeLessThan({ f32: 1e-3, f16: 1e-2, bf16: 5e-2 }[quant] * mine.range);
      if (quant !== 'bf16') expect(answer.greedy).toEqual(greedy);
    }
    const [f32] = answers;
    const expected = [...texts, chat].map((t) => tokenizer.encode(t, { addSpecialTokens: false }));
    expect(f32!.tokens).toEqual(expected);
    expect(f32!.bos).toBe(tokenizer.bosTokenId ?? f32!.bos);
    expect(f32!.eos).toBe(tokenizer.eosTokenIds[0]);
    expect(f32!.chatTemplate).toBe(tokenizer.chatTemplate);
    model.dispose();
  });
});

describe.skipIf(llamaCppMissing !== undefined)('a LoRA run', () => {
  it('exports its merged weights as GGUF that llama.cpp runs as Whetstone runs the merge', async () => {
    const base = join(work, 'lora-base');
    await writeFixtureModel({ ...fixtureSpecs.llama!, out: base, force: true });
    const data = await writeSentencesJsonl(work);
    const run = join(work, 'lora-run');
    const trained = await runCli([
      'train', '--model', base, '--data', data, '--method', 'fo-adamw', '--lr', '3e-2',
      '--steps', '3', '--batch', '2', '--seq', '16', '--peft', 'lora', '--lora-targets', 'all-linear',
      '--backend', 'cpu', '--out', run, '--json',
    ]); // prettier-ignore
    expect(trained.last.type, trained.stderr).toBe('done');
    const file = join(work, 'lora.gguf');
    const merged = join(work, 'lora-merged');
    for (const [format, out, extra] of [
      ['gguf', file, ['--quant', 'f32']],
      ['merged', merged, []],
    ] as const) {
      const r = await runCli([
        'export',
        '--run',
        run,
        '--format',
        format,
        '--out',
        out,
        '--backend',
        'cpu',
        '--json',
        ...extra,
      ]);
      expect(r.last.type, r.stderr).toBe('done');
    }
    // Whetstone's side: the merged Hugging Face folder of the same run.
    const model = await loadModel(merged);
    const prompt = tokenIds(8, 41);
    const mine = await whetstoneLogProbs(model, prompt);
    const before = await whetstoneLogProbs(await loadModel(base), prompt);
    const [answer] = await llamaCpp([
      {
        model: file,
        vocab: model.config.vocabSize,
        logProbs: [prompt],
        greedy: { prompt, steps: 32 },
      },
    ]);
    const diff = maxAbsDiff(answer!.logProbs![0]!, mine.logProbs);
    report(
      `LoRA run f32: max |Δ log p| ${diff.toExponential(2)}, logit range ${mine.range.toFixed(2)}; training moved them by ${maxAbsDiff(before.logProbs, mine.logProbs).toFixed(3)}`,
    );
    expect(diff).toBeLessThan(1e-3 * mine.range);
    // The adapter is in the file: the base model's answer is measurably different.
    expect(maxAbsDiff(before.logProbs, mine.logProbs)).toBeGreaterThan(100 * diff);
    expect(answer!.greedy).toEqual(await whetstoneGreedy(model, prompt, 32));
    model.dispose();
  });
});

// Llama 3's and Qwen2's split regexes on a fixture vocabulary: llama.cpp's llama-bpe and qwen2
// pre-tokenizers must split text as the tokenizer.json does (digits in threes or one by one).
describe.skipIf(llamaCppMissing !== undefined)('pre-tokenizers', () => {
  it('llama-bpe and qwen2 split text as the Hugging Face tokenizer does', async () => {
    const split = (digits: string) => ({
      type: 'Sequence',
      pretokenizers: [
        {
          type: 'Split',
          pattern: {
            Regex: `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}${digits}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+`,
          },
          behavior: 'Isolated',
          invert: false,
        },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    });
    const variants = [
      { name: 'llama3-split', arch: 'llama' as const, pre: split('{1,3}'), normalizer: null },
      { name: 'qwen2-split', arch: 'qwen2' as const, pre: split(''), normalizer: { type: 'NFC' } },
    ];
    const files: string[] = [];
    const tokenizers = [];
    for (const v of variants) {
      const dir = join(work, v.name);
      await writeFixtureModel({ arch: v.arch, seed: 1, out: dir, force: true });
      const file = join(dir, 'tokenizer.json');
      const tj = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
      await writeFile(
        file,
        JSON.stringify({ ...tj, pre_tokenizer: v.pre, normalizer: v.normalizer }),
      );
      files.push(join(work, `${v.name}.gguf`));
      await exportModelGguf(dir, 'f16', files.at(-1)!);
      tokenizers.push(await loadTokenizer(dir));
    }
    const answers = await llamaCpp(files.map((model) => ({ model, vocab: 512, tokenize: texts })));
    for (const [i, t] of tokenizers.entries()) {
      expect(answers[i]!.tokens).toEqual(
        texts.map((x) => t.encode(x, { addSpecialTokens: false })),
      );
    }
    // The two splits differ on digits, so each mapping was really exercised.
    expect(tokenizers[0]!.encode('1234567')).not.toEqual(tokenizers[1]!.encode('1234567'));
  });
});
