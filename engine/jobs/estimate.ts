// Predicted peak memory of a training run, from config.json and the checkpoint's headers only
// (no weights are read): what `whetstone estimate` reports and what a run is checked against.
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DTYPE_BYTES } from '../io/dtypes.js';
import { checkModel, type CheckedModel } from '../models/load.js';
import { hostOverheadBytes } from '../train/host-overhead.js';
import { Params } from '../models/params.js';
import type { JobSpec } from '../protocol.js';
import { defaultTargets, LORA_DEFAULTS, loraFields, selectTargets } from '../peft/config.js';
import { quantizedModules } from '../peft/load.js';
import { adaloraOptions } from '../peft/adalora.js';
import { embedWidthOf, promptTerms } from '../peft/prompt-estimate.js';
import { checkPromptMethod } from '../peft/prompt-load.js';
import { isPromptKind, VIRTUAL_TOKEN_DEFAULTS } from '../peft/prompts.js';
import { estimateTrainingMemory, type MemoryEstimate } from '../train/estimate.js';

type EstimateSpec = Extract<JobSpec, { kind: 'estimate' }>;

/** The estimate for a run's settings, from config.json and the checkpoint's headers. */
export async function estimateRun(
  spec: Omit<EstimateSpec, 'kind' | 'pagedOptim'> & { pagedOptim: boolean },
): Promise<{ estimate: MemoryEstimate; seq: number }> {
  // The same refusal a run would meet, before any memory figure suggests it would work.
  checkPromptMethod(spec.peft, spec.method, spec.recompute);
  const checked = await checkModel(spec.model);
  try {
    const model = checked.arch.create(checked.config, new Params());
    const seq = spec.seq ?? Math.min(256, checked.config.contextLength);
    const lora = loraFields(spec);
    const kind = spec.peft;
    const peft =
      kind === 'full'
        ? undefined
        : isPromptKind(kind)
          ? {
              kind,
              r: 0,
              targets: [],
              prompt: promptTerms(
                model,
                kind,
                spec.virtualTokens ?? VIRTUAL_TOKEN_DEFAULTS[kind],
                embedWidthOf(checked.shapes, checked.config.hidden),
                seq,
              ),
            }
          : {
              kind,
              // AdaLoRA holds init_r ranks per matrix throughout (pruned ones are masked, not freed).
              r: kind === 'adalora' ? adaloraOptions(spec).initR : (lora.r ?? LORA_DEFAULTS.r),
              quantized: quantizedModules(model.linearSpecs()),
              targets: selectTargets(
                model.linearSpecs(),
                lora.targets ?? defaultTargets(checked.config.modelType, kind),
              ),
            };
    const estimate = estimateTrainingMemory({
      model,
      shapes: checked.shapes,
      method: spec.method,
      batch: spec.batch,
      seq,
      recompute: spec.recompute,
      ...(peft && { peft }),
      pagedOptim: spec.pagedOptim && spec.method === 'fo-adamw',
    });
    model.dispose();
    return { estimate: { ...estimate, ...(await hostTerms(checked, spec.batch * seq)) }, seq };
  } finally {
    await checked.source.close();
  }
}

/** The largest tensor (a weight, or the [B, T, V] logits) and the process memory beside them. */
async function hostTerms(checked: CheckedModel, tokens: number) {
  let largestWeightBytes = 0;
  let largestWeightName = '';
  let largestStoredBytes = 0;
  for (const [name, shape] of checked.shapes) {
    const n = shape.reduce((a, b) => a * b, 1);
    if (n * 4 > largestWeightBytes) [largestWeightBytes, largestWeightName] = [n * 4, name];
    const info = checked.source.info(checked.stored(name));
    largestStoredBytes = Math.max(largestStoredBytes, n * DTYPE_BYTES[info.dtype]);
  }
  const tokenizerFileBytes = await stat(join(checked.dir, 'tokenizer.json')).then(
    (s) => s.size,
    () => 0,
  );
  const logitsBytes = tokens * checked.config.vocabSize * 4;
  return {
    largestTensorBytes: Math.max(largestWeightBytes, logitsBytes),
    largestTensorName:
      logitsBytes > largestWeightBytes
        ? `the logits (${tokens} tokens × ${checked.config.vocabSize})`
        : largestWeightName,
    // The loader holds one weight as stored and as float32 while it reads it.
    hostOverheadBytes: hostOverheadBytes({
      largestStoredBytes,
      largestWeightBytes,
      tokenizerFileBytes,
    }),
  };
}
