// What a job will hold, from the estimator, and the variants of a training run that would fit
// when it does not: another method, an adapter, recompute, a smaller batch, a shorter
// sequence. Each variant is estimated, not guessed, so the refusal lists only what fits.
import type { FitNeeds } from '../backend/fit.js';
import { formatBytes } from '../backend/fit.js';
import type { FitRequest } from '../backend/fit-select.js';
import { jobSpecSchema, trainSpecSchema, type JobSpec, type TrainSpec } from '../protocol.js';
import { RunDir } from '../train/run-dir.js';
import type { MemoryEstimate } from '../train/estimate.js';
import { estimateRun } from './estimate.js';

type EstimateSpec = Extract<JobSpec, { kind: 'estimate' }>;
export type EstimateFields = Omit<EstimateSpec, 'kind' | 'pagedOptim'> & { pagedOptim: boolean };

/** The fit rule's figures from an estimate. */
export function needsOf(what: string, e: MemoryEstimate): FitNeeds {
  return {
    what,
    peakBytes: e.peakBytes,
    largestTensorBytes: e.largestTensorBytes ?? 0,
    ...(e.largestTensorName !== undefined && { largestTensorName: e.largestTensorName }),
    hostOverheadBytes: e.hostOverheadBytes ?? 0,
  };
}

const describe = (s: EstimateFields, seq: number) =>
  `${s.method}${s.peft === 'full' ? '' : ` + ${s.peft}`} training (batch ${s.batch} × ${seq} tokens)`;

/** A training run's needs, and its variants for the refusal. */
export async function trainingFit(spec: TrainSpec): Promise<FitRequest> {
  const base: EstimateFields = { ...spec, pagedOptim: spec.pagedOptim === 'on' };
  const { estimate, seq } = await estimateRun(base);
  return trainingRequest(base, seq, estimate);
}

/** The fit request of a run's settings whose estimate is known. */
export function trainingRequest(
  base: EstimateFields,
  seq: number,
  estimate: MemoryEstimate,
): FitRequest {
  return {
    needs: needsOf(describe(base, seq), estimate),
    alternatives: (fits) => trainingVariants(base, seq, fits),
  };
}

async function trainingVariants(
  base: EstimateFields,
  seq: number,
  fits: (needs: FitNeeds) => boolean,
): Promise<string[]> {
  const fo = base.method === 'fo-sgd' || base.method === 'fo-adamw';
  const tries: [string, Partial<EstimateFields>][] = [];
  if (base.method !== 'lomo' && !base.method.startsWith('zo-') && base.method !== 'forward-grad')
    tries.push(['--method lomo', { method: 'lomo' }]);
  if (!base.method.startsWith('zo-')) tries.push(['--method zo-sgd (MeZO)', { method: 'zo-sgd' }]);
  if (fo && !base.recompute) tries.push(['--recompute', { recompute: true }]);
  if (base.peft === 'full') {
    tries.push(['--peft lora', { peft: 'lora' }]);
    tries.push(['--peft qlora', { peft: 'qlora' }]);
  }
  if (base.batch > 1) tries.push(['--batch 1', { batch: 1 }]);
  const found: string[] = [];
  for (const [label, change] of tries) {
    const peak = await fittingPeak({ ...base, ...change }, seq, fits);
    if (peak !== undefined) found.push(`${label} (about ${formatBytes(peak)})`);
  }
  // The longest sequence that fits, halving down to 16 tokens.
  for (let shorter = Math.floor(seq / 2); shorter >= 16; shorter = Math.floor(shorter / 2)) {
    const peak = await fittingPeak({ ...base, seq: shorter }, shorter, fits);
    if (peak === undefined) continue;
    found.push(`--seq ${shorter} (about ${formatBytes(peak)})`);
    break;
  }
  return found;
}

/** The variant's peak when it fits; undefined when it does not or cannot run at all. */
async function fittingPeak(
  spec: EstimateFields,
  seq: number,
  fits: (needs: FitNeeds) => boolean,
): Promise<number | undefined> {
  try {
    const { estimate } = await estimateRun({ ...spec, seq });
    return fits(needsOf(describe(spec, seq), estimate)) ? estimate.peakBytes : undefined;
  } catch {
    return undefined; // a combination the engine refuses (e.g. prompt tuning with LOMO)
  }
}

/**
 * An inference job's needs (eval, generate, logits): the weights and one forward's activations,
 * which is what the zeroth-order estimate counts for full fine-tuning.
 */
export async function inferenceFit(
  model: string,
  batch: number,
  seq: number | undefined,
  what: string,
): Promise<FitRequest> {
  const spec = jobSpecSchema.parse({ kind: 'estimate', model, method: 'zo-sgd', batch, seq });
  const { estimate } = await estimateRun({ ...(spec as EstimateSpec), pagedOptim: false });
  return { needs: needsOf(what, estimate) };
}

/**
 * A job that loads a run's model (export, replay): the base weights in float32 and the largest
 * tensor. A run folder or base that cannot be read asks for nothing; the job says why itself.
 */
export async function runModelFit(
  runDir: string,
  baseOverride: string | undefined,
  what: string,
): Promise<FitRequest | undefined> {
  const stored = await RunDir.open(runDir).then(
    ({ spec }) => trainSpecSchema.safeParse(spec),
    () => undefined,
  );
  if (!stored?.success) return undefined;
  // A base that moved is the job's to report (it names --model); no estimate, no check.
  return inferenceFit(baseOverride ?? stored.data.model, 1, 1, what).catch(() => undefined);
}
