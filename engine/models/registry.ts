// model_type -> architecture. To add one, write engine/models/<model_type>.ts (copy the nearest
// sibling) and list it here.
import { WhetstoneError } from '../errors.js';
import type { Architecture } from './architecture.js';
import type { ModelConfig } from './config.js';
import { encoder } from './encoder.js';
import { gpt2 } from './gpt2.js';
import { llama } from './llama.js';
import { opt } from './opt.js';

const architectures = [llama, gpt2, opt, encoder] as unknown as Architecture[];

/** The model_type values Whetstone can load. */
export const supportedModelTypes: readonly string[] = architectures.flatMap((a) => a.modelTypes);

/** The architecture implementing a model_type, or MODEL_UNSUPPORTED naming what is supported. */
export function architectureFor(modelType: unknown, file: string): Architecture<ModelConfig> {
  const found = architectures.find(
    (a) => typeof modelType === 'string' && a.modelTypes.includes(modelType),
  );
  if (found === undefined) {
    throw new WhetstoneError(
      'MODEL_UNSUPPORTED',
      `${file}: model_type "${String(modelType)}" is not supported (supported: ${supportedModelTypes.join(', ')}).`,
      'Pick a Llama-family (Llama, Mistral, Qwen2, SmolLM, TinyLlama), GPT-2, OPT, RoBERTa or BERT model.',
    );
  }
  return found;
}
