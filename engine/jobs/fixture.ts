// `whetstone fixture`: write a small random model in Hugging Face layout.
import { writeFixtureModel } from '../fixtures/fixture-model.js';
import type { JobSpec } from '../protocol.js';
import type { JobContext, JobResult } from './run-job.js';

type FixtureSpec = Extract<JobSpec, { kind: 'fixture' }>;

export async function fixtureJob(
  spec: FixtureSpec,
  _ctx: JobContext,
): Promise<JobResult<'fixture'>> {
  const result = await writeFixtureModel(spec);
  return {
    fields: { out: result.dir, arch: spec.arch, parameters: result.parameters },
    weightBytes: 0,
  };
}
