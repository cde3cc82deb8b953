// GGUF export checked by llama.cpp itself (node-llama-cpp's prebuilt CPU build, in a child
// process): for each architecture, F32 and F16 files give llama.cpp's next-token
// log-probabilities and greedy tokens equal to Whetstone's, and llama.cpp tokenizes text as
// Whetstone's tokenizer does. Skips with a reason without llama.cpp, except in CI.
import { mkdtemp, rm } from 'node:fs/promises';
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
import { fixtureSpecs } from './fixtures.js';
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

  it('F32 and F16: llama.cpp gives Whetstone logits, greedy tokens and token ids', async () => {
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
    for (const quant of ['f32', 'f16'] as const) {
      const file = join(work, `${name}-${quant}.gguf`);
      await exportModelGguf(dir, quant, file);
      const answer = await llamaCpp({
        model: file,
        vocab,
        logProbs: [prompt],
        greedy: { prompt, steps: 32 },
        tokenize: quant === 'f32' ? [...texts, chat] : undefined,
      });
      const diff = maxAbsDiff(answer.logProbs![0]!, mine.logProbs);
      report(
        `${name} ${quant}: max |Δ log p| ${diff.toExponential(2)}, range ${mine.range.toFixed(2)}`,
      );
      // F16 rounds every weight to 11 significant bits: a looser bound than F32's.
      expect(diff).toBeLessThan((quant === 'f32' ? 1e-3 : 1e-2) * mine.range);
      expect(answer.greedy).toEqual(greedy);
      if (quant === 'f32') {
        const expected = [...texts, chat].map((t) =>
          tokenizer.encode(t, { addSpecialTokens: false }),
        );
        expect(answer.tokens).toEqual(expected);
        expect(answer.bos).toBe(tokenizer.bosTokenId ?? answer.bos);
        expect(answer.eos).toBe(tokenizer.eosTokenIds[0]);
        expect(answer.chatTemplate).toBe(tokenizer.chatTemplate);
      }
    }
    model.dispose();
  });
});
