// `whetstone backends`: which tensor backend this machine gets, on what device, and why the
// better ones were skipped.
import type { JobContext, JobResult } from './run-job.js';

export async function backendsJob(_spec: unknown, ctx: JobContext): Promise<JobResult> {
  const report = await ctx.backend();
  return { fields: { ...report }, weightBytes: 0 };
}
