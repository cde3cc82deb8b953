// `whetstone estimate`: predicted peak memory of a training run, from config.json and the
// checkpoint's headers only (no weights are read).
import { checkModel } from '../models/load.js';
import { Params } from '../models/params.js';
import type { JobSpec } from '../protocol.js';
import { defaultTargets, LORA_DEFAULTS, loraFields, selectTargets } from '../peft/config.js';
import { quantizedModules } from '../peft/load.js';
import { embedWidthOf, promptTerms } from '../peft/prompt-estimate.js';
import { isPromptKind, VIRTUAL_TOKEN_DEFAULTS } from '../peft/prompts.js';
import { estimateTrainingMemory } from '../train/estimate.js';
import type { JobContext, JobResult } from './run-job.js';

type EstimateSpec = Extract<JobSpec, { kind: 'estimate' }>;

export async function estimateJob(spec: EstimateSpec, _ctx: JobContext): Promise<JobResult> {
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
              r: lora.r ?? LORA_DEFAULTS.r,
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
      checkpointing: spec.checkpointing,
      ...(peft && { peft }),
    });
    model.dispose();
    return {
      fields: { method: spec.method, peft: spec.peft, batch: spec.batch, seq, estimate },
      weightBytes: estimate.weightBytes,
    };
  } finally {
    await checked.source.close();
  }
}
