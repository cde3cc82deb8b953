// A run's state read from its events: status, progress, last loss, and why it failed. Pure, so
// the live manager and a cold read of the folder agree on what a run is.
import type { ErrorInfo, ErrorCode } from '../../engine/errors.js';
import { runStatus } from '../../common/run-status.js';
import type { RunEvent, RunSummary } from '../contract.js';

export interface SummaryInput {
  id: string;
  dir: string;
  spec: unknown;
  events: RunEvent[];
  /** An engine is working on the run right now. */
  live: boolean;
  checkpointStep?: number;
  createdAt: string;
}

const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

function errorOf(e: RunEvent): ErrorInfo {
  const hint = str(e.hint);
  return {
    code: (str(e.code) ?? 'INTERNAL') as ErrorCode,
    message: str(e.message) ?? 'The run failed.',
    ...(hint !== undefined && { hint }),
  };
}

export function summarize(input: SummaryInput): RunSummary {
  const spec = (input.spec ?? {}) as Record<string, unknown>;
  const status = runStatus(input.events, input.live);
  let step = 0;
  let maxSteps: number | undefined;
  let lastLoss: number | undefined;
  let lastError: RunEvent | undefined;
  let peakBytes: number | undefined;
  for (const e of input.events) {
    if (e.type === 'step') {
      step = num(e.step) ?? step;
      lastLoss = num(e.loss) ?? lastLoss;
      const peak = num((e.memory as { peakBytes?: unknown } | undefined)?.peakBytes);
      if (peak !== undefined) peakBytes = Math.max(peakBytes ?? 0, peak);
    }
    if (e.type === 'start' || e.type === 'resume') {
      maxSteps = num(e.maxSteps) ?? maxSteps;
      step = num(e.step) ?? step;
    }
    if (e.type === 'error') lastError = e;
  }
  const summary: RunSummary = {
    id: input.id,
    dir: input.dir,
    status,
    step,
    createdAt: input.createdAt,
  };
  const method = str(spec.method);
  const peft = str(spec.peft);
  if (peft !== undefined) summary.peft = peft;
  const model = str(spec.model);
  const data = str(spec.data);
  if (method !== undefined) summary.method = method;
  if (model !== undefined) summary.model = model;
  if (data !== undefined) summary.data = data;
  if (maxSteps !== undefined) summary.maxSteps = maxSteps;
  if (lastLoss !== undefined) summary.lastLoss = lastLoss;
  if (peakBytes !== undefined) summary.peakBytes = peakBytes;
  if (input.checkpointStep !== undefined) summary.checkpointStep = input.checkpointStep;
  if (status === 'failed') {
    summary.error = lastError
      ? errorOf(lastError)
      : {
          code: 'ENGINE_CRASHED',
          message: 'The run stopped without finishing (its engine is gone).',
          hint: 'Resume it to continue from its last checkpoint.',
        };
  }
  return summary;
}
