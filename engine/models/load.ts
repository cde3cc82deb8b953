// Loading a Hugging Face model folder: config.json picks the architecture, the checkpoint is
// checked against every tensor the config implies (names and shapes) before any data is read,
// then tensors are read one at a time so loading never holds the model twice.
import { stat } from 'node:fs/promises';
import { WhetstoneError } from '../errors.js';
import { tf } from '../backend/tf.js';
import { isFloatDtype } from '../io/dtypes.js';
import { openWeights, type WeightSource } from '../io/model-weights-source.js';
import type { Architecture } from './architecture.js';
import type { CausalLM, ModelOptions } from './causal-lm.js';
import { readConfigJson, type ModelConfig } from './config.js';
import { Params } from './params.js';
import { architectureFor } from './registry.js';

/** A model folder whose checkpoint matches its config; the weights are not read yet. */
export interface CheckedModel {
  dir: string;
  arch: Architecture;
  config: ModelConfig;
  /** Canonical name -> shape, for every tensor the model uses. */
  shapes: Map<string, number[]>;
  /** Canonical name -> name in the checkpoint. */
  stored: (canonical: string) => string;
  source: WeightSource;
}

/** Read config.json and validate the checkpoint's tensors. The caller closes `source`. */
export async function checkModel(dir: string): Promise<CheckedModel> {
  const { raw, file } = await readConfigJson(dir);
  if (raw.quantization_config !== undefined) {
    const method = (raw.quantization_config as { quant_method?: string }).quant_method ?? 'unknown';
    throw new WhetstoneError(
      'MODEL_UNSUPPORTED',
      `${file}: the checkpoint is pre-quantized (${method}); Whetstone loads full-precision weights.`,
      'Use the original float16/bfloat16/float32 release of the model; QLoRA quantizes it for you.',
    );
  }
  const arch = architectureFor(raw.model_type, file);
  const config = arch.parseConfig(raw, file);
  const shapes = arch.tensorShapes(config);
  const source = await openWeights(dir);
  try {
    const stored = arch.storedName(new Set(source.names()));
    for (const [name, shape] of shapes) verifyTensor(source, stored(name), shape, config);
    return { dir, arch, config, shapes, stored, source };
  } catch (err) {
    await source.close();
    throw err;
  }
}

function verifyTensor(
  source: WeightSource,
  name: string,
  shape: number[],
  config: ModelConfig,
): void {
  if (!source.has(name)) {
    throw new WhetstoneError(
      'TENSOR_MISSING',
      `${source.files.join(', ')} has no tensor "${name}", which config.json (${config.modelType}, ` +
        `${config.layers} layers) requires.`,
      'The weights do not match config.json: re-download or re-export the model folder.',
    );
  }
  const info = source.info(name);
  if (info.shape.join(',') !== shape.join(',')) {
    throw new WhetstoneError(
      'TENSOR_SHAPE_MISMATCH',
      `${info.file}: tensor "${name}" has shape [${info.shape.join(', ')}], but config.json implies [${shape.join(', ')}].`,
      'The weights do not match config.json: re-download or re-export the model folder.',
    );
  }
  if (!isFloatDtype(info.dtype)) {
    throw new WhetstoneError(
      'MODEL_UNSUPPORTED',
      `${info.file}: tensor "${name}" is stored as ${info.dtype}; model weights must be floating point.`,
      'Quantized checkpoints (GPTQ, AWQ) are not supported: use the full-precision release.',
    );
  }
}

/** Number of scalar parameters (a tied embedding counted once). */
export function parameterCount(shapes: Map<string, number[]>): number {
  let n = 0;
  for (const shape of shapes.values()) n += shape.reduce((a, b) => a * b, 1);
  return n;
}

/** Bytes on disk of the checkpoint files. */
export async function diskBytes(source: WeightSource): Promise<number> {
  const sizes = await Promise.all(source.files.map(async (f) => (await stat(f)).size));
  return sizes.reduce((a, b) => a + b, 0);
}

export interface LoadOptions extends ModelOptions {
  /** Called after each tensor is loaded. */
  onTensor?: (loaded: number, total: number) => void;
}

/** Load a model folder onto the current backend. */
export async function loadModel(dir: string, opts: LoadOptions = {}): Promise<CausalLM> {
  const checked = await checkModel(dir);
  const params = new Params();
  try {
    let loaded = 0;
    for (const [name, shape] of checked.shapes) {
      const tensor = await checked.source.read(checked.stored(name));
      params.add(name, tf.tensor(tensor.values, shape, 'float32'));
      opts.onTensor?.(++loaded, checked.shapes.size);
    }
  } catch (err) {
    params.dispose();
    throw err;
  } finally {
    await checked.source.close();
  }
  return checked.arch.create(checked.config, params, opts);
}
