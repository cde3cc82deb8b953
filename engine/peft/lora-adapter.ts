// LoRA adapters in PEFT's layout, both ways: `adapter_config.json` plus `adapter_model.safetensors`
// with keys `base_model.model.<module>.lora_A.weight` [r, in] and `.lora_B.weight` [out, r], the
// files `PeftModel.from_pretrained` reads (docs/formats.md#peft-adapters).
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { WhetstoneError } from '../errors.js';
import { SafetensorsFile } from '../io/safetensors.js';
import { writeSafetensors } from '../io/safetensors-writer.js';
import { peftTaskType, selectTargets, type LoraOptions } from './config.js';
import type { PeftModel } from './load.js';
import { loraA, loraB } from './lora.js';
import { assignStored } from './adapter-tensor.js';
import { writeFolderAtomic } from '../export/atomic-folder.js';
import { writeAdaLoraAdapter } from './adalora-adapter.js';

const PREFIX = 'base_model.model.';
export const ADAPTER_CONFIG = 'adapter_config.json';
export const ADAPTER_WEIGHTS = 'adapter_model.safetensors';

const configSchema = z
  .object({
    peft_type: z.string(),
    r: z.number().int().positive(),
    lora_alpha: z.number().positive(),
    lora_dropout: z.number().min(0).default(0),
    target_modules: z.union([z.string(), z.array(z.string())]),
    use_rslora: z.boolean().default(false),
    base_model_name_or_path: z.string().nullish(),
  })
  .loose();

/** The names to record as target_modules: short suffixes when they select exactly our modules. */
function targetNames(pm: PeftModel): string[] {
  const adapted = [...pm.modules.keys()].sort();
  const suffixes = [...new Set(adapted.map((n) => n.split('.').at(-1)!))].sort();
  const chosen = selectTargets(pm.model.linearSpecs(), suffixes).map((s) => s.name);
  return chosen.sort().join() === adapted.join() ? suffixes : adapted;
}

export async function writePeftAdapter(
  pm: PeftModel,
  baseModel: string,
  outDir: string,
  force = false,
): Promise<{ files: string[] }> {
  if (pm.modules.size === 0) {
    throw new WhetstoneError(
      'BAD_ARGUMENT',
      'This run fine-tuned every weight, so it has no adapter to export.',
      'Export it with --format merged.',
    );
  }
  if (pm.adalora) return writeAdaLoraAdapter(pm, baseModel, targetNames(pm), outDir, force);
  const { lora } = pm.spec;
  const conv1d = [...pm.modules.values()].some((m) => m.spec.layout === 'in-out');
  const config = {
    peft_type: 'LORA',
    task_type: peftTaskType(pm.model.objective),
    base_model_name_or_path: baseModel,
    r: lora.r,
    lora_alpha: lora.alpha,
    lora_dropout: lora.dropout,
    target_modules: targetNames(pm),
    bias: 'none',
    // GPT-2's Conv1D stores weights [in, out]; PEFT marks that with fan_in_fan_out.
    fan_in_fan_out: conv1d,
    use_rslora: lora.rslora,
    use_dora: false,
    init_lora_weights: true,
    modules_to_save: null,
    rank_pattern: {},
    alpha_pattern: {},
    inference_mode: true,
  };
  const entries = [...pm.modules.keys()].flatMap((module) =>
    [loraA(module), loraB(module)].map((name) => {
      const v = pm.model.params.get(name);
      return {
        name: PREFIX + name,
        shape: v.shape,
        dtype: 'F32' as const,
        data: async () => await v.data(),
      };
    }),
  );
  return writeFolderAtomic(outDir, force, async (temp) => {
    await writeFile(join(temp, ADAPTER_CONFIG), `${JSON.stringify(config, null, 2)}\n`);
    await writeSafetensors(join(temp, ADAPTER_WEIGHTS), entries, { format: 'pt' });
    return { files: [ADAPTER_CONFIG, ADAPTER_WEIGHTS] };
  });
}

/** The LoRA options an adapter folder was trained with. */
export async function readAdapterOptions(dir: string): Promise<LoraOptions> {
  const file = join(dir, ADAPTER_CONFIG);
  const raw: unknown = JSON.parse(
    await readFile(file, 'utf8').catch((err: Error) => {
      throw new WhetstoneError('MODEL_NOT_FOUND', `Cannot read ${file}: ${err.message}`);
    }),
  );
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success || parsed.data.peft_type !== 'LORA') {
    throw new WhetstoneError(
      'MODEL_UNSUPPORTED',
      `${file} is not a LoRA adapter config${parsed.success ? ` (peft_type ${parsed.data.peft_type})` : `: ${parsed.error.message}`}.`,
      parsed.success && parsed.data.peft_type === 'ADALORA'
        ? 'This is an AdaLoRA adapter: train it further with --peft adalora.'
        : 'Whetstone loads PEFT LoRA adapters (peft_type "LORA").',
    );
  }
  const c = parsed.data;
  // Variants this loader does not implement must not load silently as plain LoRA.
  const unsupported = [
    c.use_dora === true && 'use_dora',
    c.bias !== undefined && c.bias !== 'none' && `bias ${JSON.stringify(c.bias)}`,
    Array.isArray(c.modules_to_save) && c.modules_to_save.length > 0 && 'modules_to_save',
    isNonEmpty(c.rank_pattern) && 'rank_pattern',
    isNonEmpty(c.alpha_pattern) && 'alpha_pattern',
    typeof c.target_modules === 'string' &&
      c.target_modules !== 'all-linear' &&
      'a regex target_modules',
  ].filter((x): x is string => typeof x === 'string');
  if (unsupported.length > 0) {
    throw new WhetstoneError(
      'MODEL_UNSUPPORTED',
      `${file} uses ${unsupported.join(', ')}, which Whetstone's LoRA does not implement.`,
      'Use an adapter with one rank and alpha for every module, no DoRA, no bias and no extra saved modules.',
    );
  }
  return {
    r: c.r,
    alpha: c.lora_alpha,
    dropout: c.lora_dropout,
    rslora: c.use_rslora,
    targets: typeof c.target_modules === 'string' ? [c.target_modules] : c.target_modules,
  };
}

const isNonEmpty = (v: unknown) => typeof v === 'object' && v !== null && Object.keys(v).length > 0;

/** Fill the model's adapter weights from an adapter folder; every tensor must find its place. */
export async function loadAdapterWeights(dir: string, pm: PeftModel): Promise<void> {
  const file = await SafetensorsFile.open(join(dir, ADAPTER_WEIGHTS));
  try {
    const expected = new Set([...pm.modules.keys()].flatMap((m) => [loraA(m), loraB(m)]));
    for (const stored of file.names()) {
      // PEFT names the adapter in memory (`lora_A.default.weight`), not on disk; accept both.
      const name = stored
        .replace(/^base_model\.model\./, '')
        .replace(/\.default\.weight$/, '.weight');
      if (!expected.delete(name)) {
        throw new WhetstoneError(
          'TENSOR_MISSING',
          `${file.path}: "${stored}" matches no adapted module of this model.`,
          'The adapter was trained on another architecture or with other target modules.',
        );
      }
      await assignStored(
        file,
        stored,
        pm.model.params.get(name),
        'The adapter belongs to a model of another size, or its rank differs from adapter_config.json.',
      );
    }
    if (expected.size > 0) {
      throw new WhetstoneError(
        'TENSOR_MISSING',
        `${file.path} lacks ${expected.size} adapter tensor(s), e.g. ${PREFIX}${[...expected][0]}.`,
      );
    }
  } finally {
    await file.close();
  }
}
