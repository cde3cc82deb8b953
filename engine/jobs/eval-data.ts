// `whetstone eval` on structured data: accuracy for classification (candidates compared by
// average per-token log-likelihood), and for chat, instruction and prompt/completion data the
// mean loss over the tokens a model is trained on (answers, not prompts).
import type { Detection } from '../data/detect.js';
import { readExamples } from '../data/examples.js';
import { describeProblems, ProblemLog } from '../data/problems.js';
import { renderExample } from '../data/render.js';
import { tokenizeRendered, type TokenizedExample } from '../data/tokenize.js';
import { WhetstoneError } from '../errors.js';
import { loadTokenizer } from '../io/tokenizer.js';
import { loadModel } from '../models/load.js';
import type { JobSpec } from '../protocol.js';
import { classificationAccuracy, type ClassificationItem } from '../train/classify.js';
import { evaluateSequences } from '../train/evaluate.js';
import type { JobContext, JobResult } from './run-job.js';

type EvalSpec = Extract<JobSpec, { kind: 'eval' }>;

export async function evalDataJob(
  spec: EvalSpec,
  ctx: JobContext,
  detection: Detection,
): Promise<JobResult<'eval'>> {
  const problems = new ProblemLog();
  const examples = [];
  for await (const { example } of readExamples(spec.data, detection, problems.add)) {
    examples.push(example);
  }
  if (problems.total > 0) {
    throw new WhetstoneError(
      'DATASET_INVALID',
      `${problems.total} row(s) of ${spec.data} cannot be used:\n${describeProblems(problems.kept, 5, problems.total)}`,
      'Fix or remove the rows listed; `whetstone data inspect FILE` shows every problem.',
    );
  }
  if (examples.length === 0) {
    throw new WhetstoneError('DATASET_INVALID', `${spec.data} has no rows.`);
  }
  await ctx.backend();
  const tokenizer = await loadTokenizer(spec.model);
  const model = await loadModel(spec.model, {
    onTensor: (done, total) => ctx.progress('load', done, total),
  });
  const format = detection.spec.format;
  const task = detection.spec.task?.name;
  try {
    if (format === 'classification') {
      const items = examples.filter(
        (e): e is ClassificationItem & { kind: 'classification' } => e.kind === 'classification',
      );
      const result = await classificationAccuracy(model, tokenizer, items, (done, total) =>
        ctx.progress('eval', done, total),
      );
      return {
        fields: { format, task, template: detection.spec.useTemplate !== false, ...result },
        weightBytes: model.params.bytes(),
      };
    }
    const seq = Math.min(spec.seq ?? 1024, model.config.contextLength);
    const tokenized: TokenizedExample[] = [];
    let truncated = 0;
    for (const example of examples) {
      const r = tokenizeRendered(renderExample(example, tokenizer), tokenizer, {
        seqLen: seq,
        overLength: 'truncate',
        trainOn: 'completion',
      });
      if (r.ok) {
        tokenized.push(r.example);
        if (r.truncated) truncated++;
      }
    }
    const result = await evaluateSequences(
      model,
      tokenized.map((e) => e.ids),
      {
        seq,
        batch: spec.batch,
        masks: tokenized.map((e) => e.mask),
        onBatch: (done, total) => ctx.progress('eval', done, total),
      },
    );
    return {
      fields: { format, ...result, truncated, seq },
      weightBytes: model.params.bytes(),
    };
  } finally {
    model.params.dispose();
    model.dispose();
  }
}
