// A sweep's results from run folders: each folder's spec says which cell it is, its events what
// it measured. Separate from running, so runs trained elsewhere (a Slurm array) tabulate alike.
import { basename } from 'node:path';
import type { CellRecord } from '../../common/sweep-table.js';
import { trainSpecSchema } from '../protocol.js';
import { RunDir } from '../train/run-dir.js';

type Event = Record<string, unknown>;

/** The record of one run folder; `does-not-fit` and `not-run` are the sweep's to say. */
export async function readCell(dir: string, key = basename(dir)): Promise<CellRecord | undefined> {
  const opened = await RunDir.open(dir).catch(() => undefined);
  if (!opened) return undefined;
  const spec = trainSpecSchema.safeParse(opened.spec);
  if (!spec.success) return undefined;
  const events = await opened.run.events();
  // A resumed run repeats the steps after its checkpoint: the later telling of a step counts.
  const byStep = new Map(events.filter((e) => e.type === 'step').map((e) => [e.step, e]));
  const steps = [...byStep.values()].sort((a, b) => (a.step as number) - (b.step as number));
  const last = <T extends Event>(type: string) =>
    events.findLast((e) => e.type === type) as T | undefined;
  const done = last<{ summary: { cancelled: boolean; peakBytes: number } }>('done');
  const error = last<{ message: string }>('error');
  const end = events.findLast((e) => e.type === 'done' || e.type === 'error');
  // A run refused before it loaded anything (the studio's runs have a folder by then).
  const refused = end?.type === 'error' && end.code === 'DEVICE_LIMIT';
  const status: CellRecord['status'] = refused
    ? 'does-not-fit'
    : end?.type === 'error'
      ? 'failed'
      : done && !done.summary.cancelled
        ? 'finished'
        : 'unfinished';
  const accuracy = last<{ accuracy: number }>('accuracy')?.accuracy;
  const evalLoss = last<{ loss: number }>('eval')?.loss;
  const peakBytes =
    done?.summary.peakBytes ??
    Math.max(0, ...steps.map((e) => (e.memory as { peakBytes: number }).peakBytes));
  const stepMs = median(
    steps
      .map((e) => ((e.tokens as number) / (e.tokensPerSec as number)) * 1000)
      .filter(Number.isFinite),
  );
  return {
    key,
    method: spec.data.method,
    scheme: spec.data.peft,
    seed: spec.data.seed,
    template: spec.data.noTemplate !== true,
    status,
    ...(accuracy !== undefined && { accuracy }),
    ...(evalLoss !== undefined && { evalLoss }),
    ...(peakBytes > 0 && { peakBytes }),
    ...(stepMs !== undefined && { stepMs }),
    losses: steps.map((e) => [e.step as number, e.loss as number]),
    ...(end?.type === 'error' && error && { note: error.message }),
  };
}

function median(values: number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length / 2;
  return sorted.length % 2 ? sorted[Math.floor(mid)] : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
