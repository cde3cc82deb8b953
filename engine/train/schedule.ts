// Learning-rate schedules: linear warmup from 0, then constant, linear decay to 0, or cosine decay
// to `minLrRatio`·lr (the shapes transformers' get_*_schedule_with_warmup give).
import type { scheduleKinds } from '../protocol.js';

export type ScheduleKind = (typeof scheduleKinds)[number];

export interface Schedule {
  kind: ScheduleKind;
  lr: number;
  /** Warmup steps and steps in all, as the run's spec names them. */
  warmup: number;
  steps: number;
  /** Cosine only: the floor as a fraction of lr (default 0). */
  minLrRatio?: number;
}

/** Learning rate for 1-based `step`. */
export function learningRate(s: Schedule, step: number): number {
  if (step <= s.warmup) return (s.lr * step) / Math.max(1, s.warmup);
  if (s.kind === 'constant') return s.lr;
  const decaySteps = Math.max(1, s.steps - s.warmup);
  const progress = Math.min(1, (step - s.warmup) / decaySteps);
  if (s.kind === 'linear') return s.lr * (1 - progress);
  const floor = s.minLrRatio ?? 0;
  return s.lr * (floor + (1 - floor) * 0.5 * (1 + Math.cos(Math.PI * progress)));
}
