import { describe, expect, it } from 'vitest';
import { builtinTemplates, userTemplate, type TaskTemplate } from './task-templates.js';

const full = (t: TaskTemplate, row: Record<string, string>) =>
  t.candidates(row).map((c) => c.context + c.continuation);

describe('task templates (docs/formats.md#task-alignment, MeZO templates.py)', () => {
  it('SST-2: <sentence> It was → " terrible" | " great"', () => {
    const c = builtinTemplates.sst2!.candidates({ sentence: 'A gripping, honest film.' });
    expect(c).toEqual([
      { context: 'A gripping, honest film. It was', continuation: ' terrible' },
      { context: 'A gripping, honest film. It was', continuation: ' great' },
    ]);
  });

  it('RTE: premise, the question, Yes | No', () => {
    const c = builtinTemplates.rte!.candidates({
      premise: 'Cats sleep a lot.',
      hypothesis: 'Cats rest.',
    });
    expect(c.map((x) => x.context)).toEqual([
      'Cats sleep a lot.\nDoes this mean that "Cats rest." is true? Yes or No?\n',
      'Cats sleep a lot.\nDoes this mean that "Cats rest." is true? Yes or No?\n',
    ]);
    expect(c.map((x) => x.continuation)).toEqual(['Yes', 'No']);
  });

  it('CB: Suppose ... Can we infer that ...? Yes, No, or Maybe?', () => {
    const c = builtinTemplates.cb!.candidates({ premise: 'It may rain.', hypothesis: 'It rained' });
    expect(c[0]!.context).toBe(
      'Suppose It may rain. Can we infer that "It rained"? Yes, No, or Maybe?\n',
    );
    expect(c.map((x) => x.continuation)).toEqual(['Yes', 'No', 'Maybe']);
  });

  it('BoolQ: <passage> <question>?\\n → No | Yes in label order (0 false, 1 true)', () => {
    const t = builtinTemplates.boolq!;
    expect(full(t, { passage: 'Ice floats.', question: 'Does ice float' })).toEqual([
      'Ice floats. Does ice float?\nNo',
      'Ice floats. Does ice float?\nYes',
    ]);
    // A question that already ends with "?" gets no second one; a stored lower-case question
    // (the dataset's own form) is capitalised, as MeZO's template does.
    expect(t.candidates({ passage: 'P.', question: 'is it?' })[0]!.context).toBe('P. Is it?\n');
    expect(t.labels.true).toBe(1);
  });

  it('COPA: premise without its period, so/because, the candidate lower-cased unless "I"', () => {
    const t = builtinTemplates.copa!;
    const row = {
      premise: 'The man broke his toe.',
      choice1: 'He dropped a hammer on his foot.',
      choice2: 'I laughed at him.',
      question: 'cause',
    };
    expect(full(t, row)).toEqual([
      'The man broke his toe because he dropped a hammer on his foot.',
      'The man broke his toe because I laughed at him.',
    ]);
    expect(full(t, { ...row, question: 'effect' })[0]).toBe(
      'The man broke his toe so he dropped a hammer on his foot.',
    );
    // What is scored is the candidate's own tokens.
    expect(t.candidates(row)[0]!.continuation).toBe(' he dropped a hammer on his foot.');
  });

  it('WinoGrande: the blank filled with each option; the scored part is what follows it', () => {
    const c = builtinTemplates.winogrande!.candidates({
      sentence: 'The cup fell off the shelf because _ was too close to the edge.',
      option1: 'the cup',
      option2: 'the shelf',
    });
    expect(c).toEqual([
      {
        context: 'The cup fell off the shelf because the cup',
        continuation: ' was too close to the edge.',
      },
      {
        context: 'The cup fell off the shelf because the shelf',
        continuation: ' was too close to the edge.',
      },
    ]);
  });

  it('MultiRC: paragraph, question, the answer to check, Yes or No', () => {
    const c = builtinTemplates.multirc!.candidates({
      paragraph: 'Ann has two dogs.',
      question: 'How many dogs?',
      answer: 'Two',
    });
    expect(c[0]!.context).toBe(
      'Ann has two dogs.\nQuestion: How many dogs?\nI found this answer "Two". Is that correct? Yes or No?\n',
    );
    expect(c.map((x) => x.continuation)).toEqual(['No', 'Yes']);
  });

  it('without the template (the ablation), the inputs are followed by the bare label', () => {
    expect(builtinTemplates.sst2!.plain({ sentence: 'Fine.' })).toEqual([
      { context: 'Fine.\n', continuation: '0' },
      { context: 'Fine.\n', continuation: '1' },
    ]);
  });

  it('user templates fill {columns} and map labels to words', () => {
    const t = userTemplate('Review: {review}\nSentiment:', 'neg=bad,pos=good');
    expect(full(t, { review: 'Loved it' })).toEqual([
      'Review: Loved it\nSentiment: bad',
      'Review: Loved it\nSentiment: good',
    ]);
    expect(t.labels).toMatchObject({ neg: 0, pos: 1, bad: 0, good: 1 });
    const byIndex = userTemplate('{text} =>\n', 'no,yes');
    expect(byIndex.labels).toMatchObject({ '0': 0, '1': 1 });
    expect(full(byIndex, { text: 'x' })[1]).toBe('x =>\nyes');
    expect(() => userTemplate('no columns', 'a,b')).toThrow(/names no column/);
  });

  it('masked forms (LM-BFF style): one mask, one-word answers in label order', () => {
    const t = builtinTemplates;
    expect(t.rte!.masked!({ premise: 'Cats sleep a lot.', hypothesis: 'Cats rest.' })).toEqual({
      before: 'Cats sleep a lot?',
      after: ', cats rest.',
      words: ['Yes', 'No'],
    });
    expect(t.cb!.masked!({ premise: 'It may rain', hypothesis: 'I know it' }).words).toEqual([
      'Yes',
      'No',
      'Maybe',
    ]);
    expect(t.boolq!.masked!({ passage: 'Water is wet.', question: 'is water wet' })).toEqual({
      before: 'Water is wet. Question: Is water wet? Answer:',
      after: '.',
      words: [' No', ' Yes'],
    });
    expect(t.multirc!.masked!({ paragraph: 'P.', question: 'Q?', answer: 'A' }).before).toBe(
      'P. Question: Q? Is the answer "A" correct?',
    );
    // Whole-phrase answers have no masked form.
    expect('masked' in t.copa!).toBe(false);
    expect('masked' in t.winogrande!).toBe(false);
  });
});
