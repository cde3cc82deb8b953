// `whetstone eval` on structured data: accuracy for classification (candidates compared by
// average per-token log-likelihood), and for chat, instruction and prompt/completion data the
// mean loss over the tokens a model is trained on (answers, not prompts).
import type { Detection } from '../data/detect.js';
import { readExamples } from '../data/examples.js';
import { describeProblems, ProblemLog } from '../data/problems.js';
import { renderExample } from '../data/render.js';
import { tokenizeRendered, type TokenizedExample } from '../data/tokenize.js';
import type { Example } from '../data/formats.js';
import { noMaskedForm } from '../data/formats.js';
import {
  heldOutDraw,
  mlmMasking,
  tokenizeForMaskedLm,
  type MaskedObjective,
} from '../data/masked.js';
import { WhetstoneError } from '../errors.js';
import type { CausalLM } from '../models/causal-lm.js';
import { encoder } from '../models/encoder.js';
import { readConfigJson } from '../models/config.js';
import { Rng } from '../util/rng.js';
import { loadTokenizer, type TextTokenizer } from '../io/tokenizer.js';
import { loadModel } from '../models/load.js';
import type { JobSpec } from '../protocol.js';
import { classificationAccuracy, type ClassificationItem } from '../train/classify.js';
import { evaluateSequences, type EvalOptions } from '../train/evaluate.js';
import type { JobContext, JobResult } from './run-job.js';

type EvalSpec = Extract<JobSpec, { kind: 'eval' }>;

export async function evalDataJob(
  spec: EvalSpec,
  ctx: JobContext,
  found: Detection,
): Promise<JobResult<'eval'>> {
  // A masked LM reads classification rows at its mask (the template's masked form).
  const { raw } = await readConfigJson(spec.model);
  const masked = encoder.modelTypes.includes(String(raw.model_type));
  const detection = masked ? { ...found, spec: { ...found.spec, masked: true } } : found;
  const template = detection.spec.task;
  if (masked && template && detection.spec.useTemplate !== false && !template.masked) {
    throw noMaskedForm(template.name);
  }
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
    if (masked) {
      const result = await maskedEval(spec, model, tokenizer, examples, ctx);
      return {
        fields: { format, task, template: detection.spec.useTemplate !== false, ...result },
        weightBytes: model.params.bytes(),
      };
    }
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
    const result = await scoreExamples(model, tokenized, seq, spec, ctx);
    return {
      fields: { format, ...result, truncated, seq },
      weightBytes: model.params.bytes(),
    };
  } finally {
    model.params.dispose();
    model.dispose();
  }
}

/**
 * A masked LM's loss over its targets, and on classification rows its accuracy: the argmax over
 * the label words at the mask. Plain text is scored as MLM with one seeded draw of masks.
 */
async function maskedEval(
  spec: EvalSpec,
  model: CausalLM,
  tokenizer: TextTokenizer,
  examples: Example[],
  ctx: JobContext,
) {
  const seq = Math.min(spec.seq ?? 512, model.config.contextLength);
  const mlm = mlmMasking(tokenizer, model.config.vocabSize);
  const rng = new Rng(0x3a5c);
  const tokenized: TokenizedExample[] = [];
  let truncated = 0;
  let objective: MaskedObjective | undefined;
  for (const example of examples) {
    const read = tokenizeForMaskedLm(example, tokenizer, mlm, seq);
    if (read.objective.kind === 'head') {
      throw new WhetstoneError(
        'BAD_ARGUMENT',
        'Without the template a masked LM needs a trained classification head, which a model folder does not hold.',
        'Evaluate with the template (drop --no-template); a --no-template run reports its accuracy in its eval events (--eval-every).',
      );
    }
    objective ??= read.objective;
    if (!read.result.ok) continue;
    if (read.result.truncated) truncated++;
    const e = read.result.example;
    tokenized.push(e.labels ? e : heldOutDraw(e.ids, mlm, rng));
  }
  const result = await scoreExamples(model, tokenized, seq, spec, ctx, {
    labels: tokenized.map((e) => e.labels!),
    ...(objective?.kind === 'label-words' && { labelWords: objective.ids }),
  });
  const words = objective?.kind === 'label-words' ? { labelWords: objective.words } : {};
  return { ...result, ...words, truncated, seq };
}

/** Mean loss (and, with labels, accuracy) over tokenised examples, batch by batch. */
function scoreExamples(
  model: CausalLM,
  tokenized: TokenizedExample[],
  seq: number,
  spec: EvalSpec,
  ctx: JobContext,
  targets: Pick<EvalOptions, 'labels' | 'labelWords'> = {},
) {
  return evaluateSequences(
    model,
    tokenized.map((e) => e.ids),
    {
      seq,
      batch: spec.batch,
      masks: tokenized.map((e) => e.mask),
      ...targets,
      onBatch: (done, total) => ctx.progress('eval', done, total),
    },
  );
}
