// `whetstone export --format gguf`: a run's merged weights (--run) or a plain model folder
// (--model) as one GGUF file for llama.cpp and Ollama, with a Modelfile beside it.
import { exportGguf } from '../export/gguf/export-gguf.js';
import { loadTokenizer } from '../io/tokenizer.js';
import { createLogger } from '../log.js';
import type { ModelConfig } from '../models/config.js';
import { checkModel } from '../models/load.js';
import type { Params } from '../models/params.js';
import type { JobSpec } from '../protocol.js';
import { WhetstoneError } from '../errors.js';
import type { JobContext, JobResult } from './run-job.js';

type ExportSpec = Extract<JobSpec, { kind: 'export' }>;

const log = createLogger('export');

/** The GGUF of a run's merged weights, read tensor by tensor from `params`. */
export async function writeRunGguf(
  spec: ExportSpec,
  ctx: JobContext,
  config: ModelConfig,
  baseDir: string,
  params: Params,
  warnings: string[],
): Promise<{ files: string[] }> {
  const result = await exportGguf({
    modelDir: baseDir,
    config,
    tokenizer: await loadTokenizer(baseDir),
    read: async (name) => (await params.get(name).data()) as Float32Array,
    quant: spec.quant ?? 'f16',
    out: spec.out,
    force: spec.force,
    onProgress: (done, total) => ctx.progress('write', done, total),
  });
  warnings.push(...result.warnings);
  return { files: result.files };
}

/** The GGUF of a model folder: no backend, each tensor read from disk when written. */
export async function ggufModelJob(
  spec: ExportSpec,
  ctx: JobContext,
): Promise<JobResult<'export'>> {
  if (spec.model === undefined) {
    throw new WhetstoneError(
      'BAD_ARGUMENT',
      'export --format gguf needs --run DIR (a run) or --model DIR (a model folder).',
    );
  }
  const checked = await checkModel(spec.model);
  try {
    const quant = spec.quant ?? 'f16';
    const result = await exportGguf({
      modelDir: spec.model,
      config: checked.config,
      tokenizer: await loadTokenizer(spec.model),
      read: async (name) => {
        const { values } = await checked.source.read(checked.stored(name));
        return values instanceof Float32Array ? values : Float32Array.from(values);
      },
      quant,
      out: spec.out,
      force: spec.force,
      onProgress: (done, total) => ctx.progress('write', done, total),
    });
    for (const w of result.warnings) log.warn(w);
    return {
      fields: {
        format: 'gguf',
        quant,
        out: spec.out,
        files: result.files,
        bytes: result.bytes,
        types: result.types,
        warnings: result.warnings,
      },
      weightBytes: 0,
    };
  } finally {
    await checked.source.close();
  }
}
