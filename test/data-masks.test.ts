// Loss masks, token by token, on the fixture models' own tokenizers and chat templates: only
// assistant turns, completions and label words are targets.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadDataset } from '../engine/data/dataset.js';
import type { Example } from '../engine/data/formats.js';
import { renderExample } from '../engine/data/render.js';
import { tokenizeRendered, type TokenizeOptions } from '../engine/data/tokenize.js';
import { builtinTemplates } from '../engine/data/task-templates.js';
import { loadTokenizer, type TextTokenizer } from '../engine/io/tokenizer.js';
import { permutation } from '../engine/train/text-data.js';
import { Rng } from '../engine/util/rng.js';
import { fixturePath } from './fixtures.js';

const opts: TokenizeOptions = { seqLen: 256, overLength: 'truncate', trainOn: 'completion' };
const chat: Example = {
  kind: 'chat',
  messages: [
    { role: 'system', content: 'You are brief.' },
    { role: 'user', content: 'Say hello.' },
    { role: 'assistant', content: 'Hello there!' },
    { role: 'user', content: 'Again, louder.' },
    { role: 'assistant', content: 'HELLO THERE!' },
  ],
};

function tokenize(example: Example, tokenizer: TextTokenizer, o = opts) {
  const r = tokenizeRendered(renderExample(example, tokenizer), tokenizer, o);
  if (!r.ok) throw new Error(r.reason);
  return r.example;
}

/** Positions where `needle` occurs in `ids`, searching from `from`. */
function indexOf(ids: number[], needle: number[], from = 0): number {
  for (let i = from; i + needle.length <= ids.length; i++) {
    if (needle.every((id, k) => ids[i + k] === id)) return i;
  }
  return -1;
}

let llama: TextTokenizer;
let mistral: TextTokenizer;
beforeAll(async () => {
  llama = await loadTokenizer(fixturePath('llama'));
  mistral = await loadTokenizer(fixturePath('mistral'));
});

describe('chat loss masks follow the model chat template', () => {
  it('llama: exactly each assistant content and its <|eot_id|>', () => {
    const { ids, mask } = tokenize(chat, llama);
    // The segments tokenise to what the whole rendered text does.
    expect(ids).toEqual(llama.encode(llama.renderChat(chat.messages), { addSpecialTokens: false }));
    const header = llama.encode('<|start_header_id|>assistant<|end_header_id|>\n\n', {
      addSpecialTokens: false,
    });
    const eot = llama.tokenToId('<|eot_id|>')!;
    const expected = new Array<number>(ids.length).fill(0);
    let from = 0;
    for (const content of ['Hello there!', 'HELLO THERE!']) {
      const at = indexOf(ids, header, from) + header.length;
      const span = [...llama.encode(content, { addSpecialTokens: false }), eot];
      expect(ids.slice(at, at + span.length)).toEqual(span);
      expected.fill(1, at, at + span.length);
      from = at + span.length;
    }
    expect(mask).toEqual(expected);
    expect(llama.decode(ids.filter((_, i) => mask[i] === 1))).toBe(
      'Hello there!<|eot_id|>HELLO THERE!<|eot_id|>',
    );
  });

  it('mistral: the assistant text after [/INST] and its </s>, system folded into the user turn', () => {
    const { ids, mask } = tokenize(chat, mistral);
    const trained = ids.filter((_, i) => mask[i] === 1);
    expect(mistral.decode(trained)).toBe(' Hello there!</s> HELLO THERE!</s>');
    const prompt = ids.filter((_, i) => mask[i] === 0);
    expect(mistral.decode(prompt)).toBe(
      '<s>[INST] You are brief.\n\nSay hello. [/INST][INST] Again, louder. [/INST]',
    );
  });

  it('every token is a target with trainOn "all"', () => {
    const { mask } = tokenize(chat, llama, { ...opts, trainOn: 'all' });
    expect(mask.every((m) => m === 1)).toBe(true);
  });
});

describe('masks of other formats', () => {
  it('completion: the completion and EOS only; the prompt starts with BOS', () => {
    const { ids, mask } = tokenize(
      { kind: 'completion', prompt: 'Q: What do bees make?\nA:', completion: ' Honey.' },
      llama,
    );
    const prompt = llama.encode('Q: What do bees make?\nA:', { addSpecialTokens: true });
    const answer = llama.encode(' Honey.', { addSpecialTokens: false });
    expect(ids).toEqual([...prompt, ...answer, llama.eosTokenIds[0]!]);
    expect(mask).toEqual([...prompt.map(() => 0), ...answer.map(() => 1), 1]);
  });

  it('classification: only the right label word', () => {
    const [candidate] = builtinTemplates.sst2!.candidates({ sentence: 'Dull.' }).slice(0, 1);
    const { ids, mask } = tokenize(
      {
        kind: 'classification',
        candidates: builtinTemplates.sst2!.candidates({ sentence: 'Dull.' }),
        label: 0,
      },
      llama,
    );
    const word = llama.encode(' terrible', { addSpecialTokens: false });
    expect(ids.slice(-word.length)).toEqual(word);
    expect(mask).toEqual([
      ...new Array<number>(ids.length - word.length).fill(0),
      ...word.map(() => 1),
    ]);
    expect(candidate!.context).toBe('Dull. It was');
  });

  it('plain text: BOS, the text and EOS, all targets, as before the pipeline', () => {
    const text = 'The kettle whistled.';
    const { ids, mask } = tokenize({ kind: 'text', text }, llama);
    expect(ids).toEqual([...llama.encode(text), llama.eosTokenIds[0]!]);
    expect(mask.every((m) => m === 1)).toBe(true);
  });

  it('over-long rows are cut to the sequence length, or dropped by choice', () => {
    const long: Example = {
      kind: 'completion',
      prompt: 'word '.repeat(10),
      completion: ' end of it',
    };
    const whole = tokenizeRendered(renderExample(long, llama), llama, opts);
    const n = whole.length - 1; // cuts the EOS only
    const cut = tokenizeRendered(renderExample(long, llama), llama, { ...opts, seqLen: n });
    expect(cut.ok && cut.example.ids.length).toBe(n);
    expect(cut.ok && cut.truncated).toBe(true);
    const dropped = tokenizeRendered(renderExample(long, llama), llama, {
      ...opts,
      seqLen: n,
      overLength: 'drop',
    });
    expect(dropped.ok).toBe(false);
    // Cut before the answer: nothing to learn, so it is not kept either.
    const early = tokenizeRendered(renderExample(long, llama), llama, { ...opts, seqLen: 5 });
    expect(early.ok ? 'kept' : early.reason).toMatch(/nothing to learn within 5 tokens/);
  });
});

describe('the dataset pipeline', () => {
  const dir = mkdtempSync(join(tmpdir(), 'whetstone-pipeline-'));
  const texts = Array.from({ length: 20 }, (_, i) => `Row number ${i % 15} of the set.`);
  const file = join(dir, 'texts.jsonl');
  writeFileSync(file, texts.map((text) => JSON.stringify({ text })).join('\n'));

  it('splits plain text as the trainer always did: same sequences, same seeded order', async () => {
    const d = await loadDataset(file, llama, { seqLen: 64, evalFraction: 0.25, seed: 3 });
    const sequences = texts.map((t) => [...llama.encode(t), llama.eosTokenIds[0]!]);
    const order = permutation(sequences.length, new Rng(3 ^ 0x5eed));
    expect(d.eval.map((e) => e.ids)).toEqual(order.slice(0, 5).map((i) => sequences[i]));
    expect(d.train.map((e) => e.ids)).toEqual(order.slice(5).map((i) => sequences[i]));
    const again = await loadDataset(file, llama, { seqLen: 64, evalFraction: 0.25, seed: 3 });
    expect(again.train).toEqual(d.train);
    const other = await loadDataset(file, llama, { seqLen: 64, evalFraction: 0.25, seed: 4 });
    expect(other.train.map((e) => e.ids)).not.toEqual(d.train.map((e) => e.ids));
  });

  it("makes a chat template's refusal of one row a problem of that row", async () => {
    const chats = join(dir, 'chats.jsonl');
    const turn = (role: string, content: string) => ({ role, content });
    writeFileSync(
      chats,
      [
        { messages: [turn('user', 'Hi'), turn('assistant', 'Hello.')] },
        // The mistral template accepts only user and assistant after the system message.
        {
          messages: [turn('user', 'Weather?'), turn('tool', 'sunny'), turn('assistant', 'Sunny.')],
        },
      ]
        .map((row) => JSON.stringify(row))
        .join('\n'),
    );
    const d = await loadDataset(chats, mistral, { seqLen: 64, evalFraction: 0, seed: 0 });
    expect(d.train).toHaveLength(1);
    expect(d.problems.kept).toEqual([
      expect.objectContaining({
        file: chats,
        line: 2,
        message: expect.stringMatching(/^the chat template rejects this row/) as unknown,
      }),
    ]);
  });

  it('de-duplicates exact repeats when asked', async () => {
    const d = await loadDataset(file, llama, { seqLen: 64, evalFraction: 0, seed: 0, dedup: true });
    expect(d.duplicates).toBe(5);
    expect(d.train).toHaveLength(15);
  });

  it('packs short examples into rows of at most seqLen, keeping every token and mask', async () => {
    const plain = await loadDataset(file, llama, { seqLen: 64, evalFraction: 0, seed: 0 });
    const packed = await loadDataset(file, llama, {
      seqLen: 64,
      evalFraction: 0,
      seed: 0,
      pack: true,
    });
    expect(packed.train.length).toBeLessThan(plain.train.length);
    expect(packed.train.every((r) => r.ids.length <= 64 && r.mask.length === r.ids.length)).toBe(
      true,
    );
    expect(packed.train.flatMap((r) => r.ids)).toEqual(plain.train.flatMap((r) => r.ids));
    expect(packed.stats).toMatchObject({ examples: 20, overLength: 0 });
  });
});
