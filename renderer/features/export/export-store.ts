// Export slice: which run, where to (the run's exports/ folder unless the user names one inside
// it or picks a folder on the desktop), the job's progress, and the folder written.
import { create } from 'zustand';
import type { ErrorInfo } from '../../../engine/errors.js';
import type { ExportProgress, ExportResult } from '../../../main/contract.js';
import { call, errorInfo } from '../../lib/api.js';

interface ExportState {
  runId?: string;
  /** Empty: the run's own exports/ folder. */
  destination: string;
  /** Merged weights, or (for an adapter run) the PEFT adapter folder alone. */
  format: 'merged' | 'adapter';
  busy: boolean;
  startedAt?: number;
  /** How far the export under way has got (polled from main while busy). */
  progress?: ExportProgress;
  result?: ExportResult;
  error?: ErrorInfo;
  choose: (runId: string) => void;
  setDestination: (path: string) => void;
  setFormat: (format: 'merged' | 'adapter') => void;
  /** Desktop: the folder dialog; the export goes into a new folder inside the one picked. */
  pickFolder: (name: string) => Promise<void>;
  /** Export the chosen run in the chosen format. */
  exportRun: () => Promise<void>;
}

/** How often the bar asks main how far the export is. */
export const PROGRESS_POLL_MS = 150;

/** The bar's fraction (0..1), or undefined while the total is unknown. */
export function progressFraction(p: ExportProgress | undefined): number | undefined {
  if (!p?.total) return undefined;
  // Loading is the first tenth of the bar; writing the weights the rest.
  const part = Math.min(1, p.done / p.total);
  return p.phase === 'load' ? part * 0.1 : 0.1 + part * 0.9;
}

export const useExport = create<ExportState>((set, get) => ({
  destination: '',
  format: 'merged',
  busy: false,
  choose: (runId) => set({ runId, result: undefined, error: undefined, format: 'merged' }),
  setFormat: (format) => set({ format, error: undefined }),
  setDestination: (destination) => set({ destination, error: undefined }),
  pickFolder: async (name) => {
    try {
      const picked = await call('paths:pick', { kind: 'export' });
      if (picked) set({ destination: `${picked.path.replace(/[/\\]$/, '')}/${name}` });
    } catch (err) {
      set({ error: errorInfo(err) });
    }
  },
  exportRun: async () => {
    const { runId, destination, format } = get();
    if (!runId) return;
    set({
      busy: true,
      startedAt: Date.now(),
      error: undefined,
      result: undefined,
      progress: undefined,
    });
    const poll = setInterval(() => {
      void call('runs:export-progress', { runId })
        .then((progress) => {
          if (get().busy && progress) set({ progress });
        })
        .catch(() => undefined); // the export's own answer reports any failure
    }, PROGRESS_POLL_MS);
    try {
      const out = destination.trim();
      const result = await call('runs:export', {
        runId,
        ...(format === 'adapter' && { format }),
        ...(out !== '' && { out }),
      });
      set({ busy: false, result, progress: undefined });
    } catch (err) {
      set({ busy: false, error: errorInfo(err), progress: undefined });
    } finally {
      clearInterval(poll);
    }
  },
}));
