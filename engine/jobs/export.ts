// `whetstone export --run DIR --format merged|adapter --out DIR`: a run's last checkpoint as a
// Hugging Face folder with the adapter merged in float32, or as a PEFT adapter folder.
import { writePeftAdapter } from '../export/peft-adapter.js';
import { loadRunModel } from '../export/run-model.js';
import { writeModelFolder } from '../io/model-folder-writer.js';
import { createLogger } from '../log.js';
import { mergeAdapter } from '../peft/merge.js';
import type { JobSpec } from '../protocol.js';
import type { JobContext, JobResult } from './run-job.js';

type ExportSpec = Extract<JobSpec, { kind: 'export' }>;

const log = createLogger('export');

export async function exportJob(spec: ExportSpec, ctx: JobContext): Promise<JobResult> {
  await ctx.backend();
  const {
    pm,
    spec: runSpec,
    baseDir,
    step,
  } = await loadRunModel(spec.run, spec.model, (done, total) => ctx.progress('load', done, total));
  const warnings: string[] = [];
  try {
    let files: string[];
    if (spec.format === 'adapter') {
      ({ files } = await writePeftAdapter(pm, baseDir, spec.out, spec.force));
    } else {
      if (runSpec.peft === 'qlora') {
        warnings.push(
          'QLoRA: the adapter was merged into the NF4-dequantized base it was trained against, so ' +
            'the merged weights carry 4-bit rounding of the original ones. Loading the base in full ' +
            'precision and applying the adapter export (--format adapter) keeps the original weights.',
        );
      }
      const merged = pm.modules.size > 0 ? mergeAdapter(pm) : pm.model.params;
      try {
        ({ files } = await writeModelFolder({
          baseDir,
          outDir: spec.out,
          params: merged,
          force: spec.force,
          // Bytes of weights on disk, of all: the studio's progress bar.
          onProgress: (done, total) => ctx.progress('write', done, total),
          ...(spec.maxShardBytes !== undefined && { maxShardBytes: spec.maxShardBytes }),
        }));
      } finally {
        if (merged !== pm.model.params) merged.dispose();
      }
    }
    for (const w of warnings) log.warn(w);
    return {
      fields: {
        format: spec.format,
        out: spec.out,
        step,
        method: runSpec.method,
        peft: runSpec.peft,
        files,
        warnings,
      },
      weightBytes: pm.model.params.bytes(),
    };
  } finally {
    pm.model.params.dispose();
    pm.model.dispose();
  }
}
