// `whetstone sweep`: the grid (engine/sweep/grid.ts) run one cell at a time, each a normal run
// folder under OUT/runs; then the tables from the folders (engine/sweep/read-cells.ts). A cell
// whose estimate does not fit is listed, not started; running the same command again skips the
// finished cells and resumes the others from their checkpoints.
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { toMarkdown, type SweepTables } from '../../common/sweep-table.js';
import { WhetstoneError } from '../errors.js';
import type { SweepResult } from '../job-results.js';
import { createLogger } from '../log.js';
import type { EngineEvent, JobSpec, TrainSpec } from '../protocol.js';
import { latestCheckpoint } from '../train/checkpoint.js';
import { RunDir, writeFileAtomic } from '../train/run-dir.js';
import { expandGrid, SWEEP_FILES, sweepOptionsOf, type SweepCell } from '../sweep/grid.js';
import { readCell, sweepResults } from '../sweep/read-cells.js';
import { judgeRun } from './estimate-job.js';
import { estimateRun } from './estimate.js';
import { runJob, type JobContext, type JobResult } from './run-job.js';

type SweepSpec = Extract<JobSpec, { kind: 'sweep' }>;

const log = createLogger('sweep');

export async function sweepJob(spec: SweepSpec, ctx: JobContext): Promise<JobResult<'sweep'>> {
  if (spec.cluster !== undefined) {
    throw new WhetstoneError(
      'BAD_ARGUMENT',
      `A sweep for cluster "${spec.cluster}" is submitted by the CLI, not run by an engine.`,
      `Run: whetstone sweep --cluster ${spec.cluster} … (or leave --cluster out to run it here).`,
    );
  }
  const options = sweepOptionsOf(spec);
  const cells = expandGrid(options);
  await mkdir(join(spec.out, 'runs'), { recursive: true });
  // The cells run on the backend this job gets (or each its own forced one).
  const { backend } = await ctx.backend();
  const unfit = new Map<string, string>();
  for (const [i, cell] of cells.entries()) {
    if (ctx.signal.aborted) break;
    const where = `${i + 1}/${cells.length} ${cell.key}`;
    ctx.emit({ type: 'progress', phase: 'sweep', done: i, total: cells.length });
    const state = await cellState(cell);
    if (state === 'finished') {
      log.info(`${where}: finished earlier, kept`);
      continue;
    }
    const refusal = await fitRefusal(cell.spec, backend);
    if (refusal !== undefined) {
      unfit.set(cell.key, refusal);
      log.warn(`${where}: does not fit, not started: ${refusal}`);
      continue;
    }
    log.info(`${where}: ${state === 'resume' ? 'resuming' : 'training'}`);
    const job = state === 'resume' ? { kind: 'resume', run: cell.spec.out } : cell.spec;
    await runJob(job, forwardCell(ctx, where, cell, unfit), ctx.signal, ctx.pause);
  }
  ctx.emit({ type: 'progress', phase: 'sweep', done: cells.length, total: cells.length });
  const result = await sweepResults(options, unfit, spec.targetLoss);
  await writeSweepResults(spec, spec.out, result);
  return { fields: result, weightBytes: 0 };
}

/** results.json and the tables (the folder's README.md) in the sweep folder `out`. */
export async function writeSweepResults(
  spec: SweepSpec,
  out: string,
  result: SweepResult,
): Promise<void> {
  await writeFileAtomic(join(out, SWEEP_FILES.results), `${JSON.stringify(result, null, 2)}\n`);
  await writeFileAtomic(join(out, SWEEP_FILES.table), sweepMarkdown(spec, result.tables));
}

function sweepMarkdown(spec: SweepSpec, tables: SweepTables): string {
  return `# Sweep: ${spec.model} on ${spec.data}\n\n${toMarkdown(tables)}`;
}

/**
 * Where a cell stands: finished (kept), resumable from a checkpoint, or to start afresh (a folder
 * with no checkpoint is cleared). A folder holding another spec belongs to another sweep.
 */
async function cellState(cell: SweepCell): Promise<'finished' | 'resume' | 'fresh'> {
  const dir = cell.spec.out!;
  const opened = await RunDir.open(dir).catch(() => undefined);
  if (opened && !sameSpec(opened.spec, cell.spec)) {
    throw new WhetstoneError(
      'BAD_ARGUMENT',
      `${dir} holds a run with other settings than this sweep's ${cell.key}.`,
      'Run the sweep with the settings it was started with, or choose another --out.',
    );
  }
  const record = opened && (await readCell(dir, cell.key));
  if (record?.status === 'finished') return 'finished';
  // A diverged run is a result (the table says failed), not something to try again.
  const events = opened ? await opened.run.events() : [];
  if (events.at(-1)?.code === 'TRAINING_DIVERGED') return 'finished';
  const checkpoint = opened && (await latestCheckpoint(opened.run.checkpointsDir));
  // Killed between its last checkpoint and its end: nothing to resume, so it trains again.
  if (checkpoint && checkpoint.state.step < cell.spec.steps) return 'resume';
  await rm(dir, { recursive: true, force: true });
  return 'fresh';
}

const sameSpec = (stored: unknown, planned: TrainSpec): boolean =>
  canonical(stored) === canonical(JSON.parse(JSON.stringify(planned)));

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value).sort(([a], [b]) => a.localeCompare(b));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Why the cell's estimate does not fit the backend it would run on; undefined when it fits. */
async function fitRefusal(spec: TrainSpec, backend: string): Promise<string | undefined> {
  const fields = { ...spec, pagedOptim: spec.pagedOptim === 'on' };
  const { estimate, seq } = await estimateRun(fields);
  const fit = await judgeRun(fields, seq, estimate, spec.backend ?? backend);
  // Unforced, a later backend that holds it would be chosen: that fits.
  if (!fit || fit.fits || (spec.backend === undefined && fit.fallback)) return undefined;
  return fit.message;
}

/** A cell's events as the sweep's: its steps as progress, its end as one line. */
function forwardCell(
  ctx: JobContext,
  where: string,
  cell: SweepCell,
  unfit: Map<string, string>,
): (event: EngineEvent) => void {
  return (event) => {
    if (event.type === 'step') ctx.progress(where, event.step, cell.spec.steps);
    else if (event.type === 'accuracy')
      log.info(
        `${where}: accuracy ${(event.accuracy * 100).toFixed(1)}% on ${event.examples} rows${event.step === 0 ? ' before training' : ''}`,
      );
    else if (event.type === 'error') {
      // A GPU's ceilings are known only once it starts: its refusal marks the cell as not fitting.
      if (event.code === 'DEVICE_LIMIT') unfit.set(cell.key, event.message);
      log.warn(`${where}: ${event.message}`);
    } else if (event.type === 'done' && event.job !== 'sweep')
      log.info(`${where}: done in ${(event.elapsedMs / 1000).toFixed(1)} s`);
  };
}
