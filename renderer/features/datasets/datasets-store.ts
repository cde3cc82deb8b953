// Datasets slice: the file chosen (dropped, picked, typed or a sample), what the engine made of
// it (format, confidence, preview with loss masks, token lengths, problems) and the user's
// overrides (format, column mapping, template, text encoding), which re-run the inspection.
import { create } from 'zustand';
import type { ErrorInfo } from '../../../engine/errors.js';
import type { TextEncoding } from '../../../engine/data/encoding.js';
import type { FormatName } from '../../../engine/data/formats.js';
import type { InspectReport } from '../../../engine/data/inspect.js';
import type { ExampleEntry } from '../../../main/examples.js';
import { call, errorInfo } from '../../lib/api.js';

/**
 * Rows the preview reads: enough for format detection and length statistics, and a 1 GiB file
 * still answers in about a second. Training reads the whole file.
 */
export const PREVIEW_ROW_LIMIT = 2000;

/** main/contract.ts's MAX_UPLOAD_BASE64, repeated: the renderer imports only types from main. */
const MAX_UPLOAD_BASE64 = 1000 * 1000;

export interface DataChoices {
  format?: FormatName;
  /** "role=column,..." as the engine takes it. */
  columns?: string;
  template?: string;
  /** The file's text encoding when it is not UTF-8. */
  encoding?: TextEncoding;
}

interface DatasetsState {
  samples: ExampleEntry[];
  path?: string;
  report?: InspectReport;
  choices: DataChoices;
  loading: boolean;
  error?: ErrorInfo;
  loadSamples: () => Promise<void>;
  /** A dropped or chosen File: its path on the desktop, its bytes in a browser. */
  addFile: (file: File, model?: string) => Promise<void>;
  /** A typed path (allowed first) or a listed sample. */
  open: (path: string, model?: string) => Promise<void>;
  pick: (model?: string) => Promise<void>;
  setChoices: (choices: DataChoices, model?: string) => Promise<void>;
  /** Read the file again (with the model's tokenizer for token statistics and masks). */
  inspect: (model?: string) => Promise<void>;
}

async function toBase64(file: File): Promise<string> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

export const useDatasets = create<DatasetsState>((set, get) => ({
  samples: [],
  choices: {},
  loading: false,
  loadSamples: async () => {
    try {
      set({ samples: (await call('app:examples', {})).datasets });
    } catch (err) {
      set({ error: errorInfo(err) });
    }
  },
  addFile: async (file, model) => {
    set({ loading: true, error: undefined });
    try {
      const desktopPath = window.whetstone?.pathForFile(file);
      if (desktopPath) return await get().open(desktopPath, model);
      const base64 = await toBase64(file);
      if (base64.length > MAX_UPLOAD_BASE64) {
        throw new Error(
          `${file.name} is too large to send through the browser (${Math.round(file.size / 1024)} KB).`,
        );
      }
      const picked = await call('datasets:upload', { name: file.name, base64 });
      set({ path: picked.path, choices: {} });
      await get().inspect(model);
    } catch (err) {
      const info = errorInfo(err);
      set({
        loading: false,
        error:
          info.code === 'INTERNAL'
            ? { ...info, hint: 'Type the file’s path instead (it is read where the studio runs).' }
            : info,
      });
    }
  },
  open: async (path, model) => {
    set({ loading: true, error: undefined });
    try {
      const picked = await call('paths:add', { kind: 'dataset', path: path.trim() });
      set({ path: picked.path, choices: {} });
      await get().inspect(model);
    } catch (err) {
      set({ loading: false, error: errorInfo(err) });
    }
  },
  pick: async (model) => {
    try {
      const picked = await call('paths:pick', { kind: 'dataset' });
      if (picked) {
        set({ path: picked.path, choices: {} });
        await get().inspect(model);
      }
    } catch (err) {
      set({ error: errorInfo(err) });
    }
  },
  setChoices: async (choices, model) => {
    set({ choices });
    await get().inspect(model);
  },
  inspect: async (model) => {
    const { path, choices } = get();
    if (!path) return;
    set({ loading: true, error: undefined });
    try {
      const report = await call('data:inspect', {
        data: path,
        rows: 4,
        limit: PREVIEW_ROW_LIMIT,
        ...(model && { model }),
        ...(choices.format && { format: choices.format }),
        ...(choices.columns && { columns: choices.columns }),
        ...(choices.template && { template: choices.template }),
        ...(choices.encoding && { encoding: choices.encoding }),
      });
      set({ report, loading: false });
    } catch (err) {
      set({ loading: false, error: errorInfo(err), report: undefined });
    }
  },
}));
