// Models slice: the folders on offer (examples, recent, Hugging Face cache) and the one chosen,
// with what the engine read from it (or why it refused it).
import { create } from 'zustand';
import type { ErrorInfo } from '../../../engine/errors.js';
import type { ModelEntry, ModelInfo } from '../../../main/contract.js';
import type { ExampleEntry } from '../../../main/examples.js';
import { call, errorInfo } from '../../lib/api.js';

interface ModelsState {
  examples: ExampleEntry[];
  recent: ModelEntry[];
  hfCache: ModelEntry[];
  listError?: ErrorInfo;
  path?: string;
  info?: ModelInfo;
  loading: boolean;
  error?: ErrorInfo;
  /** Fill the lists (examples, recent, cache). */
  load: () => Promise<void>;
  /** A typed path or a picked folder: allowed first, then read. */
  open: (path: string) => Promise<void>;
  /** The native folder dialog (desktop only). */
  pick: () => Promise<void>;
  /** A listed folder (already allowed). */
  select: (path: string) => Promise<void>;
}

export const useModels = create<ModelsState>((set, get) => ({
  examples: [],
  recent: [],
  hfCache: [],
  loading: false,
  load: async () => {
    try {
      const [examples, recent, hfCache] = await Promise.all([
        call('app:examples', {}),
        call('models:recent', {}),
        call('models:hf-cache', {}),
      ]);
      set({ examples: examples.models, recent, hfCache, listError: undefined });
    } catch (err) {
      set({ listError: errorInfo(err) });
    }
  },
  open: async (path) => {
    set({ loading: true, error: undefined });
    try {
      const picked = await call('paths:add', { kind: 'model', path: path.trim() });
      await get().select(picked.path);
    } catch (err) {
      set({ loading: false, error: errorInfo(err), info: undefined, path: undefined });
    }
  },
  pick: async () => {
    try {
      const picked = await call('paths:pick', { kind: 'model' });
      if (picked) await get().select(picked.path);
    } catch (err) {
      set({ error: errorInfo(err) });
    }
  },
  select: async (path) => {
    set({ loading: true, error: undefined });
    try {
      const info = await call('models:info', { model: path });
      set({ path, info, loading: false });
      void call('models:recent', {}).then((recent) => set({ recent }));
    } catch (err) {
      set({ loading: false, error: errorInfo(err), info: undefined, path: undefined });
    }
  },
}));
