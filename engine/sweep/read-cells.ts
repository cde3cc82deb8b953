// A sweep's results from run folders: each folder's spec says which cell it is, its events what
// it measured. Separate from running, so runs trained elsewhere (a Slurm array) tabulate alike.
import { basename } from 'node:path';
import { sweepTables, type CellRecord } from '../../common/sweep-table.js';
import type { SweepResult } from '../job-results.js';
import { trainSpecSchema } from '../protocol.js';
import { RunDir } from '../train/run-dir.js';
import { expandGrid, tableShape, type SweepCell, type SweepOptions } from './grid.js';

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
  const startAccuracy = events.find((e) => e.type === 'accuracy' && e.step === 0)?.accuracy as
    number | undefined;
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
    ...(startAccuracy !== undefined && { startAccuracy }),
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

/**
 * A sweep's results from its folder: every cell of the grid `options` expands to, read from
 * OUT/runs/KEY (wherever the runs were trained), and the tables. `unfit`: cells the sweep did not
 * start because they will not fit, with why.
 */
export async function sweepResults(
  options: SweepOptions,
  unfit: Map<string, string> = new Map(),
  targetLoss?: number,
): Promise<SweepResult> {
  const cells = await readCells(expandGrid(options), unfit);
  return { out: options.out, cells, tables: sweepTables(tableShape(options), cells, targetLoss) };
}

/** Each cell's record from its folder; cells never started are `not-run` or `does-not-fit`. */
export async function readCells(
  cells: SweepCell[],
  unfit: Map<string, string> = new Map(),
): Promise<CellRecord[]> {
  const records: CellRecord[] = [];
  for (const cell of cells) {
    const read = await readCell(cell.spec.out!, cell.key);
    const refusal = unfit.get(cell.key);
    if (read && refusal === undefined) records.push(read);
    else {
      const { method, peft: scheme, seed } = cell.spec;
      records.push({
        key: cell.key,
        method,
        scheme,
        seed,
        template: cell.spec.noTemplate !== true,
        status: refusal === undefined ? 'not-run' : 'does-not-fit',
        losses: [],
        ...(refusal !== undefined && { note: refusal }),
      });
    }
  }
  return records;
}
