// Runs one job from a JobSpec and reports through `emit`: progress and tokens as they happen,
// then exactly one `done` (with the result and memory figures) or one `error`.
import type { BackendName, BackendReport } from '../backend/select.js';
import { startBackendFor, type FitRequest } from '../backend/fit-select.js';
import { noteHeapFault } from '../backend/heap-fault.js';
import { memory } from '../backend/memory.js';
import { toErrorInfo, WhetstoneError } from '../errors.js';
import {
  jobSpecSchema,
  PROTOCOL_VERSION,
  type DoneEvent,
  type Emit,
  type JobKind,
  type JobResults,
  type JobSpec,
} from '../protocol.js';
import { PauseGate } from '../train/pause-gate.js';
import { backendsJob } from './backends.js';
import { evalJob } from './eval.js';
import { fixtureJob } from './fixture.js';
import { generateJob } from './generate.js';
import { infoJob } from './info.js';
import { inspectJob } from './inspect.js';
import { logitsJob } from './logits.js';
import { estimateJob } from './estimate-job.js';
import { exportJob } from './export.js';
import { replayJob } from './replay.js';
import { sweepJob } from './sweep.js';
import { resumeJob, trainJob } from './train.js';

export interface JobContext {
  emit: Emit;
  /**
   * Start the tensor backend (once); jobs that only read files never call it. With the job's
   * memory needs, one that fits them (or DEVICE_LIMIT before anything is loaded). `name`: the
   * backend a resumed run was forced onto, when the resume itself names none.
   */
  backend(fit?: FitRequest, name?: BackendName): Promise<BackendReport>;
  /** Progress, throttled so a fast loop does not flood the host. */
  progress(phase: string, done: number, total?: number): void;
  /** Aborted when the host asks to cancel; long jobs stop at their next safe point. */
  signal: AbortSignal;
  /** Closed while the host has the job paused (training waits at a step boundary). */
  pause: PauseGate;
}

export interface JobResult<K extends JobKind> {
  /** What the `done` event reports (typed per job in engine/job-results.ts). */
  fields: JobResults[K];
  /** Bytes of the model weights the job held (reported in `memory.weightBytes`). */
  weightBytes: number;
  /** The job's own peak, where it tracks phases itself (training: the highest step). */
  peakBytes?: number;
}

type Handler<K extends JobKind> = (
  spec: Extract<JobSpec, { kind: K }>,
  ctx: JobContext,
) => Promise<JobResult<K>>;

const handlers: { [K in JobSpec['kind']]: Handler<K> } = {
  backends: backendsJob,
  info: infoJob,
  generate: generateJob,
  eval: evalJob,
  inspect: inspectJob,
  logits: logitsJob,
  train: trainJob,
  resume: resumeJob,
  replay: replayJob,
  estimate: estimateJob,
  export: exportJob,
  fixture: fixtureJob,
  sweep: sweepJob,
};

const PROGRESS_INTERVAL_MS = 100;

/** Validate `input` as a JobSpec and run it. Resolves to true when the job succeeded. */
export async function runJob(
  input: unknown,
  emit: Emit,
  signal: AbortSignal = new AbortController().signal,
  pause: PauseGate = new PauseGate(),
): Promise<boolean> {
  const started = performance.now();
  let report: BackendReport | undefined;
  let lastProgress = 0;
  try {
    const parsed = jobSpecSchema.safeParse(input);
    if (!parsed.success) {
      const problems = parsed.error.issues.map((i) => `${i.path.join('.') || 'job'}: ${i.message}`);
      throw new WhetstoneError('BAD_ARGUMENT', `Invalid job: ${problems.join('; ')}`);
    }
    const spec = parsed.data;
    const ctx: JobContext = {
      emit,
      signal,
      pause,
      backend: async (fit, name) => {
        if (report === undefined) {
          report = await startBackendFor({ backend: spec.backend ?? name }, fit);
          emit({
            type: 'hello',
            v: PROTOCOL_VERSION,
            backend: { name: report.backend, device: report.device, skipped: report.skipped },
          });
        }
        memory.resetPeak();
        return report;
      },
      progress: (phase, done, total) => {
        const now = performance.now();
        if (now - lastProgress < PROGRESS_INTERVAL_MS && done !== total) return;
        lastProgress = now;
        emit({ type: 'progress', phase, done, total });
      },
    };
    const run = handlers[spec.kind] as Handler<JobKind>;
    const result = await run(spec, ctx);
    // `handlers` pairs each kind with its fields; TypeScript cannot follow that pairing through
    // the union of kinds, so the pair is asserted here, once.
    emit({
      type: 'done',
      job: spec.kind,
      ...result.fields,
      memory: {
        peakBytes: result.peakBytes ?? memory.peakBytes,
        weightBytes: result.weightBytes,
        liveBytes: memory.liveBytes,
        rssBytes: process.memoryUsage.rss(),
      },
      elapsedMs: Math.round(performance.now() - started),
    } as DoneEvent);
    return true;
  } catch (err) {
    noteHeapFault(err); // a trapped wasm heap is not used again
    emit({ type: 'error', ...toErrorInfo(err) });
    return false;
  }
}
