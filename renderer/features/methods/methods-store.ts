// Methods slice: the chosen method and its settings (paper defaults until changed), the device's
// memory (system:info) and the engine's estimate for this model and these settings.
import { create } from 'zustand';
import { defaultLr, defaultZoEps } from '../../../common/defaults.js';
import type { ErrorInfo } from '../../../engine/errors.js';
import type { TrainSpec } from '../../../engine/protocol.js';
import type { EstimateResult, SystemInfo } from '../../../main/contract.js';
import { call, errorInfo } from '../../lib/api.js';
import type { DataChoices } from '../datasets/datasets-store.js';
import type { StartSpec } from '../runs/runs-store.js';
import {
  defaultAdapterSettings,
  estimateFields,
  startFields,
  type AdapterSettings,
  type PeftKind,
} from './adapters.js';
import type { MethodName } from './catalog.js';

/** The method's settings the form holds: training fields by their protocol names and types. */
export type Settings = Required<
  Pick<
    TrainSpec,
    | 'steps'
    | 'lr'
    | 'batch'
    | 'seq'
    | 'gradAccum'
    | 'schedule'
    | 'warmup'
    | 'weightDecay'
    | 'checkpointEvery'
    | 'recompute'
    | 'zoEps'
    | 'zoQueries'
    | 'seed'
  >
>;

/** The learning rate and μ a method starts with for what trains (the engine's defaults). */
export const methodDefaults = (method: MethodName, peft: PeftKind) => ({
  lr: defaultLr(method, peft),
  zoEps: defaultZoEps(peft),
});

export const defaultSettings = (method: MethodName): Settings => ({
  steps: 60,
  lr: defaultLr(method),
  batch: 4,
  seq: 64,
  gradAccum: 1,
  schedule: 'linear',
  warmup: 0,
  weightDecay: 0,
  checkpointEvery: 20,
  recompute: false,
  zoEps: defaultZoEps(),
  zoQueries: 1,
  seed: 0,
});

/** The runs:start input for these choices: the method's settings and the adapter's own fields. */
export function buildStartSpec(
  s: { method: MethodName; settings: Settings; peft: PeftKind; adapter: AdapterSettings },
  model: string,
  data: string,
  choices: DataChoices,
): StartSpec {
  return {
    model,
    data,
    method: s.method,
    ...s.settings,
    ...startFields(s.peft, s.adapter),
    zoOneSided: false,
    zoSignForm: 'projected',
    evalFraction: 0.1,
    // Validation points often enough to draw a line, without slowing a long run.
    evalEvery: Math.min(100, Math.max(5, Math.round(s.settings.steps / 10))),
    ...(choices.format && { format: choices.format }),
    ...(choices.columns && { columns: choices.columns }),
    ...(choices.template && { template: choices.template }),
    ...(choices.encoding && { encoding: choices.encoding }),
  };
}

interface MethodsState {
  method: MethodName;
  settings: Settings;
  /** What trains: every weight, or an adapter of this kind with `adapter`'s settings. */
  peft: PeftKind;
  adapter: AdapterSettings;
  system?: SystemInfo;
  estimate?: EstimateResult;
  estimating: boolean;
  error?: ErrorInfo;
  choose: (method: MethodName) => void;
  set: <K extends keyof Settings>(key: K, value: Settings[K]) => void;
  choosePeft: (peft: PeftKind) => void;
  setAdapter: <K extends keyof AdapterSettings>(key: K, value: AdapterSettings[K]) => void;
  loadSystem: () => Promise<void>;
  runEstimate: (model: string) => Promise<void>;
}

export const useMethods = create<MethodsState>((set, get) => ({
  method: 'lomo',
  settings: defaultSettings('lomo'),
  peft: 'full',
  adapter: defaultAdapterSettings(),
  estimating: false,
  choose: (method) =>
    set((s) => ({
      method,
      settings: { ...s.settings, ...methodDefaults(method, s.peft) },
      estimate: undefined,
    })),
  set: (key, value) =>
    set((s) => ({ settings: { ...s.settings, [key]: value }, estimate: undefined })),
  choosePeft: (peft) =>
    set((s) => ({
      peft,
      settings: { ...s.settings, ...methodDefaults(s.method, peft) },
      estimate: undefined,
    })),
  setAdapter: (key, value) =>
    set((s) => ({ adapter: { ...s.adapter, [key]: value }, estimate: undefined })),
  loadSystem: async () => {
    try {
      set({ system: await call('system:info', {}) });
    } catch (err) {
      set({ error: errorInfo(err) });
    }
  },
  runEstimate: async (model) => {
    const { method, settings, peft, adapter } = get();
    set({ estimating: true, error: undefined });
    try {
      const estimate = await call('models:estimate', {
        model,
        method,
        batch: settings.batch,
        seq: settings.seq,
        recompute: settings.recompute,
        ...estimateFields(peft, adapter),
      });
      set({ estimate, estimating: false });
    } catch (err) {
      set({ estimating: false, error: errorInfo(err) });
    }
  },
}));
