// Runs slice: the history (summaries), the live and past series of each watched run, the run
// shown on the Run screen, the runs picked for comparison, and the chart preferences.
import { create } from 'zustand';
import { statusAfter } from '../../../common/run-status.js';
import type { ErrorInfo } from '../../../engine/errors.js';
import type {
  ChannelInput,
  ClusterJobSummary,
  RunEvent,
  RunStatus,
  RunStreamMessage,
  RunSummary,
} from '../../../main/contract.js';
import { call, errorInfo, watchRun } from '../../lib/api.js';
import { applyEvents, emptySeries, type RunSeries } from './series.js';

export interface RunView {
  series: RunSeries;
  status: RunStatus;
  /** The run's error, from its events or from the stream. */
  error?: ErrorInfo;
  /** A cluster run's job and Slurm's latest word on it. */
  cluster?: ClusterJobSummary;
}

const finalError = (events: RunEvent[]): ErrorInfo | undefined => {
  const e = [...events].reverse().find((x) => x.type === 'error');
  if (!e) return undefined;
  return {
    code: (e.code as ErrorInfo['code'] | undefined) ?? 'INTERNAL',
    message: typeof e.message === 'string' ? e.message : 'The run failed.',
    ...(typeof e.hint === 'string' && { hint: e.hint }),
  };
};

/** A stream message folded into a run's view (catch-up replaces, live batches append). */
export function reduceMessage(view: RunView | undefined, message: RunStreamMessage): RunView {
  if (message.kind === 'error') {
    return { series: view?.series ?? emptySeries(), status: 'failed', error: message.error };
  }
  // History comes with main's verdict (an interrupted run is failed without an error event);
  // live batches move the status on by their own events.
  const status = message.catchUp
    ? message.status
    : statusAfter(view?.status ?? message.status, message.events);
  const series = applyEvents(
    message.catchUp || !view ? emptySeries() : view.series,
    message.events,
  );
  const error = status === 'failed' ? (finalError(message.events) ?? view?.error) : undefined;
  const cluster = message.cluster ?? view?.cluster;
  return { series, status, ...(error && { error }), ...(cluster && { cluster }) };
}

export type StartSpec = ChannelInput<'runs:start'>;

interface RunsState {
  list: RunSummary[];
  views: Record<string, RunView>;
  current?: string;
  compare: string[];
  smoothing: number;
  logScale: boolean;
  error?: ErrorInfo;
  refresh: () => Promise<void>;
  start: (spec: StartSpec) => Promise<string | undefined>;
  /** Start on a Slurm cluster profile instead of this machine. */
  submit: (spec: StartSpec, cluster: string) => Promise<string | undefined>;
  cancel: (runId: string) => Promise<void>;
  /** Runs asked to pause or continue whose engine has not answered yet (it waits for a step). */
  pending: Record<string, 'pause' | 'continue'>;
  /** Hold a run at its next step boundary, or let it go on. */
  pause: (runId: string, paused: boolean) => Promise<void>;
  resume: (runId: string) => Promise<void>;
  /** Follow a run's events (history first); resubscribes after a resume. */
  watch: (runId: string) => void;
  show: (runId: string) => void;
  toggleCompare: (runId: string) => void;
  /** Desktop: show the run's folder in the file manager. */
  openFolder: (runId: string) => Promise<void>;
  setSmoothing: (v: number) => void;
  setLogScale: (v: boolean) => void;
}

const stops = new Map<string, () => void>();

const without = <T>(record: Record<string, T>, key: string): Record<string, T> =>
  Object.fromEntries(Object.entries(record).filter(([k]) => k !== key));

/** Whether `status` answers a pending pause or continue. */
export function settles(pending: 'pause' | 'continue' | undefined, status: RunStatus): boolean {
  if (pending === undefined) return false;
  if (status !== 'running' && status !== 'paused' && status !== 'starting') return true;
  return pending === 'pause' ? status === 'paused' : status === 'running';
}
const FLUSH_MS = 250;

export const useRuns = create<RunsState>((set, get) => {
  /** Start a run one way or the other: on success it becomes the current run, watched. */
  const startWith = async (begin: () => Promise<RunSummary>): Promise<string | undefined> => {
    set({ error: undefined });
    try {
      const run = await begin();
      set((s) => ({ current: run.id, list: [run, ...s.list.filter((r) => r.id !== run.id)] }));
      get().watch(run.id);
      return run.id;
    } catch (err) {
      set({ error: errorInfo(err) });
      return undefined;
    }
  };
  return {
    list: [],
    views: {},
    compare: [],
    pending: {},
    smoothing: 0.6,
    logScale: false,
    refresh: async () => {
      try {
        set({ list: await call('runs:list', {}), error: undefined });
      } catch (err) {
        set({ error: errorInfo(err) });
      }
    },
    start: (spec) => startWith(() => call('runs:start', spec)),
    submit: (spec, cluster) => startWith(() => call('runs:submit', { ...spec, cluster })),
    cancel: async (runId) => {
      try {
        await call('runs:cancel', { runId });
      } catch (err) {
        set({ error: errorInfo(err) });
      }
    },
    pause: async (runId, paused) => {
      set((s) => ({
        error: undefined,
        pending: { ...s.pending, [runId]: paused ? 'pause' : 'continue' },
      }));
      try {
        await call('runs:pause', { runId, paused });
      } catch (err) {
        set((s) => ({ error: errorInfo(err), pending: without(s.pending, runId) }));
      }
    },
    resume: async (runId) => {
      set({ error: undefined });
      try {
        await call('runs:resume', { runId });
        stops.get(runId)?.();
        stops.delete(runId);
        get().watch(runId);
        void get().refresh();
      } catch (err) {
        set({ error: errorInfo(err) });
      }
    },
    watch: (runId) => {
      if (stops.has(runId)) return;
      // Live batches arrive ~20 times a second; charts redraw at most every FLUSH_MS.
      let pending: RunStreamMessage[] = [];
      let timer: ReturnType<typeof setTimeout> | undefined;
      const flush = () => {
        if (timer !== undefined) clearTimeout(timer);
        timer = undefined;
        const before = get().views[runId];
        const view = pending.reduce<RunView | undefined>(reduceMessage, before)!;
        pending = [];
        set((s) => ({
          views: { ...s.views, [runId]: view },
          // The engine answered (paused, running again, or ended): nothing is pending any more.
          pending: settles(s.pending[runId], view.status) ? without(s.pending, runId) : s.pending,
        }));
        if (view.status !== before?.status) void get().refresh();
      };
      const stop = watchRun(runId, (message) => {
        pending.push(message);
        // History draws at once; live batches wait for the next flush.
        if (message.kind === 'events' && message.catchUp) flush();
        else timer ??= setTimeout(flush, FLUSH_MS);
      });
      stops.set(runId, () => {
        if (timer !== undefined) clearTimeout(timer);
        stop();
      });
    },
    show: (runId) => {
      set({ current: runId });
      get().watch(runId);
    },
    toggleCompare: (runId) => {
      const compare = get().compare;
      set({
        compare: compare.includes(runId)
          ? compare.filter((id) => id !== runId)
          : [...compare, runId],
      });
      get().watch(runId);
    },
    openFolder: async (runId) => {
      try {
        await call('runs:open-folder', { runId });
      } catch (err) {
        set({ error: errorInfo(err) });
      }
    },
    setSmoothing: (smoothing) => set({ smoothing }),
    setLogScale: (logScale) => set({ logScale }),
  };
});
