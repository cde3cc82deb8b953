// The training methods and adapter kinds by name: the engine's protocol validates with these
// lists, and the studio offers them.

export const zoMethodNames = [
  'zo-sgd',
  'zo-sign',
  'zo-mmt',
  'zo-cons',
  'zo-adam',
  'forward-grad',
] as const;
export const methodNames = ['fo-sgd', 'fo-adamw', 'lomo', 'adalomo', ...zoMethodNames] as const;
export type MethodName = (typeof methodNames)[number];

/** The methods that train with forward passes only (no backprop, no gradient clipping). */
export const isZerothOrder = (method: string): boolean =>
  (zoMethodNames as readonly string[]).includes(method);

/** What trains: every weight, or an adapter of one of these kinds (docs/methods.md#adapters-peft). */
export const peftKinds = ['full', 'lora', 'qlora', 'adalora', 'prefix', 'prompt'] as const;
export type PeftKind = (typeof peftKinds)[number];
export type PromptKind = Extract<PeftKind, 'prefix' | 'prompt'>;

/** The kinds that train low-rank matrices beside the base's linear layers. */
export const isLoraKind = (kind: string): kind is 'lora' | 'qlora' | 'adalora' =>
  kind === 'lora' || kind === 'qlora' || kind === 'adalora';

/** The kinds that train virtual tokens instead of weights. */
export const isPromptKind = (kind: string): kind is PromptKind =>
  kind === 'prefix' || kind === 'prompt';

/** Methods whose backward runs part by part (LOMO's fused update): no use for prefix or prompt. */
export const isBlockwise = (method: string): boolean => method === 'lomo' || method === 'adalomo';
