// The model_type values the engine implements (engine/models/: llama.ts serves the Llama family,
// gpt2.ts and opt.ts their own, encoder.ts the masked LMs RoBERTa and BERT), and so the architectures `whetstone fixture` can write.

export const modelTypes = ['llama', 'mistral', 'qwen2', 'gpt2', 'opt', 'roberta', 'bert'] as const;
export type ModelType = (typeof modelTypes)[number];
