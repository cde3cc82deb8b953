// `whetstone export --run DIR --out MODEL`: a run's newest checkpoint merged into its base model
// and written as a Hugging Face folder (full fine-tuning saves every weight it trains, so the
// checkpoint over the base is the tuned model). Works for every method that trains the weights.
import { join } from 'node:path';
import { WhetstoneError } from '../errors.js';
import { writeModelFolder } from '../io/model-folder-writer.js';
import { loadModel } from '../models/load.js';
import { trainSpecSchema, type JobSpec } from '../protocol.js';
import { latestCheckpoint, restoreWeights } from '../train/checkpoint.js';
import { RUN_FILES, RunDir } from '../train/run-dir.js';
import type { JobContext, JobResult } from './run-job.js';

type ExportSpec = Extract<JobSpec, { kind: 'export' }>;

export async function exportJob(spec: ExportSpec, ctx: JobContext): Promise<JobResult> {
  const { spec: stored } = await RunDir.open(spec.run);
  const parsed = trainSpecSchema.safeParse(stored);
  if (!parsed.success) {
    throw new WhetstoneError('RUN_INVALID', `${spec.run}/spec.json is not a training spec.`);
  }
  const checkpoint = await latestCheckpoint(join(spec.run, RUN_FILES.checkpoints));
  if (!checkpoint) {
    throw new WhetstoneError(
      'BAD_ARGUMENT',
      `${spec.run} has no checkpoint yet.`,
      'Let the run reach its first checkpoint (or finish, or cancel it: a cancel saves one).',
    );
  }
  await ctx.backend();
  const base = spec.model ?? parsed.data.model;
  const model = await loadModel(base, {
    onTensor: (done, total) => ctx.progress('load', done, total),
  });
  try {
    ctx.progress('merge', 0, 1);
    await restoreWeights(checkpoint, model.params);
    ctx.progress('write', 0, 1);
    const { files } = await writeModelFolder({
      baseDir: base,
      outDir: spec.out,
      params: model.params,
      force: spec.force,
    });
    ctx.progress('write', 1, 1);
    return {
      fields: { out: spec.out, step: checkpoint.state.step, method: parsed.data.method, files },
      weightBytes: model.params.bytes(),
    };
  } finally {
    model.params.dispose();
    model.dispose();
  }
}
