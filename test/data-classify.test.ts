// Classification prediction: the candidate with the highest average per-token log-likelihood of
// its continuation, each after its own context (WinoGrande's contexts differ per candidate).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../engine/backend/select.js';
import { builtinTemplates } from '../engine/data/task-templates.js';
import { loadTokenizer, type TextTokenizer } from '../engine/io/tokenizer.js';
import type { CausalLM } from '../engine/models/causal-lm.js';
import { loadModel } from '../engine/models/load.js';
import { scoreContinuations } from '../engine/models/log-likelihood.js';
import { classificationAccuracy, predict } from '../engine/train/classify.js';
import { fixturePath } from './fixtures.js';

let model: CausalLM;
let tokenizer: TextTokenizer;
beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
  model = await loadModel(fixturePath('llama'));
  tokenizer = await loadTokenizer(fixturePath('llama'));
});
afterAll(() => {
  model.params.dispose();
  model.dispose();
});

describe('classification by average log-likelihood', () => {
  it('scores each candidate after its own context and picks the best mean', async () => {
    const candidates = builtinTemplates.winogrande!.candidates({
      sentence: 'The jar did not fit on the shelf because _ was too tall.',
      option1: 'the jar',
      option2: 'the shelf',
    });
    const { predicted, means } = await predict(model, tokenizer, candidates);
    const direct: number[] = [];
    for (const c of candidates) {
      const context = tokenizer.encode(c.context, { addSpecialTokens: true });
      const cont = tokenizer.encode(c.continuation, { addSpecialTokens: false });
      direct.push((await scoreContinuations(model, context, [cont]))[0]!.mean);
    }
    means.forEach((m, i) => expect(m).toBeCloseTo(direct[i]!, 5));
    expect(predicted).toBe(direct[0]! >= direct[1]! ? 0 : 1);
  });

  it('counts accuracy and the confusion of true and predicted labels', async () => {
    const rows = [
      { sentence: 'A bright and warm story.', label: 1 },
      { sentence: 'A cold and empty story.', label: 0 },
      { sentence: 'Funny, kind and clever.', label: 1 },
    ];
    const items = rows.map((r) => ({
      candidates: builtinTemplates.sst2!.candidates({ sentence: r.sentence }),
      label: r.label,
    }));
    const result = await classificationAccuracy(model, tokenizer, items);
    const predictions: number[] = [];
    for (const item of items)
      predictions.push((await predict(model, tokenizer, item.candidates)).predicted);
    const correct = predictions.filter((p, i) => p === rows[i]!.label).length;
    expect(result).toMatchObject({ correct, examples: 3, accuracy: correct / 3 });
    const confusion = [
      [0, 0],
      [0, 0],
    ];
    predictions.forEach((p, i) => confusion[rows[i]!.label]![p]!++);
    expect(result.confusion).toEqual(confusion);
  });
});
