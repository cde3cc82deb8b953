// `whetstone export --run DIR --format merged|adapter --out DIR`: a run's last checkpoint as a
// Hugging Face folder with the adapter merged in float32, or as a PEFT adapter folder.
import { writePeftAdapter } from '../export/peft-adapter.js';
import { loadRunModel } from '../export/run-model.js';
import { writeModelFolder } from '../io/model-folder-writer.js';
import { createLogger } from '../log.js';
import { baseIdentity, readBaseIdentity, sameBase } from '../peft/base-identity.js';
import { mergeAdapter, mergeIntoOriginal } from '../peft/merge.js';
import { writePromptAdapter } from '../export/prompt-adapter.js';
import { refuseMerged } from '../peft/prompt-load.js';
import { isPromptKind } from '../peft/prompts.js';
import type { JobSpec } from '../protocol.js';
import { runModelFit } from './fit-needs.js';
import type { JobContext, JobResult } from './run-job.js';

type ExportSpec = Extract<JobSpec, { kind: 'export' }>;

const log = createLogger('export');

export async function exportJob(spec: ExportSpec, ctx: JobContext): Promise<JobResult> {
  await ctx.backend(await runModelFit(spec.run, spec.model, 'the export'));
  const {
    pm,
    spec: runSpec,
    baseDir,
    step,
  } = await loadRunModel(spec.run, spec.model, (done, total) => ctx.progress('load', done, total));
  const warnings: string[] = [];
  try {
    let files: string[];
    const kind = runSpec.peft;
    if (isPromptKind(kind)) {
      if (spec.format === 'merged') refuseMerged(kind);
      ({ files } = await writePromptAdapter(pm, kind, baseDir, spec.out, spec.force));
    } else if (spec.format === 'adapter') {
      ({ files } = await writePeftAdapter(pm, baseDir, spec.out, spec.force));
    } else {
      let merged = pm.model.params;
      if (runSpec.peft === 'qlora') {
        const original = await originalBase(spec.run, baseDir);
        if (original.same) merged = await mergeIntoOriginal(pm, baseDir);
        else {
          warnings.push(
            `QLoRA: ${original.why}, so the adapter was merged into the NF4-dequantized base it was ` +
              'trained against, and the merged weights carry 4-bit rounding of the original ones. ' +
              'Pass the original base with --model, or apply the adapter export ' +
              '(--format adapter) to the base in full precision.',
          );
          merged = mergeAdapter(pm);
        }
      } else if (pm.modules.size > 0) merged = mergeAdapter(pm);
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

/** Whether `baseDir` holds the very full-precision weights the QLoRA run quantized. */
async function originalBase(
  runDir: string,
  baseDir: string,
): Promise<{ same: boolean; why: string }> {
  const recorded = await readBaseIdentity(runDir);
  if (!recorded) return { same: false, why: 'the run recorded no identity of its base model' };
  if (sameBase(recorded, await baseIdentity(baseDir))) return { same: true, why: '' };
  return {
    same: false,
    why: `the weights in ${baseDir} are not the full-precision base the run trained on (changed or another model)`,
  };
}
