// Export slice: which run, where to (the run's exports/ folder unless the user names one), the
// job's state, and the folder written.
import { create } from 'zustand';
import type { ErrorInfo } from '../../../engine/errors.js';
import type { ExportResult } from '../../../main/contract.js';
import { call, errorInfo } from '../../lib/api.js';

interface ExportState {
  runId?: string;
  /** Empty: the run's own exports/ folder. */
  destination: string;
  busy: boolean;
  startedAt?: number;
  result?: ExportResult;
  error?: ErrorInfo;
  choose: (runId: string) => void;
  setDestination: (path: string) => void;
  exportMerged: () => Promise<void>;
}

export const useExport = create<ExportState>((set, get) => ({
  destination: '',
  busy: false,
  choose: (runId) => set({ runId, result: undefined, error: undefined }),
  setDestination: (destination) => set({ destination }),
  exportMerged: async () => {
    const { runId, destination } = get();
    if (!runId) return;
    set({ busy: true, startedAt: Date.now(), error: undefined, result: undefined });
    try {
      const out = destination.trim();
      const result = await call('runs:export', { runId, ...(out !== '' && { out }) });
      set({ busy: false, result });
    } catch (err) {
      set({ busy: false, error: errorInfo(err) });
    }
  },
}));
