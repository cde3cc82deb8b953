// `whetstone train` and `whetstone resume`: a run folder, the model and data, the method, then the
// training loop; every event goes to the host and into the run's events.jsonl.
import { join } from 'node:path';
import { loadDataset } from '../data/dataset.js';
import { dataChoices } from '../data/options.js';
import { describeProblems } from '../data/problems.js';
import { toErrorInfo, WhetstoneError } from '../errors.js';
import { loadTokenizer } from '../io/tokenizer.js';
import { createLogger } from '../log.js';
import { loadAdapterWeights, readAdapterOptions } from '../export/peft-adapter.js';
import { loraFields, type LoraOptions } from '../peft/config.js';
import { loadPeftModel, peftSpec } from '../peft/load.js';
import { recordBaseIdentity } from '../peft/base-identity.js';
import { withDropout } from '../peft/train-mode.js';
import { adaloraOptions, disposeAdaLora } from '../peft/adalora.js';
import { AdaLoraAllocator, withAdaLora } from '../peft/adalora-train.js';
import { loadAdaLoraWeights, readAdaLoraAdapter } from '../export/adalora-adapter.js';
import { loadPromptAdapterWeights, readPromptAdapterOptions } from '../export/prompt-adapter.js';
import { checkPromptMethod, promptFields } from '../peft/prompt-load.js';
import { isPromptKind } from '../peft/prompts.js';
import { createMethod, defaultLr } from '../optim/create-method.js';
import { ZoMethod } from '../optim/zo.js';
import { ZoHistoryFile } from '../train/zo-history-file.js';
import type { TrainMethod } from '../optim/method.js';
import { trainSpecSchema, type JobSpec, type TrainSpec } from '../protocol.js';
import { latestCheckpoint, restoreCheckpoint, type LoadedCheckpoint } from '../train/checkpoint.js';
import { RunDir } from '../train/run-dir.js';
import { BatchSampler } from '../train/text-data.js';
import { trainLoop } from '../train/trainer.js';
import { sampleDeviceMemory } from '../backend/memory.js';
import { decidePaging } from '../optim/paged.js';
import { estimateRun } from './estimate.js';
import { trainingFit } from './fit-needs.js';
import type { JobContext, JobResult } from './run-job.js';

type ResumeSpec = Extract<JobSpec, { kind: 'resume' }>;

const log = createLogger('train');

export async function trainJob(spec: TrainSpec, ctx: JobContext): Promise<JobResult> {
  await ctx.backend(await trainingFit(spec)); // a run that cannot fit leaves no run folder
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const run = await RunDir.create(spec.out ?? join('runs', `${stamp}-${spec.method}`), spec);
  return runTraining(spec, run, ctx);
}

export async function resumeJob(spec: ResumeSpec, ctx: JobContext): Promise<JobResult> {
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
  await ctx.backend(await trainingFit(trainSpec)); // the run's settings may outgrow this backend
  return runTraining(trainSpec, run, ctx, checkpoint);
}

async function runTraining(
  spec: TrainSpec,
  run: RunDir,
  ctx: JobContext,
  checkpoint?: LoadedCheckpoint,
): Promise<JobResult> {
  const { backend } = await ctx.backend();
  const paging = await runPaging(spec, backend);
  log.info(
    `AdamW moments ${paging.paged ? 'paged to host memory' : 'on the device'}: ${paging.reason}`,
  );
  // An adapter to start from brings its own rank, alpha and targets; the run's flags fill the rest.
  let lora: Partial<LoraOptions> = loraFields(spec);
  let adalora = adaloraOptions(spec);
  const adaloraAdapter =
    spec.initAdapter && spec.peft === 'adalora'
      ? await readAdaLoraAdapter(spec.initAdapter)
      : undefined;
  if (spec.initAdapter) {
    if (spec.peft === 'full') {
      throw new WhetstoneError(
        'BAD_ARGUMENT',
        '--init-adapter needs --peft lora, qlora, adalora, prefix or prompt.',
        'Add the --peft kind the adapter was made with to train it further.',
      );
    }
    if (adaloraAdapter) {
      // Its ranks and pattern come from the adapter; the schedule of this run from its flags.
      lora = { ...lora, ...adaloraAdapter.lora };
      const { initR, targetR, beta1, beta2 } = adaloraAdapter.adalora;
      adalora = { ...adalora, initR, targetR, beta1, beta2 };
    } else if (!isPromptKind(spec.peft)) {
      lora = { ...lora, ...(await readAdapterOptions(spec.initAdapter)) };
    }
  }
  checkPromptMethod(spec.peft, spec.method, spec.checkpointing);
  // A prefix or prompt adapter brings its number of virtual tokens.
  const prompt = {
    ...promptFields(spec),
    ...(spec.initAdapter &&
      isPromptKind(spec.peft) &&
      (await readPromptAdapterOptions(spec.initAdapter, spec.peft))),
  };
  const pm = await loadPeftModel(
    spec.model,
    peftSpec(spec.peft, { ...lora, ...prompt, adalora, seed: spec.seed }),
    { onTensor: (done, total) => ctx.progress('load', done, total) },
  );
  const { model } = pm;
  let method: TrainMethod | undefined;
  try {
    if (spec.initAdapter && !checkpoint) {
      if (adaloraAdapter)
        await loadAdaLoraWeights(spec.initAdapter, pm, adaloraAdapter.rankPattern);
      else if (isPromptKind(spec.peft)) await loadPromptAdapterWeights(spec.initAdapter, pm);
      else await loadAdapterWeights(spec.initAdapter, pm);
    }
    // QLoRA quantizes its base: record which one, so an export can merge into the original.
    if (spec.peft === 'qlora' && !checkpoint) await recordBaseIdentity(run.dir, spec.model);
    const tokenizer = await loadTokenizer(spec.model);
    const seqLen = spec.seq ?? Math.min(256, model.config.contextLength);
    if (seqLen > model.config.contextLength) {
      throw new WhetstoneError(
        'BAD_ARGUMENT',
        `--seq ${seqLen} is longer than the model's context (${model.config.contextLength}).`,
      );
    }
    const data = await loadDataset(spec.data, tokenizer, {
      ...dataChoices(spec),
      ...(spec.overLength && { overLength: spec.overLength }),
      ...(spec.trainOn && { trainOn: spec.trainOn }),
      ...(spec.pack && { pack: true }),
      ...(spec.dedup && { dedup: true }),
      seqLen,
      evalFraction: spec.evalEvery ? spec.evalFraction : 0,
      seed: spec.seed,
    });
    const { problems } = data;
    if (problems.total > 0) {
      log.warn(
        `${problems.total} row(s) skipped:\n${describeProblems(problems.kept, 5, problems.total)}`,
      );
    }
    const maxSteps = spec.epochs
      ? Math.ceil((spec.epochs * data.train.length) / (spec.batch * spec.gradAccum))
      : spec.steps;
    // AdaLoRA: the budget schedule spans this run's steps; its hooks see every step's gradients.
    const allocator = pm.adalora && new AdaLoraAllocator(model.params, pm.adalora, maxSteps);
    method = withDropout(
      createMethod(model, {
        ...spec,
        pagedState: paging.paged,
        ...(allocator && { hooks: allocator.hooks() }),
      }),
      pm.dropout,
      pm.spec.lora.dropout,
    );
    if (allocator) method = withAdaLora(method, allocator);
    const padId = tokenizer.padTokenId ?? tokenizer.eosTokenIds[0] ?? 0;
    const sampler = new BatchSampler(
      data.train.map((e) => e.ids),
      spec.batch,
      seqLen,
      spec.seed,
      padId,
      checkpoint?.state.samplerPosition ?? 0,
      data.train.map((e) => e.mask),
    );
    const zoHistory =
      method instanceof ZoMethod && method.replayable
        ? new ZoHistoryFile(run.dir, method)
        : undefined;
    if (checkpoint) {
      await zoHistory?.load(); // before the restore, which cuts it to the checkpoint's records
      await restoreCheckpoint(checkpoint, model.params, method);
      const records = Number(checkpoint.state.method.records ?? 0);
      if (zoHistory && !(await zoHistory.checkRestored(records))) {
        log.warn(
          `${run.dir}: the update history ends before the checkpoint (the run was stopped while saving); training goes on without a replayable history.`,
        );
      }
    }
    const startStep = checkpoint?.state.step ?? 0;
    if (startStep >= maxSteps) {
      throw new WhetstoneError(
        'BAD_ARGUMENT',
        `${run.dir} already finished its ${maxSteps} steps.`,
        `Train further with: whetstone resume --run ${run.dir} --steps ${maxSteps * 2}`,
      );
    }
    await run.event({
      type: checkpoint ? 'resume' : 'start',
      step: startStep,
      maxSteps,
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
      `${checkpoint ? 'resumed at' : 'started'} step ${startStep} of ${maxSteps}: ${spec.method} on ${spec.model}`,
    );
    const summary = await trainLoop({
      model,
      method,
      sampler,
      evalSet: data.eval.map((e) => e.ids),
      evalMasks: data.eval.map((e) => e.mask),
      schedule: {
        kind: spec.schedule,
        lr: spec.lr ?? defaultLr(spec.method, spec.peft),
        warmupSteps: spec.warmup,
        totalSteps: maxSteps,
      },
      maxSteps,
      gradAccum: spec.gradAccum,
      seqLen,
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
    const result = { ...summary, runDir: run.dir, weightBytes: model.params.bytes() };
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
    if (pm.adalora) disposeAdaLora(pm.adalora);
    model.params.dispose();
    model.dispose();
  }
}

/** --paged-optim resolved: `auto` compares the unpaged estimate with the device's free memory. */
async function runPaging(spec: TrainSpec, backend: string) {
  const facts = { mode: spec.pagedOptim, method: spec.method, backend, peakBytes: 0 };
  const asks = spec.pagedOptim === 'auto' && spec.method === 'fo-adamw';
  if (!asks || backend === 'cpu' || backend === 'wasm') return decidePaging(facts);
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
