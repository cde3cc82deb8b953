// A model folder's tokenizer: tokenizer.json (the fast-tokenizer file) through
// @huggingface/tokenizers, special tokens from tokenizer_config.json and generation_config.json,
// and the chat template rendered with @huggingface/jinja.
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Template } from '@huggingface/jinja';
import { Tokenizer } from '@huggingface/tokenizers';
import { WhetstoneError } from '../errors.js';

export interface ChatMessage {
  role: string;
  content: string;
}

/** Text <-> token ids for one model, with its special tokens and chat template. */
export interface TextTokenizer {
  /** Largest id + 1 over the model vocabulary and the added tokens. */
  readonly vocabSize: number;
  readonly bosTokenId?: number;
  /** tokenizer_config's eos_token, then generation_config's eos_token_id(s), without repeats. */
  readonly eosTokenIds: number[];
  readonly padTokenId?: number;
  /** Masked LMs: the id of tokenizer_config's mask_token (RoBERTa's <mask>, BERT's [MASK]). */
  readonly maskTokenId?: number;
  /** Ids of every special token tokenizer_config names (bos, eos, cls, sep, pad, mask, unk...). */
  readonly specialTokenIds: number[];
  readonly chatTemplate?: string;
  /** Token ids of `text`; special tokens (a BOS, say) are added unless addSpecialTokens is false. */
  encode(text: string, opts?: { addSpecialTokens?: boolean }): number[];
  decode(ids: readonly number[], opts?: { skipSpecialTokens?: boolean }): string;
  tokenToId(token: string): number | undefined;
  /** The chat template applied to `messages`; encode the result with addSpecialTokens false. */
  renderChat(messages: ChatMessage[], opts?: { addGenerationPrompt?: boolean }): string;
}

type Json = Record<string, unknown>;

// The package's .d.ts files import each other without extensions, which NodeNext cannot resolve,
// so `Tokenizer` arrives as `any`: these are the members used here, as the library defines them.
interface HfTokenizer {
  encode(text: string, options: { add_special_tokens: boolean }): { ids: number[] };
  decode(ids: number[], options: { skip_special_tokens: boolean }): string;
  token_to_id(token: string): number | undefined;
  get_vocab(withAddedTokens: boolean): Map<string, number>;
}
const HfTokenizerClass = Tokenizer as new (tokenizer: Json, config: Json) => HfTokenizer;

const convertHint = (dir: string) =>
  'Convert it once with transformers: python -c "from transformers import AutoTokenizer; ' +
  `AutoTokenizer.from_pretrained('${dir}').save_pretrained('${dir}')" (this writes tokenizer.json).`;

/** Load the tokenizer of the Hugging Face model folder `dir`. */
export async function loadTokenizer(dir: string): Promise<TextTokenizer> {
  const tokenizerFile = join(dir, 'tokenizer.json');
  const tokenizerText = await readText(tokenizerFile);
  if (tokenizerText === undefined) throw await missingTokenizerJson(dir, tokenizerFile);
  const tokenizerJson = parseObject(tokenizerText, tokenizerFile);

  const configFile = join(dir, 'tokenizer_config.json');
  const configText = await readText(configFile);
  const config = configText === undefined ? {} : parseObject(configText, configFile);

  let tokenizer: HfTokenizer;
  try {
    // transformers no longer cleans up spaces by default; the library still does.
    const options = {
      ...config,
      clean_up_tokenization_spaces: config.clean_up_tokenization_spaces ?? false,
    };
    tokenizer = new HfTokenizerClass(tokenizerJson, options);
  } catch (err) {
    throw new WhetstoneError(
      'TOKENIZER_INVALID',
      `${tokenizerFile} could not be loaded: ${errorMessage(err)}`,
      'Re-save the tokenizer with transformers (save_pretrained) or download tokenizer.json again.',
    );
  }

  const tokenId = (value: unknown) => {
    const name = tokenName(value);
    return name === undefined ? undefined : tokenizer.token_to_id(name);
  };
  const eosTokenIds = [tokenId(config.eos_token), ...(await generationEos(dir))];
  const template = await findChatTemplate(dir, config, configFile);
  let vocabSize = 0;
  for (const id of tokenizer.get_vocab(true).values()) vocabSize = Math.max(vocabSize, id + 1);

  // Every *_token of tokenizer_config, as templates may refer to any of them.
  const templateTokens: Record<string, string> = {};
  for (const [key, value] of Object.entries(config)) {
    const name = key.endsWith('_token') ? tokenName(value) : undefined;
    if (name !== undefined) templateTokens[key] = name;
  }
  let compiled: Template | undefined;
  const specialTokenIds = Object.values(templateTokens)
    .map((name) => tokenizer.token_to_id(name))
    .filter((id): id is number => typeof id === 'number');

  return {
    vocabSize,
    bosTokenId: tokenId(config.bos_token),
    eosTokenIds: [...new Set(eosTokenIds.filter((id) => id !== undefined))],
    padTokenId: tokenId(config.pad_token),
    maskTokenId: tokenId(config.mask_token),
    specialTokenIds: [...new Set(specialTokenIds)],
    chatTemplate: template?.source,

    encode(text, opts) {
      const { ids } = tokenizer.encode(text, {
        add_special_tokens: opts?.addSpecialTokens ?? true,
      });
      if (ids.some((id: unknown) => typeof id !== 'number')) {
        throw new WhetstoneError(
          'TOKENIZER_INVALID',
          `${tokenizerFile} produced a token with no id while encoding ${JSON.stringify(text.slice(0, 40))}.`,
          'The tokenizer has no unknown token for text outside its vocabulary; re-save it with transformers.',
        );
      }
      return ids;
    },

    decode(ids, opts) {
      // The library rejects an empty list; an empty continuation is common while streaming.
      if (ids.length === 0) return '';
      return tokenizer.decode([...ids], { skip_special_tokens: opts?.skipSpecialTokens ?? false });
    },

    tokenToId: (token) => tokenizer.token_to_id(token),

    renderChat(messages, opts) {
      if (template === undefined) {
        throw new WhetstoneError(
          'TOKENIZER_INVALID',
          `${dir} has no chat template (no chat_template in ${configFile}).`,
          'Use plain text prompts for this model, or pick its instruct/chat variant, which ships a chat template.',
        );
      }
      try {
        compiled ??= new Template(template.source);
        return compiled.render({
          ...templateTokens,
          messages,
          add_generation_prompt: opts?.addGenerationPrompt ?? false,
          bos_token: templateTokens.bos_token ?? '',
          eos_token: templateTokens.eos_token ?? '',
        });
      } catch (err) {
        throw new WhetstoneError(
          'TOKENIZER_INVALID',
          `The chat template in ${template.file} failed: ${errorMessage(err)}`,
          'The template may use Jinja features @huggingface/jinja lacks, or expect other roles or fields; check the messages or fix the template.',
        );
      }
    },
  };
}

async function readText(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new WhetstoneError(
      'TOKENIZER_INVALID',
      `${file} could not be read: ${errorMessage(err)}`,
    );
  }
}

function parseObject(text: string, file: string): Json {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new WhetstoneError(
      'TOKENIZER_INVALID',
      `${file} is not valid JSON: ${errorMessage(err)}`,
      'The file may be truncated or a Git LFS pointer; download it again.',
    );
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new WhetstoneError('TOKENIZER_INVALID', `${file} must hold a JSON object.`);
  }
  return value as Json;
}

async function missingTokenizerJson(dir: string, file: string): Promise<WhetstoneError> {
  const has = async (name: string) =>
    stat(join(dir, name)).then(
      () => true,
      () => false,
    );
  const message = `${file} not found: Whetstone needs tokenizer.json, the fast-tokenizer file.`;
  if (await has('tokenizer.model')) {
    return new WhetstoneError(
      'TOKENIZER_INVALID',
      `${message} ${dir} has only a SentencePiece tokenizer.model.`,
      convertHint(dir),
    );
  }
  if ((await has('vocab.json')) && (await has('merges.txt'))) {
    return new WhetstoneError(
      'TOKENIZER_INVALID',
      `${message} ${dir} has only the slow-tokenizer files vocab.json and merges.txt.`,
      convertHint(dir),
    );
  }
  return new WhetstoneError(
    'TOKENIZER_INVALID',
    message,
    'Pick a Hugging Face model folder that includes tokenizer.json, or copy it from the base model.',
  );
}

/** eos_token_id of generation_config.json (a number or a list), if the folder has one. */
async function generationEos(dir: string): Promise<number[]> {
  const file = join(dir, 'generation_config.json');
  const text = await readText(file);
  if (text === undefined) return [];
  const eos = parseObject(text, file).eos_token_id;
  const ids = Array.isArray(eos) ? (eos as unknown[]) : [eos];
  return ids.filter((id): id is number => Number.isInteger(id));
}

/**
 * The chat template: tokenizer_config's chat_template (a string, or a list of {name, template}
 * where 'default' wins), else chat_template.jinja or chat_template.json beside it.
 */
async function findChatTemplate(
  dir: string,
  config: Json,
  configFile: string,
): Promise<{ source: string; file: string } | undefined> {
  const pick = (value: unknown): string | undefined => {
    if (typeof value === 'string') return value;
    if (!Array.isArray(value)) return undefined;
    const named = value.filter(
      (t): t is { name?: unknown; template: string } =>
        typeof t === 'object' && t !== null && typeof (t as Json).template === 'string',
    );
    return (named.find((t) => t.name === 'default') ?? named[0])?.template;
  };
  const fromConfig = pick(config.chat_template);
  if (fromConfig !== undefined) return { source: fromConfig, file: configFile };
  const jinjaFile = join(dir, 'chat_template.jinja');
  const jinja = await readText(jinjaFile);
  if (jinja !== undefined) return { source: jinja, file: jinjaFile };
  const jsonFile = join(dir, 'chat_template.json');
  const json = await readText(jsonFile);
  if (json === undefined) return undefined;
  const source = pick(parseObject(json, jsonFile).chat_template);
  return source === undefined ? undefined : { source, file: jsonFile };
}

/** A special token as written in tokenizer_config: a string or an AddedToken {content}. */
function tokenName(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null && typeof (value as Json).content === 'string') {
    return (value as Json).content as string;
  }
  return undefined;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
