// A run's chart data: step and eval events folded into point arrays, then shaped for display —
// downsampled to a fixed number of buckets (a 100k-step run still draws ~500 points) and
// smoothed with a debiased exponential moving average (TensorBoard's slider).
import type { RunEvent } from '../../../main/contract.js';

export interface StepPoint {
  step: number;
  loss: number;
  lr: number;
  /** Gradient norm (first-order) or |projected gradient| (zeroth-order), when reported. */
  grad?: number;
  liveBytes: number;
  peakBytes: number;
  /** The backend's device memory after the step (what it measures: RunSeries.deviceSource). */
  deviceBytes?: number;
  tokensPerSec: number;
  elapsedMs: number;
  etaMs: number;
}

export interface EvalPoint {
  step: number;
  loss: number;
}

export interface RunSeries {
  steps: StepPoint[];
  evals: EvalPoint[];
  /** Highest tensor bytes seen in the run. */
  peakBytes: number;
  /** Highest device memory seen in the run, and what the engine measured it as. */
  peakDeviceBytes: number;
  deviceSource?: DeviceSource;
}

export type DeviceSource = 'webgpu-allocated' | 'wasm-heap' | 'process-rss';

/** What each backend's device figure is, in words a user can check against their tools. */
export const deviceSourceLabels: Record<DeviceSource, string> = {
  'webgpu-allocated': 'GPU buffers allocated (WebGPU)',
  'wasm-heap': 'wasm heap',
  'process-rss': 'engine process RSS',
};

export const emptySeries = (): RunSeries => ({
  steps: [],
  evals: [],
  peakBytes: 0,
  peakDeviceBytes: 0,
});

const num = (v: unknown): number | undefined =>
  typeof v === 'number' && Number.isFinite(v) ? v : undefined;

/** A new series with `events` applied. A resumed run repeats steps after its checkpoint: the
 * points from that step on are replaced. */
export function applyEvents(series: RunSeries, events: RunEvent[]): RunSeries {
  const charted = events.filter((e) => e.type === 'step' || e.type === 'eval');
  // Logs and progress leave the series (and so the charts) untouched.
  if (charted.length === 0) return series;
  let steps = [...series.steps];
  let evals = [...series.evals];
  let peakBytes = series.peakBytes;
  let peakDeviceBytes = series.peakDeviceBytes;
  let deviceSource = series.deviceSource;
  for (const e of charted) {
    if (e.type === 'step') {
      const step = num(e.step);
      const loss = num(e.loss);
      if (step === undefined || loss === undefined) continue;
      const last = steps[steps.length - 1];
      if (last && last.step >= step) steps = steps.filter((p) => p.step < step);
      const memory = (e.memory ?? {}) as Record<string, unknown>;
      const deviceBytes = num(memory.deviceBytes);
      const source = memory.deviceSource;
      if (typeof source === 'string' && source in deviceSourceLabels) {
        deviceSource = source as DeviceSource;
      }
      const grad = num(e.gradNorm) ?? num(e.projectedGrad) ?? NaN;
      const point: StepPoint = {
        step,
        loss,
        lr: num(e.lr) ?? 0,
        ...(Number.isFinite(grad) && { grad: Math.abs(grad) }),
        liveBytes: num(memory.liveBytes) ?? 0,
        peakBytes: num(memory.peakBytes) ?? 0,
        ...(deviceBytes !== undefined && { deviceBytes }),
        tokensPerSec: num(e.tokensPerSec) ?? 0,
        elapsedMs: num(e.elapsedMs) ?? 0,
        etaMs: num(e.etaMs) ?? 0,
      };
      steps.push(point);
      peakBytes = Math.max(peakBytes, point.peakBytes);
      if (deviceBytes !== undefined) peakDeviceBytes = Math.max(peakDeviceBytes, deviceBytes);
    } else if (e.type === 'eval') {
      const step = num(e.step);
      const loss = num(e.loss);
      if (step === undefined || loss === undefined) continue;
      evals = evals.filter((p) => p.step !== step);
      evals.push({ step, loss });
    }
  }
  return {
    steps,
    evals,
    peakBytes,
    peakDeviceBytes,
    ...(deviceSource !== undefined && { deviceSource }),
  };
}

/** Device memory per step and its running peak, for the chart beside tensor memory. */
export function deviceRows(points: StepPoint[]): { step: number; now: number; peak: number }[] {
  let peak = 0;
  const rows: { step: number; now: number; peak: number }[] = [];
  for (const p of points) {
    if (p.deviceBytes === undefined) continue;
    peak = Math.max(peak, p.deviceBytes);
    rows.push({ step: p.step, now: p.deviceBytes, peak });
  }
  return rows;
}

type Numeric<T> = { [K in keyof T as T[K] extends number | undefined ? K : never]: T[K] };

/**
 * At most `buckets` points: consecutive points averaged per bucket of equal step count (the
 * last point kept exact, so the newest value shows). Short series come back unchanged.
 */
export function downsample<T extends { step: number }>(points: T[], buckets: number): T[] {
  if (points.length <= buckets) return points;
  const size = Math.ceil(points.length / buckets);
  const out: T[] = [];
  for (let start = 0; start < points.length; start += size) {
    const chunk = points.slice(start, start + size);
    const merged = { ...chunk[chunk.length - 1]! } as Record<string, unknown>;
    for (const key of Object.keys(merged)) {
      if (key === 'step') continue;
      const values = chunk
        .map((p) => (p as Record<string, unknown>)[key])
        .filter((v): v is number => typeof v === 'number');
      if (values.length > 0) merged[key] = values.reduce((a, b) => a + b, 0) / values.length;
    }
    out.push(merged as T);
  }
  const last = points[points.length - 1]!;
  out[out.length - 1] = last;
  return out;
}

/** Debiased exponential moving average of `key` (weight 0: unchanged; 0.99: very smooth). */
export function smooth<T, K extends keyof Numeric<T>>(points: T[], key: K, weight: number): T[] {
  if (weight <= 0) return points;
  let ema = 0;
  let n = 0;
  return points.map((p) => {
    const v = p[key] as unknown;
    if (typeof v !== 'number') return p;
    n++;
    ema = ema * weight + (1 - weight) * v;
    return { ...p, [key]: ema / (1 - weight ** n) };
  });
}

/** Series of several runs on one step axis: one row per step, one column per run. */
export function mergeRuns(
  runs: { id: string; points: { step: number; loss: number }[] }[],
): Record<string, number>[] {
  const rows = new Map<number, Record<string, number>>();
  for (const run of runs) {
    for (const p of run.points) {
      const row = rows.get(p.step) ?? { step: p.step };
      row[run.id] = p.loss;
      rows.set(p.step, row);
    }
  }
  return [...rows.values()].sort((a, b) => a.step! - b.step!);
}
