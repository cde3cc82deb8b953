// Prefix- and prompt-tuning adapters in PEFT's layout, both ways: `adapter_config.json` with the
// prompt-learning fields PEFT writes (peft_type PREFIX_TUNING or PROMPT_TUNING) and
// `adapter_model.safetensors` holding the one tensor `prompt_embeddings`.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { WhetstoneError } from '../errors.js';
import { SafetensorsFile } from '../io/safetensors.js';
import { writeSafetensors } from '../io/safetensors-writer.js';
import type { PeftModel } from './load.js';
import { kvWidth, PROMPT_EMBEDDINGS, type PromptKind } from './prompts.js';
import { peftTaskType } from './config.js';
import { ADAPTER_CONFIG, ADAPTER_WEIGHTS } from './lora-adapter.js';
import { assignStored } from './adapter-tensor.js';
import { writeFolderAtomic } from '../export/atomic-folder.js';

const PEFT_TYPES: Record<PromptKind, string> = {
  prefix: 'PREFIX_TUNING',
  prompt: 'PROMPT_TUNING',
};

/** adapter_config.json as PEFT writes it (prefix_projection false). */
function promptConfig(pm: PeftModel, kind: PromptKind, baseModel: string) {
  const c = pm.model.config;
  const [n, width] = pm.model.params.get(PROMPT_EMBEDDINGS).shape as [number, number];
  const common = {
    task_type: peftTaskType(pm.model.objective),
    base_model_name_or_path: baseModel,
    revision: null,
    inference_mode: true,
    num_virtual_tokens: n,
    num_transformer_submodules: 1,
    num_layers: c.layers,
    auto_mapping: null,
    modules_to_save: null,
  };
  if (kind === 'prompt') {
    const text = pm.spec.prompt.initText;
    return {
      peft_type: PEFT_TYPES.prompt,
      ...common,
      token_dim: width,
      num_attention_heads: c.heads,
      prompt_tuning_init: text === undefined ? 'RANDOM' : 'TEXT',
      prompt_tuning_init_text: text ?? null,
      tokenizer_name_or_path: text === undefined ? null : baseModel,
      tokenizer_kwargs: null,
    };
  }
  // Grouped-query models: PEFT sizes the prefix by the key/value heads (its token_dim and
  // num_attention_heads become KV·D and KV).
  return {
    peft_type: PEFT_TYPES.prefix,
    ...common,
    token_dim: kvWidth(c),
    num_attention_heads: c.kvHeads,
    encoder_hidden_size: kvWidth(c),
    prefix_projection: false,
  };
}

export async function writePromptAdapter(
  pm: PeftModel,
  kind: PromptKind,
  baseModel: string,
  outDir: string,
  force = false,
): Promise<{ files: string[] }> {
  const config = promptConfig(pm, kind, baseModel);
  const v = pm.model.params.get(PROMPT_EMBEDDINGS);
  const entries = [
    {
      name: PROMPT_EMBEDDINGS,
      shape: v.shape,
      dtype: 'F32' as const,
      data: async () => await v.data(),
    },
  ];
  return writeFolderAtomic(outDir, force, async (temp) => {
    await writeFile(join(temp, ADAPTER_CONFIG), `${JSON.stringify(config, null, 2)}\n`);
    await writeSafetensors(join(temp, ADAPTER_WEIGHTS), entries, { format: 'pt' });
    return { files: [ADAPTER_CONFIG, ADAPTER_WEIGHTS] };
  });
}

const configSchema = z
  .object({
    peft_type: z.string(),
    task_type: z.string().nullish(),
    num_virtual_tokens: z.number().int().positive(),
    num_transformer_submodules: z.number().int().nullish(),
    prefix_projection: z.boolean().nullish(),
  })
  .loose();

/** The number of virtual tokens of a prefix or prompt adapter folder of the run's kind. */
export async function readPromptAdapterOptions(
  dir: string,
  kind: PromptKind,
): Promise<{ virtualTokens: number }> {
  const file = join(dir, ADAPTER_CONFIG);
  const raw: unknown = JSON.parse(
    await readFile(file, 'utf8').catch((err: Error) => {
      throw new WhetstoneError('MODEL_NOT_FOUND', `Cannot read ${file}: ${err.message}`);
    }),
  );
  const parsed = configSchema.safeParse(raw);
  const want = PEFT_TYPES[kind];
  if (!parsed.success || parsed.data.peft_type !== want) {
    throw new WhetstoneError(
      'MODEL_UNSUPPORTED',
      `${file} is not a ${want} adapter config${parsed.success ? ` (peft_type ${parsed.data.peft_type})` : `: ${parsed.error.message}`}.`,
      `--peft ${kind} continues from a PEFT ${want} adapter; pick the --peft kind the adapter was made with.`,
    );
  }
  const c = parsed.data;
  const unsupported = [
    c.task_type != null &&
      !['CAUSAL_LM', 'FEATURE_EXTRACTION'].includes(c.task_type) &&
      `task_type ${c.task_type}`,
    (c.num_transformer_submodules ?? 1) !== 1 && 'an encoder-decoder layout',
    c.prefix_projection === true && 'prefix_projection (the reparameterisation MLP)',
  ].filter((x): x is string => typeof x === 'string');
  if (unsupported.length > 0) {
    throw new WhetstoneError(
      'MODEL_UNSUPPORTED',
      `${file} uses ${unsupported.join(', ')}, which Whetstone's ${kind} tuning does not implement.`,
      'Use a causal-LM adapter with prefix_projection false.',
    );
  }
  return { virtualTokens: c.num_virtual_tokens };
}

/** Fill `prompt_embeddings` from an adapter folder; it must be the only tensor, of our shape. */
export async function loadPromptAdapterWeights(dir: string, pm: PeftModel): Promise<void> {
  const file = await SafetensorsFile.open(join(dir, ADAPTER_WEIGHTS));
  try {
    const names = file.names();
    // PEFT names the tensor `prompt_embeddings` on disk; older saves may carry the adapter name.
    const stored = names.find(
      (n) => n === PROMPT_EMBEDDINGS || n.endsWith(`.${PROMPT_EMBEDDINGS}`),
    );
    if (stored === undefined || names.length !== 1) {
      throw new WhetstoneError(
        'TENSOR_MISSING',
        `${file.path} should hold the one tensor "${PROMPT_EMBEDDINGS}"; it holds ${names.join(', ') || 'nothing'}.`,
        'Pass a PEFT prefix- or prompt-tuning adapter folder.',
      );
    }
    await assignStored(
      file,
      stored,
      pm.model.params.get(PROMPT_EMBEDDINGS),
      'The adapter was made for a model of another size or architecture.',
    );
  } finally {
    await file.close();
  }
}
