// Export slice: which run, where to (the run's exports/ folder unless the user names one inside
// it or picks a folder on the desktop), the job's progress, and the folder written.
import { create } from 'zustand';
import type { ErrorInfo } from '../../../engine/errors.js';
import type { ExportProgress, ExportResult } from '../../../main/contract.js';
import { call, errorInfo } from '../../lib/api.js';
import type { ggufQuantNames } from '../../../engine/protocol.js';

export type ExportFormat = 'merged' | 'adapter' | 'gguf';
export type GgufQuant = (typeof ggufQuantNames)[number];

/** The GGUF encodings offered, with what each is for. */
export const ggufQuantLabels: Record<GgufQuant, string> = {
  f16: 'F16 — full quality, half the size of F32',
  bf16: 'BF16 — full range, 16 bits',
  f32: 'F32 — exact, largest',
  q8_0: 'Q8_0 — 8.5 bits per weight, near lossless',
  q4_k_m: 'Q4_K_M — about 4.5–5 bits per weight, llama.cpp’s usual choice',
  q4_0: 'Q4_0 — 4.5 bits per weight, simplest 4-bit',
};

interface ExportState {
  runId?: string;
  /** Empty: the run's own exports/ folder. */
  destination: string;
  /** Merged weights, a GGUF file of them, or (for an adapter run) the PEFT adapter alone. */
  format: ExportFormat;
  /** GGUF: how the tensors are encoded. */
  quant: GgufQuant;
  busy: boolean;
  startedAt?: number;
  /** How far the export under way has got (polled from main while busy). */
  progress?: ExportProgress;
  result?: ExportResult;
  error?: ErrorInfo;
  choose: (runId: string) => void;
  setDestination: (path: string) => void;
  setFormat: (format: ExportFormat) => void;
  setQuant: (quant: GgufQuant) => void;
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
  quant: 'q4_k_m',
  busy: false,
  choose: (runId) => set({ runId, result: undefined, error: undefined, format: 'merged' }),
  setFormat: (format) => set({ format, error: undefined }),
  setQuant: (quant) => set({ quant, error: undefined }),
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
    const { runId, destination, format, quant } = get();
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
        ...(format !== 'merged' && { format }),
        ...(format === 'gguf' && { quant }),
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
