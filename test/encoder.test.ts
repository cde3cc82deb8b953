// The masked-LM encoders (RoBERTa, BERT) on a padded batch, checked by hand: which keys each
// token attends to, the position ids, and that padding changes no real token's logits. Plus the
// checkpoint variants real releases ship and the tokenizers' mask tokens.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../engine/backend/select.js';
import { tf, type Tensor2D } from '../engine/backend/tf.js';
import { loadTokenizer } from '../engine/io/tokenizer.js';
import { forwardLogits, type CausalLM } from '../engine/models/causal-lm.js';
import { generateTokens } from '../engine/models/generate.js';
import { loadModel } from '../engine/models/load.js';
import { encoderFixtures, fixturePath } from './fixtures.js';

beforeAll(async () => {
  await initBackend({ backend: 'cpu' });
});
afterAll(() => tf.disposeVariables());

/** The encoder's own position ids (not part of the CausalLM surface). */
function positionIds(model: CausalLM, ids: Tensor2D, offset = 0): number[][] {
  const m = model as CausalLM & { positionIds(ids: Tensor2D, offset?: number): Tensor2D };
  return m.positionIds(ids, offset).arraySync();
}

describe('padded batches', () => {
  it('RoBERTa counts positions from padding_idx + 1 and gives padding padding_idx', async () => {
    const model = await loadModel(fixturePath('roberta'));
    expect(model.config.padTokenId).toBe(1);
    // <s> a b </s> <pad> <pad> / <s> c </s> <pad> <pad> <pad>
    const ids = tf.tensor2d(
      [
        [0, 40, 41, 2, 1, 1],
        [0, 42, 2, 1, 1, 1],
      ],
      [2, 6],
      'int32',
    );
    expect(positionIds(model, ids)).toEqual([
      [2, 3, 4, 5, 1, 1],
      [2, 3, 4, 1, 1, 1],
    ]);
    // After 3 virtual tokens (prefix tuning), real tokens move on by 3; padding stays put.
    expect(positionIds(model, ids, 3)).toEqual([
      [5, 6, 7, 8, 1, 1],
      [5, 6, 7, 1, 1, 1],
    ]);
    expect(model.keyMask!(ids).arraySync()).toEqual([
      [1, 1, 1, 1, 0, 0],
      [1, 1, 1, 0, 0, 0],
    ]);
    model.params.dispose();
  });

  it('BERT counts positions 0..T-1 and masks [PAD] keys', async () => {
    const model = await loadModel(fixturePath('bert'));
    expect(model.config.padTokenId).toBe(0);
    const ids = tf.tensor2d([[2, 40, 41, 3, 0, 0]], [1, 6], 'int32');
    expect(positionIds(model, ids)).toEqual([[0, 1, 2, 3, 4, 5]]);
    expect(positionIds(model, ids, 2)).toEqual([[2, 3, 4, 5, 6, 7]]);
    expect(model.keyMask!(ids).arraySync()).toEqual([[1, 1, 1, 1, 0, 0]]);
    model.params.dispose();
  });

  it.each(encoderFixtures)(
    '%s: a right-padded row has the logits of the row alone, and attends both ways',
    async (name) => {
      const model = await loadModel(fixturePath(name));
      const pad = model.config.padTokenId!;
      const rows = [
        [5, 60, 61, 62, 63, 64, 6],
        [5, 70, 71, 6],
      ];
      const width = 7;
      const padded = rows.map((r) => [...r, ...Array<number>(width - r.length).fill(pad)]);
      const batch = forwardLogits(model, tf.tensor2d(padded, [2, width], 'int32')).arraySync();
      for (const [r, row] of rows.entries()) {
        const alone = forwardLogits(model, tf.tensor2d([row], [1, row.length], 'int32'));
        const expected = alone.arraySync()[0]!;
        for (let t = 0; t < row.length; t++) {
          const got = batch[r]![t]!;
          const diff = Math.max(...got.map((x, j) => Math.abs(x - expected[t]![j]!)));
          expect(diff, `row ${r} position ${t}`).toBeLessThan(1e-4);
        }
      }
      // Bidirectional: changing the last real token changes the first token's logits.
      const changed = forwardLogits(model, tf.tensor2d([[5, 70, 71, 7]], [1, 4], 'int32'));
      const first = changed.arraySync()[0]![0]!;
      const before = batch[1]![0]!;
      expect(Math.max(...first.map((x, j) => Math.abs(x - before[j]!)))).toBeGreaterThan(1e-3);
      model.params.dispose();
    },
  );
});

describe('tokenizers', () => {
  it('RoBERTa wraps text as <s> ... </s> and <mask> takes the space before it', async () => {
    const tok = await loadTokenizer(fixturePath('roberta'));
    const ids = tok.encode('It was <mask>.');
    expect(ids[0]).toBe(tok.bosTokenId);
    expect(ids.at(-1)).toBe(tok.eosTokenIds[0]);
    expect(ids).toContain(tok.maskTokenId);
    expect(tok.decode(ids)).toBe('<s>It was<mask>.</s>');
  });

  it("BERT's WordPiece lowercases, wraps as [CLS] ... [SEP] and knows [MASK] and [UNK]", async () => {
    const tok = await loadTokenizer(fixturePath('bert'));
    expect(tok.maskTokenId).toBe(tok.tokenToId('[MASK]'));
    const ids = tok.encode('The STONE was [MASK].');
    expect(ids[0]).toBe(tok.tokenToId('[CLS]'));
    expect(ids.at(-1)).toBe(tok.tokenToId('[SEP]'));
    expect(ids).toContain(tok.maskTokenId);
    expect(tok.decode(ids)).toBe('[CLS] the stone was [MASK]. [SEP]');
    // A character the corpus never had is unknown.
    expect(tok.encode('☃', { addSpecialTokens: false })).toEqual([tok.tokenToId('[UNK]')]);
  });
});

it('an encoder refuses to generate, saying why', async () => {
  const model = await loadModel(fixturePath('bert'));
  await expect(
    generateTokens(model, [2, 40, 3], {
      maxNewTokens: 4,
      stopTokenIds: [],
      seed: 0,
      temperature: 0,
      topK: 0,
      topP: 1,
    }),
  ).rejects.toThrow(/masked language model/);
  model.params.dispose();
});
