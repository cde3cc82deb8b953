// `whetstone eval`: mean loss and perplexity of a model over a JSONL file of {"text": ...} rows;
// other formats (classification accuracy, answer loss) in eval-data.ts.
import { WhetstoneError } from '../errors.js';
import { detectFile } from '../data/examples.js';
import { describeProblems, readTextRows } from '../data/jsonl.js';
import { dataChoices } from '../data/options.js';
import { fileTypeOf, noRecordsError } from '../data/read-rows.js';
import { loadTokenizer } from '../io/tokenizer.js';
import { loadModel } from '../models/load.js';
import type { JobSpec } from '../protocol.js';
import { evaluateTexts } from '../train/evaluate.js';
import { evalDataJob } from './eval-data.js';
import type { JobContext, JobResult } from './run-job.js';
import { inferenceFit } from './fit-needs.js';

type EvalSpec = Extract<JobSpec, { kind: 'eval' }>;

export async function evalJob(spec: EvalSpec, ctx: JobContext): Promise<JobResult<'eval'>> {
  // Plain-text JSONL keeps its own strict path; a file detection cannot read falls to it too,
  // whose errors name the rows.
  const detection = await detectFile(spec.data, dataChoices(spec)).catch(() => undefined);
  if (detection && (detection.spec.format !== 'text' || fileTypeOf(spec.data) !== 'jsonl')) {
    return evalDataJob(spec, ctx, detection);
  }
  const { texts, problems } = await readTextRows(spec.data, spec.encoding);
  if (problems.length > 0) {
    throw new WhetstoneError(
      'DATASET_INVALID',
      `${problems.length} row(s) of ${spec.data} cannot be used:\n${describeProblems(problems)}`,
      'Each line must be a JSON object with a non-empty "text" string; fix or remove the rows listed.',
    );
  }
  if (texts.length === 0) throw await noRecordsError(spec.data, spec.encoding);
  await ctx.backend(await inferenceFit(spec.model, spec.batch, undefined, 'evaluation'));
  const tokenizer = await loadTokenizer(spec.model);
  const model = await loadModel(spec.model, {
    onTensor: (done, total) => ctx.progress('load', done, total),
  });
  try {
    const seq = Math.min(spec.seq ?? 1024, model.config.contextLength);
    const result = await evaluateTexts(model, tokenizer, texts, {
      seq,
      batch: spec.batch,
      onBatch: (done, total) => ctx.progress('eval', done, total),
    });
    return { fields: { ...result, seq }, weightBytes: model.params.bytes() };
  } finally {
    model.params.dispose();
    model.dispose();
  }
}
