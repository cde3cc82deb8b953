// Adapter kind -> its PEFT folder (adapter_config.json + adapter_model.safetensors): the settings
// and weights a run starts from (--init-adapter), and the folder an export writes. To add a kind,
// write engine/peft/<kind>-adapter.ts (copy the nearest sibling) and list it here.
import type { PeftKind } from '../../common/methods.js';
import { WhetstoneError } from '../errors.js';
import type { AdaLoraOptions } from './adalora.js';
import { loadAdaLoraWeights, readAdaLoraAdapter } from './adalora-adapter.js';
import type { LoraOptions } from './config.js';
import type { PeftModel } from './load.js';
import { loadAdapterWeights, readAdapterOptions, writePeftAdapter } from './lora-adapter.js';
import {
  loadPromptAdapterWeights,
  readPromptAdapterOptions,
  writePromptAdapter,
} from './prompt-adapter.js';

export type AdapterKind = Exclude<PeftKind, 'full'>;

/** What an adapter folder brings to a run: the settings it was made with, and its weights. */
export interface InitAdapter {
  lora?: Partial<LoraOptions>;
  /** AdaLoRA: the budget's ranks and betas (the schedule is the run's own). */
  adalora?: Pick<AdaLoraOptions, 'initR' | 'targetR' | 'beta1' | 'beta2'>;
  prompt?: { virtualTokens: number };
  /** Fill a model built with these settings with the folder's weights. */
  loadWeights(pm: PeftModel): Promise<void>;
}

export interface AdapterFormat<K extends AdapterKind> {
  read(dir: string, kind: K): Promise<InitAdapter>;
  write(
    pm: PeftModel,
    kind: K,
    baseModel: string,
    outDir: string,
    force: boolean,
  ): Promise<{ files: string[] }>;
}

const lora: AdapterFormat<'lora' | 'qlora'> = {
  read: async (dir) => ({
    lora: await readAdapterOptions(dir),
    loadWeights: (pm) => loadAdapterWeights(dir, pm),
  }),
  write: (pm, _kind, baseModel, outDir, force) => writePeftAdapter(pm, baseModel, outDir, force),
};

const adalora: AdapterFormat<'adalora'> = {
  read: async (dir) => {
    const adapter = await readAdaLoraAdapter(dir);
    const { initR, targetR, beta1, beta2 } = adapter.adalora;
    return {
      lora: adapter.lora,
      adalora: { initR, targetR, beta1, beta2 },
      loadWeights: (pm) => loadAdaLoraWeights(dir, pm, adapter.rankPattern),
    };
  },
  // PEFT's LoRA writer knows AdaLoRA's layout (its SVD triplets and rank pattern).
  write: (pm, _kind, baseModel, outDir, force) => writePeftAdapter(pm, baseModel, outDir, force),
};

const prompt: AdapterFormat<'prefix' | 'prompt'> = {
  read: async (dir, kind) => ({
    prompt: await readPromptAdapterOptions(dir, kind),
    loadWeights: (pm) => loadPromptAdapterWeights(dir, pm),
  }),
  write: writePromptAdapter,
};

const formats: { [K in AdapterKind]: AdapterFormat<K> } = {
  lora,
  qlora: lora,
  adalora,
  prefix: prompt,
  prompt,
};

/** How adapters of `kind` are read and written. */
export const adapterFormat = <K extends AdapterKind>(kind: K): AdapterFormat<K> => formats[kind];

/** Write a run's adapter as a PEFT folder; a run that trained every weight has none. */
export function writeAdapter(
  pm: PeftModel,
  kind: PeftKind,
  baseModel: string,
  outDir: string,
  force: boolean,
): Promise<{ files: string[] }> {
  if (kind === 'full') {
    throw new WhetstoneError(
      'BAD_ARGUMENT',
      'This run fine-tuned every weight, so it has no adapter to export.',
      'Export it with --format merged.',
    );
  }
  return adapterFormat(kind).write(pm, kind, baseModel, outDir, force);
}
