// AdaLoRA adapters in PEFT's layout: `adapter_config.json` with peft_type "ADALORA", the schedule
// (init_r, target_r, tinit, tfinal, deltaT, beta1, beta2, orth_reg_weight, total_step) and
// `rank_pattern` {"<module>.lora_E": [kept, ...]}, and `adapter_model.safetensors` with
// `base_model.model.<module>.lora_A` (Q [k, in]), `.lora_B` (P [out, k]) and `.lora_E`
// (λ [k, 1]) holding only the k kept ranks, as PEFT's get_peft_model_state_dict cuts them.
// Loading puts them back at their places among init_r ranks, the pruned ones zero.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { tf } from '../backend/tf.js';
import { WhetstoneError } from '../errors.js';
import { SafetensorsFile } from '../io/safetensors.js';
import { writeSafetensors, type WriteEntry } from '../io/safetensors-writer.js';
import { ADALORA_DEFAULTS, adaE, adaP, adaQ, rankPattern, type AdaLoraOptions } from './adalora.js';
import { applyRankPattern } from './adalora-train.js';
import { peftTaskType, type LoraOptions } from './config.js';
import type { PeftModel } from './load.js';
import { writeFolderAtomic } from '../export/atomic-folder.js';

const PREFIX = 'base_model.model.';
const CONFIG = 'adapter_config.json';
const WEIGHTS = 'adapter_model.safetensors';

const configSchema = z
  .object({
    peft_type: z.literal('ADALORA'),
    init_r: z.number().int().positive().default(ADALORA_DEFAULTS.initR),
    target_r: z.number().int().positive().default(ADALORA_DEFAULTS.targetR),
    tinit: z.number().int().nonnegative().default(0),
    tfinal: z.number().int().nonnegative().default(0),
    deltaT: z.number().int().positive().default(1),
    beta1: z.number().gt(0).lt(1).default(ADALORA_DEFAULTS.beta1),
    beta2: z.number().gt(0).lt(1).default(ADALORA_DEFAULTS.beta2),
    orth_reg_weight: z.number().nonnegative().default(ADALORA_DEFAULTS.orthReg),
    total_step: z.number().int().positive().nullish(),
    lora_alpha: z.number().positive().default(8),
    lora_dropout: z.number().min(0).default(0),
    target_modules: z.union([z.string(), z.array(z.string())]),
    rank_pattern: z.record(z.string(), z.array(z.boolean())).nullish(),
  })
  .loose();

/** The kept rank indices of a pattern. */
const keptIndices = (pattern: boolean[]) => pattern.flatMap((keep, i) => (keep ? [i] : []));

export function adaloraAdapterConfig(pm: PeftModel, baseModel: string, targets: string[]) {
  const ada = pm.adalora!;
  const o = ada.options;
  const conv1d = [...ada.modules.values()].some((m) => m.spec.layout === 'in-out');
  return {
    peft_type: 'ADALORA',
    task_type: peftTaskType(pm.model.objective),
    base_model_name_or_path: baseModel,
    // PEFT ignores r for AdaLoRA (init_r and target_r rule); the final average rank is the honest value.
    r: o.targetR,
    lora_alpha: pm.spec.lora.alpha,
    lora_dropout: pm.spec.lora.dropout,
    target_modules: targets,
    bias: 'none',
    fan_in_fan_out: conv1d,
    use_rslora: false,
    use_dora: false,
    init_lora_weights: true,
    modules_to_save: null,
    inference_mode: true,
    init_r: o.initR,
    target_r: o.targetR,
    tinit: o.tinit ?? 0,
    tfinal: o.tfinal ?? 0,
    deltaT: o.deltaT,
    beta1: o.beta1,
    beta2: o.beta2,
    orth_reg_weight: o.orthReg,
    total_step: o.totalStep ?? null,
    rank_pattern: rankPattern(ada),
    alpha_pattern: {},
  };
}

/** The adapter's tensors, each cut to its module's kept ranks. */
function entries(pm: PeftModel): WriteEntry[] {
  const { params } = pm.model;
  return [...pm.adalora!.modules].flatMap(([module, m]) => {
    const kept = keptIndices(m.pattern);
    const cut = (name: string, axis: number): WriteEntry => {
      const v = params.get(name);
      const shape = [...v.shape];
      shape[axis] = kept.length;
      return {
        name: PREFIX + name,
        shape,
        dtype: 'F32',
        data: async () => {
          if (kept.length === v.shape[axis]) return await v.data();
          if (kept.length === 0) return new Float32Array(0);
          const t = tf.tidy(() => tf.gather(v, tf.tensor1d(kept, 'int32'), axis));
          const values = (await t.data()) as Float32Array;
          t.dispose();
          return values;
        },
      };
    };
    return [cut(adaQ(module), 0), cut(adaE(module), 0), cut(adaP(module), 1)];
  });
}

export async function writeAdaLoraAdapter(
  pm: PeftModel,
  baseModel: string,
  targets: string[],
  outDir: string,
  force: boolean,
): Promise<{ files: string[] }> {
  const config = adaloraAdapterConfig(pm, baseModel, targets);
  const tensors = entries(pm);
  return writeFolderAtomic(outDir, force, async (temp) => {
    await writeFile(join(temp, CONFIG), `${JSON.stringify(config, null, 2)}\n`);
    await writeSafetensors(join(temp, WEIGHTS), tensors, { format: 'pt' });
    return { files: [CONFIG, WEIGHTS] };
  });
}

export interface AdaLoraAdapterConfig {
  lora: Partial<LoraOptions>;
  adalora: AdaLoraOptions;
  rankPattern: Record<string, boolean[]>;
}

/** The options and rank pattern of an AdaLoRA adapter folder. */
export async function readAdaLoraAdapter(dir: string): Promise<AdaLoraAdapterConfig> {
  const file = join(dir, CONFIG);
  const raw: unknown = JSON.parse(
    await readFile(file, 'utf8').catch((err: Error) => {
      throw new WhetstoneError('MODEL_NOT_FOUND', `Cannot read ${file}: ${err.message}`);
    }),
  );
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) {
    const type = (raw as { peft_type?: unknown } | null)?.peft_type;
    throw new WhetstoneError(
      'MODEL_UNSUPPORTED',
      `${file} is not an AdaLoRA adapter config${typeof type === 'string' && type !== 'ADALORA' ? ` (peft_type ${type})` : `: ${parsed.error.message}`}.`,
      typeof type === 'string' && type === 'LORA'
        ? 'This is a LoRA adapter: train it further with --peft lora.'
        : 'Whetstone loads PEFT AdaLoRA adapters with peft_type "ADALORA".',
    );
  }
  const c = parsed.data;
  const targets = typeof c.target_modules === 'string' ? [c.target_modules] : c.target_modules;
  const rankPattern = c.rank_pattern ?? {};
  for (const [key, pattern] of Object.entries(rankPattern)) {
    if (pattern.length !== c.init_r) {
      throw new WhetstoneError(
        'MODEL_UNSUPPORTED',
        `${file}: rank_pattern["${key}"] has ${pattern.length} entries, init_r is ${c.init_r}.`,
      );
    }
  }
  return {
    lora: { alpha: c.lora_alpha, dropout: c.lora_dropout, targets },
    adalora: {
      initR: c.init_r,
      targetR: c.target_r,
      tinit: c.tinit,
      tfinal: c.tfinal,
      deltaT: c.deltaT,
      orthReg: c.orth_reg_weight,
      beta1: c.beta1,
      beta2: c.beta2,
      ...(c.total_step != null && { totalStep: c.total_step }),
    },
    rankPattern,
  };
}

/**
 * Fill the model's AdaLoRA weights from an adapter folder: the kept ranks at their places, the
 * pruned ones zero and masked. Every tensor must find its module, with the kept rank count.
 */
export async function loadAdaLoraWeights(
  dir: string,
  pm: PeftModel,
  pattern: Record<string, boolean[]>,
): Promise<void> {
  const ada = pm.adalora!;
  const { params } = pm.model;
  applyRankPattern(params, ada, pattern);
  const file = await SafetensorsFile.open(join(dir, WEIGHTS));
  try {
    const byName = new Map(
      file
        .names()
        .map((stored) => [
          stored.replace(/^base_model\.model\./, '').replace(/\.default$/, ''),
          stored,
        ]),
    );
    for (const [module, m] of ada.modules) {
      const kept = keptIndices(m.pattern);
      for (const [name, axis] of [
        [adaQ(module), 0],
        [adaE(module), 0],
        [adaP(module), 1],
      ] as const) {
        const stored = byName.get(name);
        if (stored === undefined) {
          throw new WhetstoneError(
            'TENSOR_MISSING',
            `${file.path} lacks ${PREFIX}${name}.`,
            'The adapter was trained on another architecture or with other target modules.',
          );
        }
        byName.delete(name);
        const variable = params.get(name);
        const { values, shape } = await file.read(stored);
        const expected = [...variable.shape];
        expected[axis] = kept.length;
        if (shape.join(',') !== expected.join(',')) {
          throw new WhetstoneError(
            'TENSOR_SHAPE_MISMATCH',
            `${file.path}: "${stored}" has shape [${shape.join(', ')}], the model expects [${expected.join(', ')}] (${kept.length} of ${m.pattern.length} ranks kept).`,
            'The adapter belongs to a model of another size, or its rank_pattern or init_r differ from its tensors.',
          );
        }
        tf.tidy(() => variable.assign(scatterRanks(values, shape, variable.shape, kept, axis)));
      }
    }
    if (byName.size > 0) {
      const [first] = byName.values();
      throw new WhetstoneError(
        'TENSOR_MISSING',
        `${file.path}: "${first}" matches no adapted module of this model.`,
        'The adapter was trained on another architecture or with other target modules.',
      );
    }
  } finally {
    await file.close();
  }
}

/** A [init_r]-rank tensor with the stored kept ranks at their indices and zeros elsewhere. */
function scatterRanks(
  values: ArrayLike<number>,
  shape: number[],
  full: number[],
  kept: number[],
  axis: 0 | 1,
): tf.Tensor {
  const [rows, cols] = full as [number, number];
  const out = new Float32Array(rows * cols);
  const storedCols = shape[1]!;
  for (const [j, k] of kept.entries()) {
    if (axis === 0) for (let c = 0; c < cols; c++) out[k * cols + c] = values[j * storedCols + c]!;
    else for (let r = 0; r < rows; r++) out[r * cols + k] = values[r * storedCols + j]!;
  }
  return tf.tensor2d(out, [rows, cols]);
}
