// The training loop every method plugs into: batches (with gradient accumulation), the
// learning-rate schedule, evaluation on held-out rows, checkpoints, cancel at a step boundary,
// and a stop with a clear error when the loss diverges. Events leave through one callback; the
// loop knows nothing about files beyond checkpoints, nor about IPC.
import { deviceFigure, memory } from '../backend/memory.js';
import { withDeviceChecks } from '../backend/select.js';
import { WhetstoneError } from '../errors.js';
import type { CausalLM } from '../models/causal-lm.js';
import { disposeBatch, type TrainMethod } from '../optim/method.js';
import type { TrainEvent } from '../protocol.js';
import { saveCheckpoint } from './checkpoint.js';
import { evaluateSequences } from './evaluate.js';
import type { PauseGate } from './pause-gate.js';
import { learningRate, type Schedule } from './schedule.js';
import type { BatchSampler, BatchTargets } from './text-data.js';

export interface TrainLoopOptions {
  model: CausalLM;
  method: TrainMethod;
  sampler: BatchSampler;
  evalSet: number[][];
  /** Loss masks of the held-out rows (all real tokens when absent). */
  evalMasks?: number[][];
  /** Masked LMs: the held-out rows' targets and label words. */
  evalTargets?: Omit<BatchTargets, 'mlm'>;
  schedule: Schedule;
  /** Optimizer steps in all (the spec's steps, or what its epochs come to). */
  steps: number;
  gradAccum: number;
  seqLen: number;
  evalEvery?: number;
  evalBatchSize: number;
  checkpointEvery: number;
  checkpointsDir: string;
  /** Last completed step (0 for a new run). */
  startStep: number;
  /** Figures carried over from before a resume (training time included, pauses excluded). */
  carried?: { tokens?: number; peakBytes?: number; elapsedMs?: number };
  signal?: AbortSignal;
  /** Holds the loop at a step boundary while the host has it paused. */
  pause?: PauseGate;
  onEvent: (event: TrainEvent) => void;
}

export interface TrainSummary {
  steps: number;
  finalLoss: number;
  cancelled: boolean;
  /** Highest tensor bytes of any step of the run. */
  peakBytes: number;
  tokens: number;
  /** Training time of the whole run, across resumes, pauses excluded. */
  elapsedMs: number;
  lastEval?: { loss: number; perplexity: number; accuracy?: number };
}

export async function trainLoop(o: TrainLoopOptions): Promise<TrainSummary> {
  let tokens = o.carried?.tokens ?? 0;
  let runPeak = o.carried?.peakBytes ?? 0;
  let finalLoss = NaN;
  let lastEval: TrainSummary['lastEval'];
  let lastCheckpoint = o.startStep;
  const started = performance.now();
  const carriedMs = Number(o.carried?.elapsedMs ?? 0);
  let pausedMs = 0;
  /** This session's training time: wall time less the pauses. */
  const activeMs = () => performance.now() - started - pausedMs;
  const checkpoint = async (step: number) => {
    const path = await saveCheckpoint(o.checkpointsDir, o.model.params, o.method, {
      step,
      samplerPosition: o.sampler.position,
      trainer: { tokens, peakBytes: runPeak, elapsedMs: Math.round(carriedMs + activeMs()) },
    });
    lastCheckpoint = step;
    o.onEvent({ type: 'checkpoint', step, path });
  };

  let step = o.startStep;
  while (step < o.steps) {
    // Let the host's messages and signals (cancel, Ctrl-C) in: on cpu and wasm a whole step can
    // run on resolved promises without ever reaching the event loop.
    await new Promise((resolve) => setImmediate(resolve));
    if (o.signal?.aborted) break;
    if (o.pause?.isPaused) {
      const pausedAt = performance.now();
      o.onEvent({ type: 'pause', step, elapsedMs: Math.round(carriedMs + activeMs()) });
      await o.pause.wait(o.signal);
      pausedMs += performance.now() - pausedAt;
      if (o.signal?.aborted) break; // cancelled while paused: checkpoint below, then done
      o.onEvent({ type: 'continue', step, pausedMs: Math.round(performance.now() - pausedAt) });
    }
    step++;
    const lr = learningRate(o.schedule, step);
    const batches = Array.from({ length: o.gradAccum }, () => o.sampler.next());
    const targets = batches.reduce((n, b) => n + b.targets, 0);
    memory.resetPeak();
    const t0 = performance.now();
    let result;
    try {
      // The step's loss is read back, so t0..now spans the GPU's work too: tokens/s is real.
      result = await withDeviceChecks(() => o.method.step(batches, lr));
    } catch (err) {
      throw keepingCheckpoint(err, step, lastCheckpoint);
    } finally {
      for (const b of batches) disposeBatch(b);
    }
    const seconds = (performance.now() - t0) / 1000;
    if (
      !Number.isFinite(result.loss) ||
      (result.gradNorm !== undefined && !Number.isFinite(result.gradNorm))
    ) {
      throw new WhetstoneError(
        'TRAINING_DIVERGED',
        `The loss became ${result.loss} at step ${step} (learning rate ${lr.toPrecision(3)}); the run stopped. ` +
          checkpointNote(lastCheckpoint),
        'Lower the learning rate (try 10× smaller), turn on gradient clipping (--max-grad-norm 1.0), or add warmup steps.',
      );
    }
    finalLoss = result.loss;
    tokens += targets;
    runPeak = Math.max(runPeak, memory.peakBytes);
    const sessionMs = activeMs();
    const done = step - o.startStep;
    const device = deviceFigure();
    o.onEvent({
      type: 'step',
      step,
      loss: result.loss,
      lr,
      ...(result.gradNorm !== undefined && { gradNorm: result.gradNorm }),
      ...(result.projectedGrad !== undefined && { projectedGrad: result.projectedGrad }),
      tokensPerSec: targets / seconds,
      tokens: targets,
      memory: {
        liveBytes: memory.liveBytes,
        peakBytes: memory.peakBytes,
        deviceBytes: device.bytes,
        deviceSource: device.source,
      },
      elapsedMs: Math.round(carriedMs + sessionMs),
      etaMs: Math.round((sessionMs / done) * (o.steps - step)),
    });
    if (o.evalEvery && o.evalSet.length > 0 && step % o.evalEvery === 0) {
      const r = await evaluateSequences(o.model, o.evalSet, {
        seq: o.seqLen,
        batch: o.evalBatchSize,
        ...(o.evalMasks && { masks: o.evalMasks }),
        ...o.evalTargets,
      });
      const accuracy = r.accuracy !== undefined ? { accuracy: r.accuracy } : {};
      lastEval = { loss: r.loss, perplexity: r.perplexity, ...accuracy };
      o.onEvent({
        type: 'eval',
        step,
        loss: r.loss,
        perplexity: r.perplexity,
        tokens: r.tokens,
        ...accuracy,
      });
    }
    if (step % o.checkpointEvery === 0 || step === o.steps) await checkpoint(step);
  }
  // Cancelled between steps: leave a resumable checkpoint of where we are.
  if (step > lastCheckpoint) await checkpoint(step);
  return {
    steps: step,
    finalLoss,
    cancelled: step < o.steps,
    peakBytes: runPeak,
    tokens,
    elapsedMs: Math.round(carriedMs + activeMs()),
    ...(lastEval && { lastEval }),
  };
}

const checkpointNote = (lastCheckpoint: number): string =>
  lastCheckpoint > 0
    ? `The checkpoint of step ${lastCheckpoint} is intact.`
    : 'No checkpoint was written yet.';

/**
 * A device that failed mid-step (lost, or an error in its commands) ends the run without a new
 * checkpoint (its weights cannot be trusted); the message says which checkpoint is kept.
 */
function keepingCheckpoint(err: unknown, step: number, lastCheckpoint: number): unknown {
  if (!(err instanceof WhetstoneError) || !['DEVICE_LOST', 'DEVICE_ERROR'].includes(err.code))
    return err;
  return new WhetstoneError(
    err.code,
    `Step ${step} failed: ${err.message} ${checkpointNote(lastCheckpoint)}`,
    err.hint,
  );
}
