// `whetstone fixture`: write a small random model in Hugging Face layout, or with --preset a
// published model's exact config and shapes (fixtures/presets.ts).
import { WhetstoneError } from '../errors.js';
import { writeFixtureModel } from '../fixtures/fixture-model.js';
import { writePresetModel } from '../fixtures/preset-model.js';
import { presetNames } from '../fixtures/presets.js';
import type { JobSpec } from '../protocol.js';
import type { JobContext, JobResult } from './run-job.js';

type FixtureSpec = Extract<JobSpec, { kind: 'fixture' }>;

export async function fixtureJob(
  spec: FixtureSpec,
  ctx: JobContext,
): Promise<JobResult<'fixture'>> {
  if (spec.preset !== undefined) {
    ctx.progress('write', 0);
    const result = await writePresetModel({ ...spec, preset: spec.preset });
    return {
      fields: { out: result.dir, preset: spec.preset, parameters: result.parameters },
      weightBytes: 0,
    };
  }
  if (spec.arch === undefined) {
    throw new WhetstoneError(
      'BAD_ARGUMENT',
      'whetstone fixture needs --arch (a small model) or --preset (a published model’s shapes).',
      `Presets: ${presetNames.join(', ')}.`,
    );
  }
  const result = await writeFixtureModel({ ...spec, arch: spec.arch });
  return {
    fields: { out: result.dir, arch: spec.arch, parameters: result.parameters },
    weightBytes: 0,
  };
}
