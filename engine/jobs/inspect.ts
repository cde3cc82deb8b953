// `whetstone data inspect FILE`: the dataset as Whetstone reads it (engine/data/inspect.ts);
// with --model, tokenised with that model's tokenizer and chat template. No tensors are made.
import { inspectDataset } from '../data/inspect.js';
import { dataChoices } from '../data/options.js';
import { loadTokenizer, type TextTokenizer } from '../io/tokenizer.js';
import { checkModel } from '../models/load.js';
import type { JobSpec } from '../protocol.js';
import type { JobContext, JobResult } from './run-job.js';

type InspectSpec = Extract<JobSpec, { kind: 'inspect' }>;

export async function inspectJob(
  spec: InspectSpec,
  _ctx: JobContext,
): Promise<JobResult<'inspect'>> {
  let tokenizer: TextTokenizer | undefined;
  let seqLen = spec.seq ?? 256;
  if (spec.model !== undefined) {
    const checked = await checkModel(spec.model);
    await checked.source.close();
    seqLen = spec.seq ?? Math.min(256, checked.config.contextLength);
    tokenizer = await loadTokenizer(spec.model);
  }
  const report = await inspectDataset(spec.data, {
    ...dataChoices(spec),
    ...(spec.overLength && { overLength: spec.overLength }),
    ...(spec.trainOn && { trainOn: spec.trainOn }),
    rows: spec.rows,
    ...(spec.limit !== undefined && { limit: spec.limit }),
    ...(tokenizer && { tokenizer }),
    seqLen,
  });
  return { fields: { ...report }, weightBytes: 0 };
}
