// The model_type values the engine implements (engine/models/: llama.ts serves the Llama family,
// gpt2.ts and opt.ts their own), and so the architectures `whetstone fixture` can write.

export const modelTypes = ['llama', 'mistral', 'qwen2', 'gpt2', 'opt'] as const;
export type ModelType = (typeof modelTypes)[number];
