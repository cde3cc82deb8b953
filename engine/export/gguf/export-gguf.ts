// Write a model as one GGUF file for llama.cpp and Ollama, with an Ollama Modelfile beside it:
// metadata (architecture, tokenizer), then each tensor renamed, reshaped and encoded in the type
// the chosen quantization gives it, read and written one tensor at a time.
import { rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { TextTokenizer } from '../../io/tokenizer.js';
import type { ModelConfig } from '../../models/config.js';
import type { LlamaConfig } from '../../models/llama.js';
import type { GgmlType } from './ggml-types.js';
import { architectureMetadata, ggufArchitecture } from './metadata.js';
import { ollamaModelfile } from './modelfile.js';
import { encodeAs, fileType, pickTypes, type GgufQuant } from './quant-mix.js';
import type { ReadTensor } from './tensor-plan.js';
import { gpt2Tensors } from './tensors-gpt2.js';
import { llamaTensors } from './tensors-llama.js';
import { tokenizerMetadata } from './tokenizer-meta.js';
import { writeGguf, GGUF_ALIGNMENT, type GgufMetadata, type GgufTensor } from './writer.js';

export interface GgufExportOptions {
  /** The model folder whose config and tokenizer files describe the weights. */
  modelDir: string;
  config: ModelConfig;
  tokenizer: TextTokenizer;
  /** The weights by canonical Hugging Face name, as float32. */
  read: ReadTensor;
  quant: GgufQuant;
  out: string;
  name?: string;
  force?: boolean;
  onProgress?: (done: number, total: number) => void;
}

export interface GgufExportResult {
  files: string[];
  bytes: number;
  /** Tensors written per ggml type. */
  types: Partial<Record<GgmlType, number>>;
  warnings: string[];
}

export async function exportGguf(o: GgufExportOptions): Promise<GgufExportResult> {
  const arch = ggufArchitecture(o.config);
  const metadata: GgufMetadata = new Map();
  metadata.set('general.architecture', { type: 'string', value: arch });
  metadata.set('general.name', { type: 'string', value: o.name ?? basename(o.modelDir) });
  metadata.set('general.file_type', { type: 'u32', value: fileType[o.quant] });
  if (o.quant.startsWith('q')) {
    metadata.set('general.quantization_version', { type: 'u32', value: 2 });
  }
  metadata.set('general.alignment', { type: 'u32', value: GGUF_ALIGNMENT });
  for (const [k, v] of architectureMetadata(o.config)) metadata.set(k, v);
  const tokMeta = await tokenizerMetadata(o.modelDir, o.tokenizer, o.config.vocabSize);
  for (const [k, v] of tokMeta) metadata.set(k, v);

  const plan =
    o.config.family === 'gpt2'
      ? gpt2Tensors(o.config, o.read)
      : llamaTensors(o.config as LlamaConfig, o.read, arch as 'llama' | 'qwen2');
  const types = pickTypes(o.quant, plan, o.config.layers, o.config.tieWordEmbeddings);
  const tensors: GgufTensor[] = plan.map((t, i) => ({
    name: t.name,
    shape: t.shape,
    type: types[i]!,
    data: async () => encodeAs(types[i]!, await t.values()),
  }));
  const counts: Partial<Record<GgmlType, number>> = {};
  for (const t of types) counts[t] = (counts[t] ?? 0) + 1;

  const { bytes } = await writeGguf(o.out, metadata, tensors, {
    force: o.force,
    onProgress: o.onProgress,
  });

  const tokens = tokMeta.get('tokenizer.ggml.tokens')!.value as string[];
  const typeIds = tokMeta.get('tokenizer.ggml.token_type')!.value as Int32Array;
  const control = tokens.filter((_, id) => typeIds[id] === 3);
  const addBos = tokMeta.get('tokenizer.ggml.add_bos_token')!.value === true;
  const bosText = o.tokenizer.bosTokenId === undefined ? undefined : tokens[o.tokenizer.bosTokenId];
  const modelfile = ollamaModelfile(
    basename(o.out),
    o.tokenizer,
    (id) => tokens[id] ?? '',
    control,
    addBos ? bosText : undefined,
  );
  const modelfilePath = join(dirname(o.out), 'Modelfile');
  const temp = `${modelfilePath}.partial-${process.pid}`;
  try {
    await writeFile(temp, modelfile.text);
    await rename(temp, modelfilePath);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  return { files: [o.out, modelfilePath], bytes, types: counts, warnings: modelfile.warnings };
}
