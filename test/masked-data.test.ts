import { describe, expect, it } from 'vitest';
import { fixturePath } from './fixtures.js';
import { loadTokenizer } from '../engine/io/tokenizer.js';
import {
  labelWordIds,
  mlmMasking,
  tokenizeForMlm,
  tokenizeInputs,
  tokenizeMaskedPrompt,
} from '../engine/data/masked.js';
import { builtinTemplates, userTemplate } from '../engine/data/task-templates.js';

describe('masked-LM rows with the RoBERTa fixture tokenizer', async () => {
  const tokenizer = await loadTokenizer(fixturePath('roberta'));
  const maskId = tokenizer.maskTokenId!;

  it('puts one mask in the template text and the label index there', () => {
    const prompt = builtinTemplates.sst2!.masked!({ sentence: 'the film was fun' });
    expect(prompt).toEqual({
      before: 'the film was fun It was',
      after: '.',
      words: [' terrible', ' great'],
    });
    const r = tokenizeMaskedPrompt(prompt, 1, tokenizer, 64);
    if (!r.ok) throw new Error(r.reason);
    const at = r.example.ids.indexOf(maskId);
    expect(r.example.ids.filter((id) => id === maskId)).toHaveLength(1);
    expect(r.example.ids[0]).toBe(tokenizer.bosTokenId);
    expect(r.example.mask).toEqual(r.example.ids.map((_, i) => (i === at ? 1 : 0)));
    expect(r.example.labels![at]).toBe(1);
    // The same text as the tokenizer reads it whole: the mask token takes no extra space.
    expect(tokenizer.decode(r.example.ids)).toBe('<s>the film was fun It was<mask>.</s>');
  });

  it('keeps the mask when a long text is cut, and says so when it cannot', () => {
    const long = { before: 'word '.repeat(200).trim(), after: '.', words: [' a', ' b'] };
    const r = tokenizeMaskedPrompt(long, 0, tokenizer, 32);
    expect(r.ok && r.example.ids.length === 32 && r.example.ids.includes(maskId)).toBe(true);
    const late = { ...long, before: 'x', after: ' word'.repeat(200) };
    expect(tokenizeMaskedPrompt(late, 0, tokenizer, 32)).toMatchObject({ ok: false });
  });

  it('names a label word that is not one token', () => {
    expect(labelWordIds([' a'], tokenizer)).toHaveLength(1);
    expect(() => labelWordIds([' a', ' unbelievably'], tokenizer)).toThrow(
      /label word "unbelievably" is \d+ tokens/,
    );
  });

  it('a user template places its {mask}; without one the word ends the prompt', () => {
    const t = userTemplate('{text} All in all, {mask} stuff!', 'bad,good');
    expect(t.fields).toEqual(['text']);
    expect(t.masked!({ text: 'Nice.' })).toEqual({
      before: 'Nice. All in all,',
      after: ' stuff!',
      words: [' bad', ' good'],
    });
    expect(() => t.candidates({ text: 'Nice.' })).toThrow(/only a masked language model/);
    const end = userTemplate('{text} It was', 'bad,good');
    expect(end.masked!({ text: 'Nice.' })).toEqual({
      before: 'Nice. It was',
      after: '',
      words: [' bad', ' good'],
    });
  });

  it('the ablation targets the first token; MLM text never chooses special tokens', () => {
    const r = tokenizeInputs(['one', 'two'], 2, tokenizer, 64);
    expect(r.ok && r.example.mask[0] === 1 && r.example.labels![0] === 2).toBe(true);
    const mlm = mlmMasking(tokenizer, 512);
    const t = tokenizeForMlm('some plain text', tokenizer, mlm, 64);
    if (!t.ok) throw new Error(t.reason);
    expect(t.example.mask[0]).toBe(0);
    expect(t.example.mask.at(-1)).toBe(0);
    expect(t.example.mask.slice(1, -1).every((m) => m === 1)).toBe(true);
  });
});
