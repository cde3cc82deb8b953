// `whetstone backends`: which tensor backend this machine gets, on what device, and why the
// better ones were skipped.
import { sampleDeviceMemory } from '../backend/memory.js';
import { webgpuDeviceInfo } from '../backend/webgpu.js';
import type { JobContext, JobResult } from './run-job.js';

export async function backendsJob(_spec: unknown, ctx: JobContext): Promise<JobResult<'backends'>> {
  const report = await ctx.backend();
  // Device total/free lets a host say whether a run fits before it starts.
  const deviceMemory = await sampleDeviceMemory(report.backend);
  // WebGPU: the adapter's vendor, architecture, limits and features, for bug reports and checks.
  const webgpu = report.backend === 'webgpu' ? webgpuDeviceInfo() : undefined;
  return { fields: { ...report, deviceMemory, ...(webgpu && { webgpu }) }, weightBytes: 0 };
}
