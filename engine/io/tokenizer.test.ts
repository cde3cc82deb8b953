import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WhetstoneError } from '../errors.js';
import { FIXTURE_CORPUS } from '../fixtures/corpus.js';
import type { FixtureArch } from '../fixtures/fixture-model.js';
import { buildFixtureTokenizer } from '../fixtures/fixture-tokenizer.js';
import { loadTokenizer, type ChatMessage } from './tokenizer.js';

const VOCAB = 512;
// Listed here, not imported: fixture-model.js pulls in the safetensors writer and the models.
const archs = ['llama', 'mistral', 'qwen2', 'gpt2', 'opt'] as const;
let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'whetstone-tokenizer-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A folder holding `files` (objects are written as JSON). */
async function folder(files: Record<string, unknown>): Promise<string> {
  const dir = await mkdtemp(join(root, 'model-'));
  for (const [name, content] of Object.entries(files)) {
    await writeFile(
      join(dir, name),
      typeof content === 'string' ? content : JSON.stringify(content),
    );
  }
  return dir;
}

function fixtureFiles(arch: FixtureArch): Record<string, unknown> {
  const { tokenizerJson, tokenizerConfig } = buildFixtureTokenizer(arch, VOCAB);
  return { 'tokenizer.json': tokenizerJson, 'tokenizer_config.json': tokenizerConfig };
}

function withoutTemplate(files: Record<string, unknown>): Record<string, unknown> {
  const config = { ...(files['tokenizer_config.json'] as Record<string, unknown>) };
  delete config.chat_template;
  return { ...files, 'tokenizer_config.json': config };
}

const chat: ChatMessage[] = [
  { role: 'system', content: 'Be brief.' },
  { role: 'user', content: 'Which grit?' },
  { role: 'assistant', content: '1000 first.' },
  { role: 'user', content: 'Then?' },
];

// What each template renders for `chat` with a generation prompt (bos/eos written as tokens).
const renderedChat: Record<(typeof archs)[number], string> = {
  llama:
    '<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>' +
    '<|start_header_id|>user<|end_header_id|>\n\nWhich grit?<|eot_id|>' +
    '<|start_header_id|>assistant<|end_header_id|>\n\n1000 first.<|eot_id|>' +
    '<|start_header_id|>user<|end_header_id|>\n\nThen?<|eot_id|>' +
    '<|start_header_id|>assistant<|end_header_id|>\n\n',
  mistral: '<s>[INST] Be brief.\n\nWhich grit? [/INST] 1000 first.</s>[INST] Then? [/INST]',
  qwen2:
    '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nWhich grit?<|im_end|>\n' +
    '<|im_start|>assistant\n1000 first.<|im_end|>\n<|im_start|>user\nThen?<|im_end|>\n' +
    '<|im_start|>assistant\n',
  gpt2: 'System: Be brief.\nUser: Which grit?\nAssistant: 1000 first.<|endoftext|>\nUser: Then?\nAssistant:',
  opt: 'System: Be brief.\nUser: Which grit?\nAssistant: 1000 first.</s>\nUser: Then?\nAssistant:',
};

const roundTrips = [
  'The stone is flat, and the edge is keen.',
  'Crème brûlée, naïve café; 日本語のテキスト and 🦀🔪 emoji.',
  '  leading and trailing spaces  \n\n\ttabs\t\tand\r\nnewlines \n',
  "don't panic: x = f(3.14) * 2; // it's ok?!",
  ' a . b , c ? d !',
];

describe.each(archs)('%s fixture tokenizer', (arch) => {
  const fixture = buildFixtureTokenizer(arch, VOCAB);
  const specials = Object.keys(fixture.tokenizerConfig.added_tokens_decoder as object).map(Number);
  const bos = fixture.specialTokens.bos;
  const addsBos = arch === 'llama' || arch === 'mistral' || arch === 'opt';

  it('reports the vocabulary and special tokens', async () => {
    const tok = await loadTokenizer(await folder(fixtureFiles(arch)));
    expect(tok.vocabSize).toBe(VOCAB);
    expect(Math.max(...specials)).toBe(VOCAB - 1);
    expect(tok.bosTokenId).toBe(bos);
    expect(tok.eosTokenIds).toEqual([fixture.specialTokens.eos]);
    expect(tok.padTokenId).toBe(fixture.specialTokens.pad);
    expect(tok.tokenToId(fixture.tokenizerConfig.eos_token as string)).toBe(
      fixture.specialTokens.eos,
    );
  });

  it('round-trips any text byte for byte', async () => {
    const tok = await loadTokenizer(await folder(fixtureFiles(arch)));
    for (const text of [...roundTrips, FIXTURE_CORPUS]) {
      const ids = tok.encode(text, { addSpecialTokens: false });
      expect(tok.decode(ids)).toBe(text);
      expect(tok.decode(tok.encode(text), { skipSpecialTokens: true })).toBe(text);
    }
    expect(tok.decode([])).toBe('');
  });

  it('prepends BOS only where the family does', async () => {
    const tok = await loadTokenizer(await folder(fixtureFiles(arch)));
    const plain = tok.encode('The edge.', { addSpecialTokens: false });
    const withSpecials = tok.encode('The edge.');
    expect(withSpecials).toEqual(addsBos ? [bos, ...plain] : plain);
    expect(plain.some((id) => specials.includes(id))).toBe(false);
    expect(tok.encode('', { addSpecialTokens: false })).toEqual([]);
  });

  it('encodes special tokens in text as single ids and can skip them', async () => {
    const tok = await loadTokenizer(await folder(fixtureFiles(arch)));
    const eos = fixture.specialTokens.eos;
    const eosText = fixture.tokenizerConfig.eos_token as string;
    const before = tok.encode('Sharp', { addSpecialTokens: false });
    const after = tok.encode(' and keen', { addSpecialTokens: false });
    const ids = tok.encode(`Sharp${eosText} and keen`, { addSpecialTokens: false });
    expect(ids).toEqual([...before, eos, ...after]);
    expect(tok.decode(ids)).toBe(`Sharp${eosText} and keen`);
    expect(tok.decode(ids, { skipSpecialTokens: true })).toBe('Sharp and keen');
  });

  it('learned whole words from the corpus', async () => {
    const tok = await loadTokenizer(await folder(fixtureFiles(arch)));
    for (const word of [' the', ' stone', ' edge', ' sharp', ' workshop', 'The']) {
      expect(tok.encode(word, { addSpecialTokens: false })).toHaveLength(1);
    }
    const ids = tok.encode(FIXTURE_CORPUS, { addSpecialTokens: false });
    expect(ids.length).toBeLessThan(FIXTURE_CORPUS.length / 2);
  });

  it('renders its chat template with and without a generation prompt', async () => {
    const tok = await loadTokenizer(await folder(fixtureFiles(arch)));
    expect(tok.chatTemplate).toBe(fixture.tokenizerConfig.chat_template);
    const prompt = tok.renderChat(chat, { addGenerationPrompt: true });
    expect(prompt).toBe(renderedChat[arch]);
    const transcript = tok.renderChat(chat);
    expect(prompt.startsWith(transcript)).toBe(true);
    if (arch !== 'mistral') expect(prompt.length).toBeGreaterThan(transcript.length);

    const ids = tok.encode(prompt, { addSpecialTokens: false });
    expect(tok.decode(ids)).toBe(prompt);
    for (const id of specials) {
      const content = (
        fixture.tokenizerConfig.added_tokens_decoder as Record<string, { content: string }>
      )[id]!.content;
      expect(ids.filter((x) => x === id)).toHaveLength(prompt.split(content).length - 1);
    }
    if (addsBos) expect(ids.filter((id) => id === bos)).toHaveLength(1);
  });
});

/** The TOKENIZER_INVALID error `load` rejects with, after checking that it names `file`. */
async function invalid(load: Promise<unknown>, file: string): Promise<WhetstoneError> {
  const err = await load.then(
    () => undefined,
    (e: unknown) => e,
  );
  return checked(err, file);
}

/** The TOKENIZER_INVALID error `run` throws, after checking that it names `file`. */
function thrown(run: () => unknown, file: string): WhetstoneError {
  let err: unknown;
  try {
    run();
  } catch (e) {
    err = e;
  }
  return checked(err, file);
}

function checked(err: unknown, file: string): WhetstoneError {
  expect(err).toBeInstanceOf(WhetstoneError);
  const known = err as WhetstoneError;
  expect(known.code).toBe('TOKENIZER_INVALID');
  expect(known.message).toContain(file);
  return known;
}

describe('loadTokenizer', () => {
  it('adds the eos ids of generation_config.json', async () => {
    const files = fixtureFiles('llama');
    const { vocab } = (files['tokenizer.json'] as { model: { vocab: Record<string, number> } })
      .model;
    const [endOfText, eot] = [vocab['<|end_of_text|>'], vocab['<|eot_id|>']];
    const tok = await loadTokenizer(
      await folder({ ...files, 'generation_config.json': { eos_token_id: [endOfText, eot] } }),
    );
    expect(tok.eosTokenIds).toEqual([eot, endOfText]);
    const single = await loadTokenizer(
      await folder({ ...files, 'generation_config.json': { eos_token_id: 7 } }),
    );
    expect(single.eosTokenIds).toEqual([eot, 7]);
  });

  it('works without tokenizer_config.json and reads AddedToken objects', async () => {
    const files = fixtureFiles('qwen2');
    const bare = await loadTokenizer(await folder({ 'tokenizer.json': files['tokenizer.json'] }));
    expect(bare.eosTokenIds).toEqual([]);
    expect(bare.chatTemplate).toBeUndefined();
    expect(bare.decode(bare.encode('a<|im_end|>b'), { skipSpecialTokens: true })).toBe('ab');
    // No clean_up_tokenization_spaces setting: spaces before punctuation stay, as in transformers.
    expect(bare.decode(bare.encode(' a . b , c'))).toBe(' a . b , c');
    const config = { eos_token: { content: '<|im_end|>', lstrip: false, __type: 'AddedToken' } };
    const tok = await loadTokenizer(await folder({ ...files, 'tokenizer_config.json': config }));
    expect(tok.eosTokenIds).toEqual([tok.tokenToId('<|im_end|>')]);
  });

  it("picks the 'default' template from a list, else the first", async () => {
    const files = fixtureFiles('gpt2');
    const list = [
      { name: 'tool_use', template: 'tools' },
      { name: 'default', template: '{{ messages[0].content }}!' },
    ];
    const config = { ...(files['tokenizer_config.json'] as object), chat_template: list };
    const tok = await loadTokenizer(await folder({ ...files, 'tokenizer_config.json': config }));
    expect(tok.renderChat([{ role: 'user', content: 'hi' }])).toBe('hi!');
    const first = { ...config, chat_template: list.slice(0, 1) };
    const other = await loadTokenizer(await folder({ ...files, 'tokenizer_config.json': first }));
    expect(other.chatTemplate).toBe('tools');
  });

  it('reads chat_template.jinja when tokenizer_config has no template', async () => {
    const files = withoutTemplate(fixtureFiles('opt'));
    const tok = await loadTokenizer(
      await folder({ ...files, 'chat_template.jinja': '[{{ eos_token }}]' }),
    );
    expect(tok.renderChat([])).toBe('[</s>]');
  });

  it('explains a folder without tokenizer.json', async () => {
    const err = await invalid(loadTokenizer(await folder({ 'config.json': {} })), 'tokenizer.json');
    expect(err.message).toContain('fast-tokenizer');
    const sentencePiece = await folder({ 'tokenizer.model': 'binary' });
    const spErr = await invalid(loadTokenizer(sentencePiece), 'tokenizer.json');
    expect(spErr.message).toContain('tokenizer.model');
    expect(spErr.hint).toContain(
      `AutoTokenizer.from_pretrained('${sentencePiece}').save_pretrained(`,
    );
    const slow = await invalid(
      loadTokenizer(await folder({ 'vocab.json': {}, 'merges.txt': '' })),
      'tokenizer.json',
    );
    expect(slow.hint).toContain('save_pretrained');
  });

  it('names a file that is not valid JSON', async () => {
    await invalid(
      loadTokenizer(await folder({ 'tokenizer.json': '{"version": "1.0",' })),
      'tokenizer.json',
    );
    const files = fixtureFiles('llama');
    await invalid(
      loadTokenizer(await folder({ ...files, 'tokenizer_config.json': '{oops' })),
      'tokenizer_config.json',
    );
    await invalid(
      loadTokenizer(await folder({ ...files, 'tokenizer_config.json': '[1]' })),
      'tokenizer_config.json',
    );
    await invalid(
      loadTokenizer(await folder({ ...files, 'generation_config.json': '{' })),
      'generation_config.json',
    );
  });

  it('names tokenizer.json and the library message when the library rejects it', async () => {
    const err = await invalid(
      loadTokenizer(await folder({ 'tokenizer.json': { version: '1.0' } })),
      'tokenizer.json',
    );
    expect(err.message).toContain('"model"');
    const json = fixtureFiles('gpt2')['tokenizer.json'] as Record<string, object>;
    // (An unknown model type that has BPE's fields is read as BPE, so break the pre-tokenizer.)
    const unknownStep = { ...json, pre_tokenizer: { type: 'Nonsense' } };
    const typeErr = await invalid(
      loadTokenizer(await folder({ 'tokenizer.json': unknownStep })),
      'tokenizer.json',
    );
    expect(typeErr.message).toContain('Nonsense');
  });

  it('explains a missing chat template', async () => {
    const tok = await loadTokenizer(await folder(withoutTemplate(fixtureFiles('gpt2'))));
    const err = thrown(() => tok.renderChat(chat), 'tokenizer_config.json');
    expect(err.message).toContain('no chat template');
    expect(err.hint).toBeDefined();
  });

  it('names the file and jinja message when a template fails', async () => {
    const files = fixtureFiles('mistral');
    const config = files['tokenizer_config.json'] as Record<string, unknown>;
    // The mistral template raises for a role it does not know.
    const tok = await loadTokenizer(await folder(files));
    const raised = thrown(
      () => tok.renderChat([{ role: 'tool', content: 'x' }]),
      'tokenizer_config.json',
    );
    expect(raised.message).toContain('Only user and assistant');
    const unclosed = { ...config, chat_template: '{% for m in messages %}' };
    const broken = await loadTokenizer(
      await folder({ ...files, 'tokenizer_config.json': unclosed }),
    );
    const parseErr = thrown(() => broken.renderChat(chat), 'tokenizer_config.json');
    expect(parseErr.message).toMatch(/tokenizer_config\.json failed: .+/);
  });
});
