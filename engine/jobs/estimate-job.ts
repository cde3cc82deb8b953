// `whetstone estimate`: predicted peak memory of a training run and, for a backend whose
// ceilings are known without starting it (wasm, cpu, native; webgpu from its adapter), whether
// the run fits it: the
// same verdict and refusal text a run would meet, for the studio's fit badge and Start button.
import type { RunFit } from '../job-results.js';
import { backendNames } from '../backend/select.js';
import { fitProblems, staticLimitsOf } from '../backend/fit.js';
import { describeRefusal, limitsBeforeStart } from '../backend/fit-select.js';
import { readHostMemory } from '../backend/host-memory.js';
import type { JobSpec } from '../protocol.js';
import type { MemoryEstimate } from '../train/estimate.js';
import { estimateRun } from './estimate.js';
import { trainingRequest, type EstimateFields } from './fit-needs.js';
import type { JobContext, JobResult } from './run-job.js';

type EstimateSpec = Extract<JobSpec, { kind: 'estimate' }>;

export async function estimateJob(
  spec: EstimateSpec,
  _ctx: JobContext,
): Promise<JobResult<'estimate'>> {
  // `auto` is decided against the device when a run starts; the estimate shows the unpaged peak.
  const pagedOptim = spec.pagedOptim === 'on';
  const fields: EstimateFields = { ...spec, pagedOptim };
  const { estimate, seq } = await estimateRun(fields);
  const fit = spec.backend ? await judgeRun(fields, seq, estimate, spec.backend) : undefined;
  return {
    fields: {
      method: spec.method,
      peft: spec.peft,
      batch: spec.batch,
      seq,
      pagedOptim,
      estimate,
      ...(fit && { fit }),
    },
    weightBytes: estimate.weightBytes,
  };
}

/**
 * The verdict for `backend`: host backends against host memory, WebGPU against its adapter's
 * binding limit (and an NVIDIA driver's free memory); undefined where the ceilings are unknown
 * before a start (tensorflow, or no adapter).
 */
export async function judgeRun(
  fields: EstimateFields,
  seq: number,
  estimate: MemoryEstimate,
  backend: string,
): Promise<RunFit | undefined> {
  const host = readHostMemory();
  const limits = await limitsBeforeStart(backend, host);
  if (limits === undefined) return undefined;
  const request = trainingRequest(fields, seq, estimate);
  // The ceiling the refusal is about: one binding when the largest tensor passes it.
  const binding =
    limits.tensor && request.needs.largestTensorBytes > limits.tensor.bytes
      ? limits.tensor
      : (limits.live ?? limits.host);
  const verdict = { backend, limitBytes: binding.bytes, limitWhat: binding.what };
  if (fitProblems(request.needs, limits).length === 0) return { ...verdict, fits: true };
  const order = backendNames as readonly string[];
  const fallback = order
    .slice(order.indexOf(backend) + 1)
    .map((name) => staticLimitsOf(name, host))
    .find((l) => l !== undefined && fitProblems(request.needs, l).length === 0);
  const { message, hint } = await describeRefusal(request, limits, host, [limits]);
  return {
    ...verdict,
    fits: false,
    message,
    hint,
    ...(fallback && { fallback: fallback.backend }),
  };
}
