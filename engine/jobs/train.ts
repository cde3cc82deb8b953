// `whetstone train` and `whetstone resume`: a run folder, the setup steps (train-setup.ts: adapter,
// model, data, method, restore), then the training loop; every event goes to the host and into
// the run's events.jsonl.
import { join } from 'node:path';
import { defaultLr } from '../../common/defaults.js';
import { sampleDeviceMemory } from '../backend/memory.js';
import { hostMemoryBackends } from '../backend/types.js';
import { toErrorInfo, WhetstoneError } from '../errors.js';
import { createLogger } from '../log.js';
import type { CausalLM } from '../models/causal-lm.js';
import type { TrainMethod } from '../optim/method.js';
import { decidePaging } from '../optim/paged.js';
import { disposeAdaLora } from '../peft/adalora.js';
import { loadPeftModel } from '../peft/load.js';
import { trainSpecSchema, type JobSpec, type TrainSpec } from '../protocol.js';
import { latestCheckpoint, type LoadedCheckpoint } from '../train/checkpoint.js';
import { heldOutAccuracy, type AccuracyResult } from '../train/classify.js';
import { evaluateSequences } from '../train/evaluate.js';
import { RunDir } from '../train/run-dir.js';
import { trainLoop } from '../train/trainer.js';
import { estimateRun } from './estimate.js';
import { trainingFit } from './fit-needs.js';
import type { JobContext, JobResult } from './run-job.js';
import {
  batchSampler,
  batchTargets,
  buildMethod,
  loadTrainingData,
  resolveAdapter,
  restore,
  startModel,
  stepsOf,
  taskModel,
  type TrainingData,
} from './train-setup.js';

type ResumeSpec = Extract<JobSpec, { kind: 'resume' }>;

const log = createLogger('train');

export async function trainJob(spec: TrainSpec, ctx: JobContext): Promise<JobResult<'train'>> {
  await ctx.backend(await trainingFit(spec)); // a run that cannot fit leaves no run folder
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const run = await RunDir.create(spec.out ?? join('runs', `${stamp}-${spec.method}`), spec);
  return runTraining(spec, run, ctx);
}

export async function resumeJob(spec: ResumeSpec, ctx: JobContext): Promise<JobResult<'resume'>> {
  const { run, spec: stored } = await RunDir.open(spec.run);
  const parsed = trainSpecSchema.safeParse(stored);
  if (!parsed.success) {
    throw new WhetstoneError(
      'BAD_ARGUMENT',
      `${spec.run}/spec.json is not a training spec: ${parsed.error.message}`,
    );
  }
  const checkpoint = await latestCheckpoint(run.checkpointsDir);
  if (!checkpoint) {
    throw new WhetstoneError(
      'BAD_ARGUMENT',
      `${spec.run} has no checkpoint yet, so there is nothing to resume.`,
      'Start the run again with whetstone train (the first checkpoint is written after --checkpoint-every steps).',
    );
  }
  const trainSpec = {
    ...parsed.data,
    ...(spec.steps && { steps: spec.steps, epochs: undefined }),
    ...(spec.backend && { backend: spec.backend }),
  };
  // The run's own backend (a resume is only exact on the backend it started on); its settings may
  // outgrow it.
  await ctx.backend(await trainingFit(trainSpec), trainSpec.backend);
  // A resume reports what a training run does; the copy lets the compiler see it as resume's.
  return { ...(await runTraining(trainSpec, run, ctx, checkpoint)) };
}

async function runTraining(
  spec: TrainSpec,
  run: RunDir,
  ctx: JobContext,
  checkpoint?: LoadedCheckpoint,
): Promise<JobResult<'train'>> {
  const { backend } = await ctx.backend();
  const paging = await runPaging(spec, backend);
  log.info(
    `AdamW moments ${paging.pagedOptim ? 'paged to host memory' : 'on the device'}: ${paging.reason}`,
  );
  const adapter = await resolveAdapter(spec);
  const loaded = await loadPeftModel(spec.model, adapter.spec, {
    onTensor: (done, total) => ctx.progress('load', done, total),
  });
  let { model } = loaded;
  let method: TrainMethod | undefined;
  try {
    if (!checkpoint) await startModel(spec, adapter, loaded, run);
    const training = await loadTrainingData(spec, model);
    const { data } = training;
    const pm = taskModel(loaded, data, spec.seed);
    model = pm.model;
    const steps = stepsOf(spec, data.train.length);
    method = buildMethod(spec, pm, paging.pagedOptim, steps);
    const sampler = batchSampler(spec, training, checkpoint?.state.samplerPosition ?? 0);
    const zoHistory = await restore(run, model, method, checkpoint);
    const startStep = checkpoint?.state.step ?? 0;
    if (startStep >= steps) {
      throw new WhetstoneError(
        'BAD_ARGUMENT',
        `${run.dir} already finished its ${steps} steps.`,
        `Train further with: whetstone resume --run ${run.dir} --steps ${steps * 2}`,
      );
    }
    await run.event({
      type: checkpoint ? 'resume' : 'start',
      step: startStep,
      // The run's events report progress as step of maxSteps (main and the studio read it).
      maxSteps: steps,
      trainRows: data.train.length,
      evalRows: data.eval.length,
      data: {
        format: data.detection.spec.format,
        ...(data.detection.spec.task && { task: data.detection.spec.task.name }),
        confidence: data.detection.confidence,
        truncated: data.truncated,
        targetTokens: data.stats.targetTokens,
      },
    });
    await run.log(
      `${checkpoint ? 'resumed at' : 'started'} step ${startStep} of ${steps}: ${spec.method} on ${spec.model}`,
    );
    if (!checkpoint && spec.scoreStart)
      await scoreHeldOut(model, training, spec.batch, 0, ctx, run);
    const summary = await trainLoop({
      model,
      method,
      sampler,
      evalSet: data.eval.map((e) => e.ids),
      evalMasks: data.eval.map((e) => e.mask),
      evalTargets: batchTargets(data, true),
      schedule: {
        kind: spec.schedule,
        lr: spec.lr ?? defaultLr(spec.method, spec.peft),
        warmup: spec.warmup,
        steps,
      },
      steps,
      gradAccum: spec.gradAccum,
      seqLen: training.seqLen,
      ...(spec.evalEvery !== undefined && { evalEvery: spec.evalEvery }),
      evalBatchSize: spec.batch,
      checkpointEvery: spec.checkpointEvery,
      checkpointsDir: run.checkpointsDir,
      startStep,
      carried: checkpoint?.state.trainer ?? {},
      signal: ctx.signal,
      pause: ctx.pause,
      onEvent: (event) => {
        ctx.emit(event);
        if (event.type === 'checkpoint') void zoHistory?.save();
        void run.event(event);
        if (event.type === 'step')
          void run.log(
            `step ${event.step} loss ${event.loss.toFixed(4)} lr ${event.lr.toExponential(2)}`,
          );
      },
    });
    await zoHistory?.save();
    // Classification rows held out: score the tuned model on them (what a sweep's table shows).
    const scored = summary.cancelled
      ? undefined
      : await scoreHeldOut(model, training, spec.batch, summary.steps, ctx, run);
    const result = {
      ...summary,
      ...(scored && { accuracy: scored.accuracy }),
      runDir: run.dir,
      weightBytes: model.params.bytes(),
    };
    await run.event({ type: 'done', summary: result });
    await run.log(
      `${summary.cancelled ? 'cancelled' : 'finished'} at step ${summary.steps}, loss ${summary.finalLoss}`,
    );
    await run.flush(); // a run folder that could not be written is a failed run
    return {
      fields: { summary: result },
      weightBytes: model.params.bytes(),
      peakBytes: summary.peakBytes,
    };
  } catch (err) {
    await run.event({ type: 'error', ...toErrorInfo(err) });
    await run.log(`failed: ${(err as Error).message}`);
    // The original error is the one to report, even if the folder cannot be written either.
    await run.flush().catch(() => undefined);
    throw err;
  } finally {
    method?.dispose();
    if (loaded.adalora) disposeAdaLora(loaded.adalora);
    model.params.dispose();
    model.dispose();
  }
}

/** --paged-optim resolved: `auto` compares the unpaged estimate with the device's free memory. */
async function runPaging(spec: TrainSpec, backend: string) {
  const facts = { mode: spec.pagedOptim, method: spec.method, backend, peakBytes: 0 };
  const asks = spec.pagedOptim === 'auto' && spec.method === 'fo-adamw';
  if (!asks || hostMemoryBackends.includes(backend)) return decidePaging(facts);
  const [{ estimate }, device] = await Promise.all([
    estimateRun({ ...spec, pagedOptim: false }),
    sampleDeviceMemory(backend),
  ]);
  return decidePaging({
    ...facts,
    peakBytes: estimate.peakBytes,
    freeDeviceBytes: device.freeBytes,
  });
}

/** The held-out rows' accuracy at `step`, as an event of the run (none for other data). */
async function scoreHeldOut(
  model: CausalLM,
  training: TrainingData,
  batch: number,
  step: number,
  ctx: JobContext,
  run: RunDir,
): Promise<Awaited<ReturnType<typeof finalAccuracy>>> {
  const scored = await finalAccuracy(model, training, batch);
  if (scored) {
    const { accuracy, correct, examples } = scored;
    const event = { type: 'accuracy', step, accuracy, correct, examples } as const;
    ctx.emit(event);
    await run.event(event);
  }
  return scored;
}

/**
 * The held-out rows' accuracy at the end of a classification run: a causal LM scores each
 * answer's continuation; a masked LM takes the best label word (or class) at its target.
 */
async function finalAccuracy(
  model: CausalLM,
  training: TrainingData,
  batch: number,
): Promise<Pick<AccuracyResult, 'accuracy' | 'correct' | 'examples'> | undefined> {
  const { data } = training;
  if (!data.objective) return heldOutAccuracy(model, training.tokenizer, data.evalSources);
  if (data.objective.kind === 'mlm' || data.eval.length === 0) return undefined;
  const r = await evaluateSequences(
    model,
    data.eval.map((e) => e.ids),
    {
      seq: training.seqLen,
      batch,
      masks: data.eval.map((e) => e.mask),
      ...batchTargets(data, true),
    },
  );
  if (r.accuracy === undefined) return undefined;
  // One target per row (the mask, or the first token for a head): rows and targets agree.
  const examples = r.tokens;
  return { accuracy: r.accuracy, correct: Math.round(r.accuracy * examples), examples };
}
