// Methods slice: the chosen method and its settings (paper defaults until changed), the device's
// memory (system:info) and the engine's estimate for this model and these settings.
import { create } from 'zustand';
import type { ErrorInfo } from '../../../engine/errors.js';
import type { EstimateResult, SystemInfo } from '../../../main/contract.js';
import { call, errorInfo } from '../../lib/api.js';
import { methodCards, type MethodName } from './catalog.js';

export interface Settings {
  steps: number;
  lr: number;
  batch: number;
  seq: number;
  gradAccum: number;
  schedule: 'constant' | 'linear' | 'cosine';
  warmup: number;
  weightDecay: number;
  checkpointEvery: number;
  checkpointing: boolean;
  zoEps: number;
  zoQueries: number;
  seed: number;
  /** Full fine-tuning, or adapters: LoRA, or LoRA over an NF4 base (QLoRA). */
  peft: 'full' | 'lora' | 'qlora';
}

const lrOf = (m: MethodName) => methodCards.find((c) => c.name === m)?.lr ?? 1e-3;

export const defaultSettings = (method: MethodName): Settings => ({
  steps: 60,
  lr: lrOf(method),
  batch: 4,
  seq: 64,
  gradAccum: 1,
  schedule: 'linear',
  warmup: 0,
  weightDecay: 0,
  checkpointEvery: 20,
  checkpointing: false,
  zoEps: 1e-3,
  zoQueries: 1,
  seed: 0,
  peft: 'full',
});

interface MethodsState {
  method: MethodName;
  settings: Settings;
  system?: SystemInfo;
  estimate?: EstimateResult;
  estimating: boolean;
  error?: ErrorInfo;
  choose: (method: MethodName) => void;
  set: <K extends keyof Settings>(key: K, value: Settings[K]) => void;
  loadSystem: () => Promise<void>;
  runEstimate: (model: string) => Promise<void>;
}

export const useMethods = create<MethodsState>((set, get) => ({
  method: 'lomo',
  settings: defaultSettings('lomo'),
  estimating: false,
  choose: (method) =>
    set((s) => ({ method, settings: { ...s.settings, lr: lrOf(method) }, estimate: undefined })),
  set: (key, value) =>
    set((s) => ({ settings: { ...s.settings, [key]: value }, estimate: undefined })),
  loadSystem: async () => {
    try {
      set({ system: await call('system:info', {}) });
    } catch (err) {
      set({ error: errorInfo(err) });
    }
  },
  runEstimate: async (model) => {
    const { method, settings } = get();
    set({ estimating: true, error: undefined });
    try {
      const estimate = await call('models:estimate', {
        model,
        method,
        batch: settings.batch,
        seq: settings.seq,
        checkpointing: settings.checkpointing,
        peft: settings.peft,
      });
      set({ estimate, estimating: false });
    } catch (err) {
      set({ estimating: false, error: errorInfo(err) });
    }
  },
}));
