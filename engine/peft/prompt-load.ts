// Loading a model for prefix or prompt tuning: the frozen base, `prompt_embeddings` initialised
// (random, or from text through the base), and the model wrapped to continue from it.
import { isBlockwise } from '../../common/methods.js';
import { WhetstoneError } from '../errors.js';
import { loadTokenizer } from '../io/tokenizer.js';
import type { CausalLM } from '../models/causal-lm.js';
import { loadModel, type LoadOptions } from '../models/load.js';
import type { PeftKind } from './config.js';
import {
  initialPrompt,
  initTokenIds,
  isPromptKind,
  isPromptParam,
  PROMPT_EMBEDDINGS,
  promptTunedModel,
  VIRTUAL_TOKEN_DEFAULTS,
  type PromptKind,
  type PromptOptions,
} from './prompts.js';

export type { PromptOptions };

/** Prompt options with PEFT's defaults (other kinds carry them unused). */
export function promptOptions(
  kind: PeftKind,
  o: { virtualTokens?: number | undefined; initText?: string | undefined },
): PromptOptions {
  return {
    virtualTokens: o.virtualTokens ?? (isPromptKind(kind) ? VIRTUAL_TOKEN_DEFAULTS[kind] : 0),
    ...(o.initText !== undefined && { initText: o.initText }),
  };
}

/** The job fields a run states them in (`--virtual-tokens`, `--prompt-init-text`). */
export function promptFields(f: {
  virtualTokens?: number | undefined;
  promptInitText?: string | undefined;
}): { virtualTokens?: number; initText?: string } {
  return {
    ...(f.virtualTokens !== undefined && { virtualTokens: f.virtualTokens }),
    ...(f.promptInitText !== undefined && { initText: f.promptInitText }),
  };
}

export async function loadPromptModel(
  dir: string,
  kind: PromptKind,
  spec: { prompt: PromptOptions; seed: number },
  opts: LoadOptions,
): Promise<CausalLM> {
  const n = spec.prompt.virtualTokens;
  const base = await loadModel(dir, opts);
  try {
    if (n >= base.config.contextLength) {
      throw new WhetstoneError(
        'BAD_ARGUMENT',
        `--virtual-tokens ${n} leaves no room in the model's context of ${base.config.contextLength}.`,
        'Use fewer virtual tokens.',
      );
    }
    let textIds: number[] | undefined;
    if (spec.prompt.initText !== undefined) {
      const ids = (await loadTokenizer(dir)).encode(spec.prompt.initText);
      if (ids.length === 0) {
        throw new WhetstoneError('BAD_ARGUMENT', '--prompt-init-text encodes to no tokens.');
      }
      textIds = initTokenIds(ids, n);
    }
    base.params.add(PROMPT_EMBEDDINGS, initialPrompt(kind, base, n, spec.seed, textIds));
    base.params.setTrainable(isPromptParam);
    return promptTunedModel(base, kind, n);
  } catch (err) {
    base.params.dispose();
    base.dispose();
    throw err;
  }
}

/**
 * Methods that recompute the model part by part (LOMO, AdaLomo, --recompute) would need the
 * prefix inside every part; the prompt tensor is small, so their memory saving is nil anyway.
 */
export function checkPromptMethod(kind: PeftKind, method: string, recompute: boolean): void {
  if (!isPromptKind(kind)) return;
  if (isBlockwise(method) || recompute) {
    throw new WhetstoneError(
      'BAD_ARGUMENT',
      `--peft ${kind} trains one small tensor, so ${recompute ? '--recompute' : method}'s part-by-part backward does not apply.`,
      'Use fo-adamw or fo-sgd (without --recompute), or a zeroth-order method such as zo-sgd.',
    );
  }
}

/** Prefix and prompt tuning change no weight, so there is nothing to merge. */
export function refuseMerged(kind: PromptKind): never {
  throw new WhetstoneError(
    'BAD_ARGUMENT',
    `A --peft ${kind} run has no weights to merge: its ${kind === 'prefix' ? 'prefix keys and values' : 'virtual tokens'} live outside the model's weights.`,
    'Export it with --format adapter (PEFT loads it onto the base model), or generate with it through its run.',
  );
}
