// The 27M-parameter model the memory tests measure on, written once per test file, and the token
// rows they feed it. wasm: the fastest backend here; the byte counts are the same on every backend.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { initBackend } from '../engine/backend/select.js';
import { writeFixtureModel } from '../engine/fixtures/fixture-model.js';
import { estimateRun } from '../engine/jobs/estimate.js';
import { checkModel, type CheckedModel } from '../engine/models/load.js';
import { jobSpecSchema, type JobSpec } from '../engine/protocol.js';
import type { MemoryEstimate } from '../engine/train/estimate.js';
import { memoryModelSpec } from './fixtures.js';

export interface MemoryModel {
  /** The model folder. */
  readonly path: string;
  /** Its config and tensor shapes (the estimator's input). */
  readonly checked: CheckedModel;
}

/** Register the hooks that write the model before the file's tests and remove it after. */
export function memoryModel(name: string): MemoryModel {
  let dir: string | undefined;
  let checked: CheckedModel | undefined;
  beforeAll(async () => {
    await initBackend({ backend: 'wasm' });
    dir = await mkdtemp(join(tmpdir(), `whetstone-${name}-`));
    await writeFixtureModel({ ...memoryModelSpec, out: join(dir, 'm') });
    checked = await checkModel(join(dir, 'm'));
    await checked.source.close();
  }, 300_000);
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  return {
    get path() {
      return join(dir!, 'm');
    },
    get checked() {
      return checked!;
    },
  };
}

/** B rows of T token ids spread over the model's vocabulary. */
export const memoryRows = (b: number, t: number): number[][] =>
  Array.from({ length: b }, (_, r) =>
    Array.from({ length: t }, (_, i) => ((r * 131 + i * 7) % 4000) + 4),
  );

/**
 * The estimate `whetstone estimate` (and the studio) gives for a model folder and the job's
 * fields, through the estimate job itself.
 */
export async function estimateOf(
  model: string,
  fields: Record<string, unknown>,
): Promise<MemoryEstimate> {
  const spec = jobSpecSchema.parse({ kind: 'estimate', model, ...fields }) as Extract<
    JobSpec,
    { kind: 'estimate' }
  >;
  return (await estimateRun({ ...spec, pagedOptim: spec.pagedOptim === 'on' })).estimate;
}
