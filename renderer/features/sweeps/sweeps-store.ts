// Comparisons slice: the grid being built on the Method screen (methods, schemes, seeds, the
// template ablation), the comparisons main is running or has run, and the one shown with its
// tables. A running comparison is polled: its cells are ordinary runs, read from their folders.
import { create } from 'zustand';
import type { MethodName, PeftKind } from '../../../common/methods.js';
import type { ErrorInfo } from '../../../engine/errors.js';
import {
  SWEEP_FO_STEPS,
  SWEEP_METHODS,
  SWEEP_SCHEMES,
  sweepSteps,
} from '../../../common/sweep-grid.js';
import type { SweepReport, SweepRequest, SweepSummary } from '../../../main/contract.js';
import { call, errorInfo } from '../../lib/api.js';

export interface GridChoice {
  methods: MethodName[];
  schemes: PeftKind[];
  seeds: number;
  ablateTemplate: boolean;
  /** Steps of a backprop run; zeroth-order runs take ZO_STEP_FACTOR times as many. */
  foSteps: number;
}

interface SweepsState {
  grid: GridChoice;
  list: SweepSummary[];
  /** The comparison shown on the Runs screen, with its records and tables. */
  shown?: SweepReport;
  error?: ErrorInfo;
  toggle: <K extends 'methods' | 'schemes'>(key: K, name: GridChoice[K][number]) => void;
  setGrid: (change: Partial<Pick<GridChoice, 'seeds' | 'ablateTemplate' | 'foSteps'>>) => void;
  start: (
    request: Omit<SweepRequest, 'methods' | 'schemes' | 'seeds' | 'ablateTemplate' | 'steps'>,
  ) => Promise<string | undefined>;
  refresh: () => Promise<void>;
  show: (id: string) => Promise<void>;
  cancel: (id: string) => Promise<void>;
}

/** Cells the grid holds (the engine leaves out pairs that cannot train). */
export const gridSize = (g: GridChoice, notApplicable: number): number =>
  (g.methods.length * g.schemes.length - notApplicable) * g.seeds * (g.ablateTemplate ? 2 : 1);

const POLL_MS = 1000;
let poll: ReturnType<typeof setInterval> | undefined;

export const useSweeps = create<SweepsState>()((set, get) => ({
  grid: {
    methods: [...SWEEP_METHODS],
    schemes: [...SWEEP_SCHEMES],
    seeds: 1,
    ablateTemplate: false,
    foSteps: SWEEP_FO_STEPS,
  },
  list: [],
  toggle: (key, name) =>
    set((s) => {
      const list = s.grid[key] as string[];
      const next = list.includes(name) ? list.filter((n) => n !== name) : [...list, name];
      return { grid: { ...s.grid, [key]: next } };
    }),
  setGrid: (change) => set((s) => ({ grid: { ...s.grid, ...change } })),
  start: async (request) => {
    try {
      const { foSteps, ...grid } = get().grid;
      const steps = Object.fromEntries(grid.methods.map((m) => [m, sweepSteps(m, foSteps)]));
      const summary = await call('sweeps:start', { ...request, ...grid, steps });
      set({ error: undefined });
      await get().show(summary.id);
      return summary.id;
    } catch (err) {
      set({ error: errorInfo(err) });
      return undefined;
    }
  },
  refresh: async () => {
    try {
      set({ list: await call('sweeps:list', {}) });
    } catch (err) {
      set({ error: errorInfo(err) });
    }
  },
  show: async (id) => {
    try {
      const report = await call('sweeps:get', { sweepId: id });
      set({ shown: report, error: undefined });
      // Follow it while it runs; stop once it has ended (or another is shown).
      if (poll) clearInterval(poll);
      poll = undefined;
      if (report.status === 'running') {
        poll = setInterval(() => {
          if (get().shown?.id !== id) return;
          void call('sweeps:get', { sweepId: id }).then(
            (next) => {
              set({ shown: next });
              if (next.status !== 'running') {
                clearInterval(poll);
                poll = undefined;
                void get().refresh();
              }
            },
            (err: unknown) => set({ error: errorInfo(err) }),
          );
        }, POLL_MS);
      }
    } catch (err) {
      set({ error: errorInfo(err) });
    }
  },
  cancel: async (id) => {
    try {
      await call('sweeps:cancel', { sweepId: id });
    } catch (err) {
      set({ error: errorInfo(err) });
    }
  },
}));
