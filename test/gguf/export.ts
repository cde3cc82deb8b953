// The engine's GGUF export of a model folder, in process (as `whetstone export --model DIR
// --format gguf` runs it).
import { exportJob } from '../../engine/jobs/export.js';
import type { JobContext } from '../../engine/jobs/run-job.js';
import type { GgufQuant } from '../../engine/export/gguf/quant-mix.js';
import type { ExportResult } from '../../engine/job-results.js';

const quietContext = {
  progress: () => undefined,
  backend: () => Promise.reject(new Error('a model folder export needs no backend')),
} as unknown as JobContext;

export async function exportModelGguf(
  dir: string,
  quant: GgufQuant,
  out: string,
): Promise<ExportResult> {
  const result = await exportJob(
    { kind: 'export', format: 'gguf', model: dir, quant, out, force: true } as never,
    quietContext,
  );
  return result.fields;
}
