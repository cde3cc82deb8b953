// `whetstone export --run DIR --format merged|adapter --out DIR`: a run's last checkpoint as a
// Hugging Face folder with the adapter merged in float32, or as a PEFT adapter folder.
import { loadRunModel } from '../export/run-model.js';
import { writeModelFolder } from '../io/model-folder-writer.js';
import { createLogger } from '../log.js';
import { baseIdentity, readBaseIdentity, sameBase } from '../peft/base-identity.js';
import { mergeAdapter, mergeIntoOriginal } from '../peft/merge.js';
import { writeAdapter } from '../peft/adapters.js';
import { refuseMerged } from '../peft/prompt-load.js';
import { isPromptKind } from '../peft/prompts.js';
import type { JobSpec } from '../protocol.js';
import { WhetstoneError } from '../errors.js';
import type { Params } from '../models/params.js';
import type { PeftModel } from '../peft/load.js';
import { ggufModelJob, writeRunGguf } from './export-gguf.js';
import { runModelFit } from './fit-needs.js';
import type { JobContext, JobResult } from './run-job.js';

type ExportSpec = Extract<JobSpec, { kind: 'export' }>;

const log = createLogger('export');

export async function exportJob(spec: ExportSpec, ctx: JobContext): Promise<JobResult<'export'>> {
  if (spec.format === 'gguf' && spec.run === undefined) return ggufModelJob(spec, ctx);
  if (spec.run === undefined) {
    throw new WhetstoneError(
      'BAD_ARGUMENT',
      `--format ${spec.format} exports a run: --run DIR is required.`,
      'Pass the run folder with --run (only --format gguf also takes a plain --model folder).',
    );
  }
  const runDir = spec.run;
  await ctx.backend(await runModelFit(runDir, spec.model, 'the export'));
  const {
    pm,
    spec: runSpec,
    baseDir,
    step,
  } = await loadRunModel(runDir, spec.model, (done, total) => ctx.progress('load', done, total));
  const warnings: string[] = [];
  try {
    let files: string[];
    const kind = runSpec.peft;
    if (isPromptKind(kind) && spec.format !== 'adapter') refuseMerged(kind);
    // Prefix and prompt tuning have no weights to fold in: their export is the adapter.
    if (spec.format === 'adapter' || isPromptKind(kind)) {
      ({ files } = await writeAdapter(pm, kind, baseDir, spec.out, spec.force));
    } else {
      const merged = await mergedParams(pm, runDir, baseDir, warnings);
      try {
        if (spec.format === 'gguf') {
          ({ files } = await writeRunGguf(spec, ctx, pm.model.config, baseDir, merged, warnings));
        } else {
          ({ files } = await writeModelFolder({
            baseDir,
            outDir: spec.out,
            params: merged,
            force: spec.force,
            // Bytes of weights on disk, of all: the studio's progress bar.
            onProgress: (done, total) => ctx.progress('write', done, total),
            ...(spec.maxShardBytes !== undefined && { maxShardBytes: spec.maxShardBytes }),
          }));
        }
      } finally {
        if (merged !== pm.model.params) merged.dispose();
      }
    }
    for (const w of warnings) log.warn(w);
    return {
      fields: {
        format: spec.format,
        ...(spec.format === 'gguf' && { quant: spec.quant ?? 'f16' }),
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

/** The run's weights with its adapter (if any) folded in; the caller disposes a new set. */
async function mergedParams(
  pm: PeftModel,
  runDir: string,
  baseDir: string,
  warnings: string[],
): Promise<Params> {
  if (pm.modules.size === 0) return pm.model.params;
  if (pm.spec.kind === 'qlora') {
    const original = await originalBase(runDir, baseDir);
    if (original.same) return mergeIntoOriginal(pm, baseDir);
    warnings.push(
      `QLoRA: ${original.why}, so the adapter was merged into the NF4-dequantized base it was ` +
        'trained against, and the merged weights carry 4-bit rounding of the original ones. ' +
        'Pass the original base with --model, or apply the adapter export ' +
        '(--format adapter) to the base in full precision.',
    );
  }
  return mergeAdapter(pm);
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
