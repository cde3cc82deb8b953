// The methods the engine trains with, as cards: what each trades, in one sentence, and what its
// paper fixed. The default rates are the engine's own (common/defaults.ts).
import type { MethodName } from '../../../common/methods.js';

export type { MethodName };

export interface MethodCard {
  name: MethodName;
  title: string;
  family: 'Fused backprop' | 'Zeroth-order' | 'First-order baseline';
  tradeoff: string;
  /** What the paper fixed (its learning rate is the default, DEFAULT_LR). */
  paper: string;
}

export const methodCards: MethodCard[] = [
  {
    name: 'lomo',
    title: 'LOMO',
    family: 'Fused backprop',
    tradeoff:
      'Full fine-tuning with one block’s gradients alive at a time: near-inference memory, plain SGD updates.',
    paper: 'Lv et al. 2023 (SGD, lr 1e-2, no momentum)',
  },
  {
    name: 'adalomo',
    title: 'AdaLomo',
    family: 'Fused backprop',
    tradeoff:
      'LOMO with factored second moments: adapts step sizes like Adam for a row and a column per matrix.',
    paper: 'Lv et al. 2023 (lr 1e-3, grouped update normalisation)',
  },
  {
    name: 'zo-sgd',
    title: 'ZO-SGD (MeZO)',
    family: 'Zeroth-order',
    tradeoff:
      'Two forward passes per step and no backward: inference memory, but many more steps to converge.',
    paper: 'Malladi et al. 2023 (lr 1e-6, μ 1e-3, one direction)',
  },
  {
    name: 'zo-sign',
    title: 'ZO-SGD-Sign',
    family: 'Zeroth-order',
    tradeoff: 'Steps by the sign of the estimate: steadier on noisy losses, coarser steps.',
    paper: 'ZO-Bench, Zhang et al. 2024',
  },
  {
    name: 'zo-mmt',
    title: 'ZO-SGD-MMT',
    family: 'Zeroth-order',
    tradeoff: 'Momentum over the estimates: smoother progress for one extra copy of the weights.',
    paper: 'ZO-Bench, Zhang et al. 2024 (momentum 0.9)',
  },
  {
    name: 'zo-cons',
    title: 'ZO-SGD-Cons',
    family: 'Zeroth-order',
    tradeoff: 'Only steps that lower the loss are kept: safer, one more forward pass per step.',
    paper: 'ZO-Bench, Zhang et al. 2024',
  },
  {
    name: 'zo-adam',
    title: 'ZO-Adam',
    family: 'Zeroth-order',
    tradeoff:
      'Adam’s moments over the estimates: faster progress for two extra copies of the weights.',
    paper: 'ZO-Bench, Zhang et al. 2024 (lr 1e-5)',
  },
  {
    name: 'forward-grad',
    title: 'Forward-Grad',
    family: 'Zeroth-order',
    tradeoff:
      'The exact directional derivative in one forward pass: less noise than finite differences, slower passes.',
    paper: 'Baydin et al. 2022',
  },
  {
    name: 'fo-sgd',
    title: 'FO-SGD',
    family: 'First-order baseline',
    tradeoff:
      'Plain backprop with SGD: every gradient held at once, the reference the others trade against.',
    paper: 'baseline',
  },
  {
    name: 'fo-adamw',
    title: 'FO-AdamW',
    family: 'First-order baseline',
    tradeoff:
      'Backprop with AdamW: the usual fine-tune, with gradients and two moment buffers (most memory).',
    paper: 'Loshchilov & Hutter 2019 (β 0.9/0.999)',
  },
];

/** A learning rate as people write it: 1e-6, 3e-3, 0.01. */
export function formatLr(lr: number): string {
  return lr >= 0.01 ? String(lr) : lr.toExponential();
}
