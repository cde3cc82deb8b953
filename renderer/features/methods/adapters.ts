// "What trains": every weight, or an adapter over a frozen base (engine/peft). Each card says what
// it trades and its paper's defaults (docs/methods.md#adapters-peft); the settings map one to one
// onto the engine's protocol fields (engine/protocol.ts, peftFields), and only the chosen kind's
// are sent.
import { ADALORA_DEFAULTS, LORA_DEFAULTS } from '../../../common/defaults.js';
import type { PeftKind } from '../../../common/methods.js';
import type { pagedOptimModes } from '../../../engine/protocol.js';
import type { ChannelInput } from '../../../main/contract.js';

export type { PeftKind };
export type PagedOptim = (typeof pagedOptimModes)[number];

export interface AdapterCard {
  kind: PeftKind;
  title: string;
  tradeoff: string;
  paper: string;
}

export const adapterCards: AdapterCard[] = [
  {
    kind: 'full',
    title: 'All weights',
    tradeoff: 'Every weight trains: the most capacity, and the method’s full memory.',
    paper: 'the method’s own settings',
  },
  {
    kind: 'lora',
    title: 'LoRA',
    tradeoff:
      'Small low-rank adapters beside a frozen base: gradients and optimizer state for under 1% of the weights.',
    paper: 'Hu et al. 2021 (r 8, α 16, q and v projections)',
  },
  {
    kind: 'qlora',
    title: 'QLoRA',
    tradeoff:
      'LoRA over a base stored in 4-bit NF4: the least weight memory, for some rounding in the frozen base.',
    paper: 'Dettmers et al. 2023 (NF4, every linear layer)',
  },
  {
    kind: 'adalora',
    title: 'AdaLoRA',
    tradeoff:
      'LoRA whose ranks move to the matrices that matter: a better use of the same budget, more work per step.',
    paper: 'Zhang et al. 2023 (init r 12 → target r 8, Δt 10, orth 0.5)',
  },
  {
    kind: 'prefix',
    title: 'Prefix tuning',
    tradeoff:
      'Trainable key/value prefixes in every layer: tiny and base untouched, but fewer tokens of context left.',
    paper: 'Li & Liang 2021 (5 virtual tokens)',
  },
  {
    kind: 'prompt',
    title: 'Prompt tuning',
    tradeoff:
      'Trainable embeddings before the input only: the fewest parameters, and the weakest on small models.',
    paper: 'Lester et al. 2021 (20 virtual tokens)',
  },
];

/** The adapter settings as the form holds them; empty optional fields use the engine's default. */
export interface AdapterSettings {
  loraR: number;
  loraAlpha: number;
  loraDropout: number;
  /** '' is the architecture's default (q and v for LoRA and AdaLoRA, all-linear for QLoRA). */
  loraTargets: string;
  rslora: boolean;
  adaloraInitR: number;
  adaloraTargetR: number;
  /** Undefined: 10% of the steps. */
  adaloraTinit?: number;
  /** Undefined: 30% of the steps. */
  adaloraTfinal?: number;
  adaloraDeltaT: number;
  adaloraOrthReg: number;
  /** Undefined: 5 for prefix tuning, 20 for prompt tuning. */
  virtualTokens?: number;
  /** '' is a random start. */
  promptInitText: string;
  pagedOptim: PagedOptim;
}

/** The engine's defaults (common/defaults.ts), as the form holds them. */
export const defaultAdapterSettings = (): AdapterSettings => ({
  loraR: LORA_DEFAULTS.r,
  loraAlpha: LORA_DEFAULTS.alpha,
  loraDropout: LORA_DEFAULTS.dropout,
  loraTargets: '',
  rslora: LORA_DEFAULTS.rslora,
  adaloraInitR: ADALORA_DEFAULTS.initR,
  adaloraTargetR: ADALORA_DEFAULTS.targetR,
  adaloraDeltaT: ADALORA_DEFAULTS.deltaT,
  adaloraOrthReg: ADALORA_DEFAULTS.orthReg,
  promptInitText: '',
  pagedOptim: 'auto',
});

type StartFields = Pick<
  ChannelInput<'runs:start'>,
  | 'peft'
  | 'rslora'
  | 'pagedOptim'
  | 'loraR'
  | 'loraAlpha'
  | 'loraDropout'
  | 'loraTargets'
  | 'adaloraInitR'
  | 'adaloraTargetR'
  | 'adaloraTinit'
  | 'adaloraTfinal'
  | 'adaloraDeltaT'
  | 'adaloraOrthReg'
  | 'virtualTokens'
  | 'promptInitText'
>;

/** The protocol fields a run of `kind` is started with: the kind's own settings and no others. */
export function startFields(kind: PeftKind, a: AdapterSettings): StartFields {
  if (kind === 'full') return { peft: 'full', rslora: false, pagedOptim: 'auto' };
  const base = { peft: kind, pagedOptim: a.pagedOptim };
  const targets = a.loraTargets.trim();
  if (kind === 'lora' || kind === 'qlora') {
    return {
      ...base,
      loraR: a.loraR,
      loraAlpha: a.loraAlpha,
      loraDropout: a.loraDropout,
      ...(targets !== '' && { loraTargets: targets }),
      rslora: a.rslora,
    };
  }
  if (kind === 'adalora') {
    return {
      ...base,
      rslora: false,
      loraAlpha: a.loraAlpha,
      loraDropout: a.loraDropout,
      ...(targets !== '' && { loraTargets: targets }),
      adaloraInitR: a.adaloraInitR,
      adaloraTargetR: a.adaloraTargetR,
      ...(a.adaloraTinit !== undefined && { adaloraTinit: a.adaloraTinit }),
      ...(a.adaloraTfinal !== undefined && { adaloraTfinal: a.adaloraTfinal }),
      adaloraDeltaT: a.adaloraDeltaT,
      adaloraOrthReg: a.adaloraOrthReg,
    };
  }
  const text = a.promptInitText.trim();
  return {
    ...base,
    rslora: false,
    ...(a.virtualTokens !== undefined && { virtualTokens: a.virtualTokens }),
    ...(text !== '' && { promptInitText: text }),
  };
}

type EstimateFields = Pick<
  ChannelInput<'models:estimate'>,
  'peft' | 'loraR' | 'loraTargets' | 'adaloraInitR' | 'virtualTokens' | 'pagedOptim'
>;

/** What changes the memory estimate: the adapter's rank, where it sits, its virtual tokens, and
 * where its optimizer state lives. */
export function estimateFields(kind: PeftKind, a: AdapterSettings): EstimateFields {
  const s = startFields(kind, a);
  return {
    peft: kind,
    ...(s.loraR !== undefined && { loraR: s.loraR }),
    ...(s.loraTargets !== undefined && { loraTargets: s.loraTargets }),
    ...(s.adaloraInitR !== undefined && { adaloraInitR: s.adaloraInitR }),
    ...(s.virtualTokens !== undefined && { virtualTokens: s.virtualTokens }),
    ...(kind !== 'full' && { pagedOptim: s.pagedOptim }),
  };
}

/** A key that changes exactly when the estimate's inputs do (the screen re-estimates on it). */
export const estimateKey = (kind: PeftKind, a: AdapterSettings): string =>
  JSON.stringify(estimateFields(kind, a));

/** "lomo + LoRA", or the method alone for a run that trained every weight. */
export function methodLabel(method: string | undefined, peft: string | undefined): string {
  if (method === undefined) return '—';
  const card = adapterCards.find((c) => c.kind === peft);
  return card && card.kind !== 'full' ? `${method} + ${card.title}` : method;
}
