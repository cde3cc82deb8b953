// The tokenizer.ggml.* keys: byte-level BPE ("gpt2" in llama.cpp) with every token, its type,
// the merges, the special ids, add_bos_token, the chat template, and the `pre` name of the
// pre-tokenizer llama.cpp must split text with. Tokenizers no llama.cpp pre-tokenizer matches
// are refused: llama.cpp rejects an unknown name and silently mis-splits with a missing one.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { WhetstoneError } from '../../errors.js';
import type { TextTokenizer } from '../../io/tokenizer.js';
import type { GgufMetadata } from './writer.js';

type Json = Record<string, unknown>;

// The split regexes of Llama 3 and Qwen2 tokenizer.json files, which llama.cpp implements as
// the pre-tokenizers "llama-bpe" and "qwen2".
const LLAMA3_SPLIT =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const QWEN2_SPLIT =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

const TOKEN_NORMAL = 1;
const TOKEN_CONTROL = 3;
const TOKEN_USER_DEFINED = 4;
const TOKEN_UNUSED = 5;

function refuse(file: string, why: string): never {
  throw new WhetstoneError(
    'TOKENIZER_INVALID',
    `GGUF export: ${file} ${why}, so no llama.cpp pre-tokenizer would split text the way this model does.`,
    'GGUF export supports byte-level BPE tokenizers that pre-tokenize like GPT-2, Llama 3 or Qwen2; export a Hugging Face folder (--format merged) instead.',
  );
}

/** llama.cpp's `tokenizer.ggml.pre` for a tokenizer.json, or a refusal saying why none fits. */
export function preTokenizerName(tj: Json, file: string): 'gpt-2' | 'llama-bpe' | 'qwen2' {
  const model = tj.model as Json | undefined;
  if (model?.type !== 'BPE') refuse(file, `has a ${String(model?.type)} model, not byte-level BPE`);
  if (model.byte_fallback === true) refuse(file, 'uses byte fallback (a SentencePiece-style BPE)');
  const pre = tj.pre_tokenizer as Json | null | undefined;
  const normalizer = tj.normalizer as Json | null | undefined;
  const isByteLevel = (p: Json | undefined, regex: boolean) =>
    p?.type === 'ByteLevel' && p.add_prefix_space !== true && (p.use_regex ?? true) === regex;
  if (isByteLevel(pre ?? undefined, true)) {
    if (normalizer)
      refuse(file, `normalizes text (${String(normalizer.type)}) before GPT-2 splitting`);
    return 'gpt-2';
  }
  const steps = pre?.type === 'Sequence' ? (pre.pretokenizers as Json[]) : [];
  const split = steps[0];
  const pattern = (split?.pattern as Json | undefined)?.Regex;
  const shape =
    steps.length === 2 &&
    split?.type === 'Split' &&
    split.behavior === 'Isolated' &&
    split.invert !== true &&
    isByteLevel(steps[1], false);
  if (shape && pattern === LLAMA3_SPLIT && !normalizer) return 'llama-bpe';
  if (shape && pattern === QWEN2_SPLIT && (!normalizer || normalizer.type === 'NFC'))
    return 'qwen2';
  refuse(
    file,
    `has a pre-tokenizer (${JSON.stringify(pre).slice(0, 200)}) that is not GPT-2's, Llama 3's or Qwen2's`,
  );
}

/** Whether the tokenizer prepends BOS: tokenizer_config's add_bos_token, else the post-processor. */
function addsBos(tj: Json, config: Json, bos: string | undefined): boolean {
  if (typeof config.add_bos_token === 'boolean') return config.add_bos_token;
  // A TemplateProcessing that starts with BOS, alone or inside a Sequence (Llama 3's).
  const post = tj.post_processor as Json | null | undefined;
  const processors = post?.type === 'Sequence' ? (post.processors as Json[]) : post ? [post] : [];
  return processors.some((p) => {
    const first = (p.single as Json[] | undefined)?.[0];
    return bos !== undefined && (first?.SpecialToken as Json | undefined)?.id === bos;
  });
}

/** tokenizer.ggml.* for the model folder `dir`, its vocabulary padded to `vocabSize` tokens. */
export async function tokenizerMetadata(
  dir: string,
  tok: TextTokenizer,
  vocabSize: number,
): Promise<GgufMetadata> {
  const file = join(dir, 'tokenizer.json');
  const tj = JSON.parse(await readFile(file, 'utf8')) as Json;
  const config = await readFile(join(dir, 'tokenizer_config.json'), 'utf8').then(
    (t) => JSON.parse(t) as Json,
    (): Json => ({}),
  );
  const pre = preTokenizerName(tj, file);
  const model = tj.model as { vocab: Record<string, number>; merges: (string | string[])[] };

  const tokens: (string | undefined)[] = new Array<string | undefined>(vocabSize);
  const types = new Int32Array(vocabSize).fill(TOKEN_NORMAL);
  for (const [token, id] of Object.entries(model.vocab)) tokens[id] = token;
  for (const added of (tj.added_tokens as Json[] | undefined) ?? []) {
    const id = added.id as number;
    tokens[id] = added.content as string;
    types[id] = added.special === true ? TOKEN_CONTROL : TOKEN_USER_DEFINED;
  }
  if (tokens.length > vocabSize) {
    throw new WhetstoneError(
      'TOKENIZER_INVALID',
      `${file} has ${tokens.length} tokens but the model's embedding only ${vocabSize} rows.`,
    );
  }
  // Rows of the embedding no token uses (vocabularies padded to a round size).
  for (let id = 0; id < vocabSize; id++) {
    if (tokens[id] === undefined) {
      tokens[id] = `[PAD${id}]`;
      types[id] = TOKEN_UNUSED;
    }
  }
  const merges = model.merges.map((m) => (Array.isArray(m) ? m.join(' ') : m));

  const m: GgufMetadata = new Map();
  m.set('tokenizer.ggml.model', { type: 'string', value: 'gpt2' });
  m.set('tokenizer.ggml.pre', { type: 'string', value: pre });
  m.set('tokenizer.ggml.tokens', { type: 'string[]', value: tokens as string[] });
  m.set('tokenizer.ggml.token_type', { type: 'i32[]', value: types });
  m.set('tokenizer.ggml.merges', { type: 'string[]', value: merges });
  const bosName = tok.bosTokenId === undefined ? undefined : tokens[tok.bosTokenId];
  if (tok.bosTokenId !== undefined) {
    m.set('tokenizer.ggml.bos_token_id', { type: 'u32', value: tok.bosTokenId });
  }
  if (tok.eosTokenIds.length > 0) {
    m.set('tokenizer.ggml.eos_token_id', { type: 'u32', value: tok.eosTokenIds[0]! });
  }
  if (tok.padTokenId !== undefined) {
    m.set('tokenizer.ggml.padding_token_id', { type: 'u32', value: tok.padTokenId });
  }
  m.set('tokenizer.ggml.add_bos_token', { type: 'bool', value: addsBos(tj, config, bosName) });
  if (tok.chatTemplate !== undefined) {
    m.set('tokenizer.chat_template', { type: 'string', value: tok.chatTemplate });
  }
  return m;
}
