// A finished (or stopped) run's model as its last checkpoint left it: the base model from the
// run's spec (or a moved copy), the same PEFT wrapping, and the checkpoint's trained weights.
import { stat } from 'node:fs/promises';
import { WhetstoneError } from '../errors.js';
import { loraFields } from '../peft/config.js';
import { loadPeftModel, peftSpec, type PeftModel } from '../peft/load.js';
import { adaloraOptions } from '../peft/adalora.js';
import { applyRankPattern, type AdaLoraStateJson } from '../peft/adalora-train.js';
import { promptFields } from '../peft/prompt-load.js';
import { trainSpecSchema, type TrainSpec } from '../protocol.js';
import { CLASSIFIER_WEIGHT } from '../models/classifier-head.js';
import { checkpointWeightNames, latestCheckpoint, restoreWeights } from '../train/checkpoint.js';
import { RunDir } from '../train/run-dir.js';

export interface RunModel {
  pm: PeftModel;
  spec: TrainSpec;
  baseDir: string;
  step: number;
}

export async function loadRunModel(
  runDir: string,
  baseOverride?: string,
  onTensor?: (done: number, total: number) => void,
): Promise<RunModel> {
  const { run, spec: stored } = await RunDir.open(runDir);
  const parsed = trainSpecSchema.safeParse(stored);
  if (!parsed.success) {
    throw new WhetstoneError('RUN_INVALID', `${runDir}/spec.json is not a training spec.`);
  }
  const spec = parsed.data;
  const checkpoint = await latestCheckpoint(run.checkpointsDir);
  if (!checkpoint) {
    throw new WhetstoneError(
      'BAD_ARGUMENT',
      `${runDir} has no checkpoint yet, so there is nothing to export.`,
      'Let the run reach its first checkpoint (--checkpoint-every); cancelling a running run writes one. A stopped run can be resumed first.',
    );
  }
  if ((await checkpointWeightNames(checkpoint)).includes(CLASSIFIER_WEIGHT)) {
    throw new WhetstoneError(
      'BAD_ARGUMENT',
      `${runDir} trained a classification head (--no-template on a masked LM), which export does not write yet.`,
      'Its checkpoints hold the head (classifier.weight, classifier.bias) and its eval events the accuracy; train with the template (prompt-based) for a model that exports.',
    );
  }
  const baseDir = baseOverride ?? spec.model;
  const present = await stat(baseDir).then(
    () => true,
    () => false,
  );
  if (!present) {
    throw new WhetstoneError(
      'MODEL_NOT_FOUND',
      `The run's base model ${baseDir} is not there any more.`,
      'Pass the base model folder with --model.',
    );
  }
  const pm = await loadPeftModel(
    baseDir,
    peftSpec(spec.peft, {
      ...loraFields(spec),
      ...promptFields(spec),
      adalora: adaloraOptions(spec),
      seed: spec.seed,
    }),
    onTensor ? { onTensor } : {},
  );
  try {
    await restoreWeights(checkpoint, pm.model.params);
    // AdaLoRA: the ranks kept and the schedule laid out when training, as the checkpoint has them.
    const ada = checkpoint.state.method.adalora as AdaLoraStateJson | undefined;
    if (pm.adalora && ada) {
      applyRankPattern(pm.model.params, pm.adalora, ada.rankPattern);
      const { totalStep, tinit, tfinal } = ada;
      Object.assign(pm.adalora.options, { totalStep, tinit, tfinal });
    }
  } catch (err) {
    pm.model.params.dispose();
    pm.model.dispose();
    throw err;
  }
  return { pm, spec, baseDir, step: checkpoint.state.step };
}
