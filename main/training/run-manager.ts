// Live runs: starts training and resume jobs in their own engine processes, relays their event
// batches to every watcher (history first, then live), records crashes in the run folder, and
// on start-up finds runs whose engine outlived a previous host and follows them from the file.
// Runs on a Slurm cluster are live here too; sending and following them is cluster-runs.ts.
import type { ErrorInfo } from '../../engine/errors.js';
import { WhetstoneError } from '../../engine/errors.js';
import { createLogger } from '../../engine/log.js';
import { ClusterProfiles } from '../../engine/cluster/profile.js';
import type { JobState } from '../../engine/cluster/slurm.js';
import type { ClusterRecord } from '../../engine/cluster/submit.js';
import { runStatus, statusOf } from '../../common/run-status.js';
import type { RunEvent, RunListener, RunStatus, RunSummary } from '../contract.js';
import { EngineJob, type FinalEvent } from '../hosting/engine-job.js';
import type { EngineLauncher } from '../hosting/engine-process.js';
import { exitError } from '../hosting/exit-error.js';
import { ClusterRuns, clusterSummary } from './cluster-runs.js';
import { followEngine } from './follow-engine.js';
import { engineAlive } from './process-alive.js';
import type { RunStore } from './run-store.js';
import { summarize } from './run-summary.js';

const log = createLogger('runs');

/** A cluster run's job for its watchers. */
const clusterOf = (run: LiveRun) =>
  run.cluster ? { cluster: clusterSummary(run.cluster.record, run.cluster.state) } : {};

/** A run some engine is working on: hosted here (job) or found running at start-up (pid). */
interface LiveRun {
  id: string;
  status: RunStatus;
  /** Every event so far, the folder's earlier ones included: what a new watcher catches up on. */
  history: RunEvent[];
  listeners: Set<RunListener>;
  job?: EngineJob;
  pid?: number;
  /** A run on a Slurm cluster: its record and Slurm's latest word on its job. */
  cluster?: { record: ClusterRecord; state?: JobState };
  done: Promise<void>;
}

export interface RunManagerOptions {
  /** How often a followed run's events file is read (ms). */
  followIntervalMs?: number;
  /** How often a cluster run's events and Slurm state are read (ms). */
  clusterIntervalMs?: number;
  /** The cluster profiles runs can be sent to. */
  clusters?: ClusterProfiles;
}

export class RunManager {
  private readonly live = new Map<string, LiveRun>();
  private readonly followMs: number;
  /** Runs on Slurm clusters: submitted, adopted, resubmitted, cancelled, followed. */
  private readonly clusterRuns: ClusterRuns;
  readonly clusters: ClusterProfiles;

  constructor(
    readonly store: RunStore,
    private readonly launch: EngineLauncher,
    options: RunManagerOptions = {},
  ) {
    this.followMs = options.followIntervalMs ?? 100;
    this.clusters = options.clusters ?? new ClusterProfiles();
    this.clusterRuns = new ClusterRuns(
      store,
      this.clusters,
      options.clusterIntervalMs ?? 2000,
      (id, record, history) => this.followClusterRun(id, record, history),
    );
  }

  /**
   * Start-up: a run without a final event is either still being trained by an engine that
   * outlived the previous host (followed from its file) or was interrupted (marked failed).
   */
  async recover(): Promise<void> {
    for (const id of await this.store.ids()) {
      if (this.live.has(id)) continue;
      const stored = await this.store.read(id);
      if (runStatus(stored.events, false) !== 'failed' || stored.events.at(-1)?.type === 'error')
        continue;
      const record = await this.store.readCluster(id);
      if (record) {
        this.followClusterRun(id, record, stored.events);
        continue;
      }
      const host = await this.store.readHost(id);
      if (host && (await engineAlive(host.pid))) {
        log.info(`run ${id}: its engine (pid ${host.pid}) is still running; following it`);
        this.follow(id, host.pid, stored.events);
      } else {
        await this.markInterrupted(id);
      }
    }
  }

  async list(): Promise<RunSummary[]> {
    const ids = await this.store.ids();
    return Promise.all(ids.map((id) => this.summary(id)));
  }

  async summary(id: string): Promise<RunSummary & { spec: unknown }> {
    const stored = await this.store.read(id);
    const live = this.live.get(id);
    const base = summarize({
      ...stored,
      live: live !== undefined,
      ...(await this.checkpoint(id)),
    });
    const record = live?.cluster?.record ?? (await this.store.readCluster(id));
    const state =
      live?.cluster?.state ??
      (record?.state ? { state: record.state, reason: record.reason } : undefined);
    const cluster = record && clusterSummary(record, state);
    return {
      ...base,
      ...(live && { status: live.status }),
      ...(cluster && { cluster }),
      spec: stored.spec,
    };
  }

  /** Send a training run to a cluster and follow it like a local run (cluster-runs.ts). */
  async submit(
    spec: Record<string, unknown> & { method: string },
    clusterName: string,
  ): Promise<RunSummary> {
    return this.summary(await this.clusterRuns.submit(spec, clusterName));
  }

  /**
   * Send a sweep's cells to a cluster as one job array; each cell is a run here, followed like
   * any other, so the sweep's table fills in as tasks finish. Resolves with the cells' runs in order.
   */
  async submitArray(
    cells: { key: string; spec: Record<string, unknown> }[],
    clusterName: string,
    name?: string,
  ): Promise<(RunSummary & { key: string })[]> {
    const runs = await this.clusterRuns.submitArray(cells, clusterName, name);
    return Promise.all(runs.map(async ({ id, key }) => ({ ...(await this.summary(id)), key })));
  }

  /** Follow a run `whetstone submit` sent to a cluster (its folder there, or its name). */
  async adopt(clusterName: string, remoteDir: string): Promise<RunSummary> {
    return this.summary(await this.clusterRuns.adopt(clusterName, remoteDir));
  }

  /** Start a training run in a new folder; `spec` is a train JobSpec without `out`. */
  async start(spec: Record<string, unknown> & { method: string }): Promise<RunSummary> {
    const { id, dir } = await this.store.create(spec.method);
    this.host(id, { ...spec, kind: 'train', out: dir }, []);
    return this.summary(id);
  }

  /** Continue a run from its last checkpoint, in a new engine process. */
  async resume(id: string, steps?: number): Promise<RunSummary> {
    if (this.live.has(id)) {
      throw new WhetstoneError('BAD_ARGUMENT', `Run ${id} is already running.`);
    }
    const stored = await this.store.read(id);
    const record = await this.store.readCluster(id);
    if (record) {
      await this.clusterRuns.resume(id, record, stored.events);
      return this.summary(id);
    }
    if ((await this.store.checkpointStep(id)) === undefined) {
      throw new WhetstoneError(
        'BAD_ARGUMENT',
        `Run ${id} has no checkpoint yet, so there is nothing to resume.`,
        'Start it again as a new run.',
      );
    }
    // The run's backend travels with the job, so the host can pick the engine's kind for it.
    const backend = (stored.spec as { backend?: unknown } | undefined)?.backend;
    const job = {
      kind: 'resume',
      run: stored.dir,
      ...(steps !== undefined && { steps }),
      ...(typeof backend === 'string' && { backend }),
    };
    this.host(id, job, stored.events);
    return this.summary(id);
  }

  /** Ask a run to stop at its next step boundary (it writes a checkpoint first). */
  async cancel(id: string): Promise<RunSummary> {
    const run = this.live.get(id);
    if (!run) throw new WhetstoneError('BAD_ARGUMENT', `Run ${id} is not running.`);
    if (run.cluster) await this.clusterRuns.cancel(run.cluster.record);
    else if (run.job) run.job.cancel();
    else if (run.pid !== undefined) process.kill(run.pid, 'SIGINT'); // engine/host/child.ts
    return this.summary(id);
  }

  /**
   * Hold a run at its next step boundary, its engine and memory kept, or let it go on. The status
   * follows the engine's own pause and continue events, so every watcher (and the run folder)
   * sees it.
   */
  async pause(id: string, paused: boolean): Promise<RunSummary> {
    const run = this.live.get(id);
    if (!run) throw new WhetstoneError('BAD_ARGUMENT', `Run ${id} is not running.`);
    if (!run.job) {
      throw new WhetstoneError(
        'BAD_ARGUMENT',
        `Run ${id} was started by an earlier Whetstone, whose channel to its engine is gone, so it cannot be paused from here.`,
        'Cancel it (it writes a checkpoint) and resume it: the resumed run can be paused.',
      );
    }
    if (paused) run.job.pause();
    else run.job.continue();
    return this.summary(id);
  }

  /** Send `id`'s history, then its live batches; a finished run gets its history only. */
  watch(id: string, listener: RunListener): () => void {
    const run = this.live.get(id);
    if (run) {
      listener({
        kind: 'events',
        runId: id,
        status: run.status,
        catchUp: true,
        events: [...run.history],
        ...clusterOf(run),
      });
      run.listeners.add(listener);
      return () => run.listeners.delete(listener);
    }
    let active = true;
    let stop: (() => void) | undefined;
    void this.store
      .read(id)
      .then((stored) => {
        if (!active) return;
        // It may have started between the call and the read: watch it live instead.
        if (this.live.has(id)) {
          stop = this.watch(id, listener);
          return;
        }
        const status = runStatus(stored.events, false);
        listener({ kind: 'events', runId: id, status, catchUp: true, events: stored.events });
      })
      .catch((err: unknown) => {
        if (!active) return;
        const error: ErrorInfo =
          err instanceof WhetstoneError
            ? err.toInfo()
            : { code: 'INTERNAL', message: (err as Error).message };
        listener({ kind: 'error', runId: id, error });
      });
    return () => {
      active = false;
      stop?.();
    };
  }

  /** The pid of the engine working on `id`, if any. */
  enginePid(id: string): number | undefined {
    const run = this.live.get(id);
    return run?.job?.pid ?? run?.pid;
  }

  /** Resolves when `id` is no longer live. */
  async settled(id: string): Promise<void> {
    await this.live.get(id)?.done;
  }

  /** Cancel every hosted run and wait (up to `timeoutMs`) for their checkpoints; then kill. */
  async shutdown(timeoutMs = 15_000): Promise<void> {
    const hosted = [...this.live.values()].filter((r) => r.job);
    for (const run of hosted) run.job!.cancel();
    const all = Promise.all(hosted.map((r) => r.done));
    const timer = new Promise((resolve) => setTimeout(resolve, timeoutMs).unref());
    await Promise.race([all, timer]);
    for (const run of hosted) run.job!.kill();
  }

  private async checkpoint(id: string): Promise<{ checkpointStep?: number }> {
    // A cluster run's checkpoints are on the cluster; its copied events name the newest.
    const step = (await this.store.readCluster(id))
      ? (await this.store.read(id)).events.findLast((e) => e.type === 'checkpoint')?.step
      : await this.store.checkpointStep(id);
    return typeof step === 'number' ? { checkpointStep: step } : {};
  }

  private broadcast(run: LiveRun, events: RunEvent[]): void {
    for (const listener of run.listeners) {
      try {
        listener({
          kind: 'events',
          runId: run.id,
          status: run.status,
          catchUp: false,
          events,
          ...clusterOf(run),
        });
      } catch (err) {
        log.warn(`a watcher of ${run.id} failed: ${(err as Error).message}`);
      }
    }
  }

  /** Run `job` for run `id` in a fresh engine process. */
  private host(id: string, job: Record<string, unknown>, prior: RunEvent[]): void {
    const engine = new EngineJob(this.launch);
    let finish!: () => void;
    const run: LiveRun = {
      id,
      status: 'starting',
      history: [...prior],
      listeners: new Set(),
      job: engine,
      done: new Promise((resolve) => (finish = resolve)),
    };
    this.live.set(id, run);
    let final: Promise<FinalEvent>;
    try {
      final = this.runJob(engine, run, job);
    } catch (err) {
      // The process could not even be created: nothing is live, the caller hears why.
      this.live.delete(id);
      finish();
      throw err;
    }
    const pid = engine.pid;
    if (pid !== undefined) {
      void this.store
        .writeHost(id, { pid, startedAt: new Date().toISOString() })
        .catch((err: Error) => log.warn(`run ${id}: could not record its engine: ${err.message}`));
    }
    void final
      .then(async (event) => {
        // The engine writes its own final event; one it could not write (it crashed, or the job
        // failed before the folder existed) is written here, so the folder tells the truth.
        const stored = await this.store.read(id);
        const last = stored.events.at(-1);
        if (last?.type !== 'done' && last?.type !== 'error') {
          await this.store.append(id, event);
        }
        await this.store.clearHost(id);
        const after = await this.store.read(id);
        run.status = runStatus(after.events, false);
        log.info(`run ${id}: ${run.status}`);
      })
      .catch((err: Error) => {
        run.status = 'failed';
        log.error(`run ${id}: could not record its end: ${err.message}`);
      })
      .finally(() => {
        this.live.delete(id);
        this.broadcast(run, []);
        finish();
      });
  }

  /** Start the engine on `job`, feeding `run`'s history and watchers as batches arrive. */
  private runJob(
    engine: EngineJob,
    run: LiveRun,
    job: Record<string, unknown>,
  ): Promise<FinalEvent> {
    return engine.run(job, {
      onEvents: (events) => {
        const batch = events as RunEvent[];
        for (const e of batch) {
          // The final event moves the status once the folder holds it (where the job's end is awaited).
          const next = e.type === 'done' || e.type === 'error' ? undefined : statusOf(e);
          if (next !== undefined) run.status = next;
          else if (run.status === 'starting' && e.type === 'hello') run.status = 'running';
        }
        run.history.push(...batch);
        this.broadcast(run, batch);
      },
      describeExit: async (exit) => exitError(exit, (await this.store.checkpointStep(run.id)) ?? 0),
    });
  }

  /** Follow a run whose engine (`pid`) outlived the host that started it. */
  private follow(id: string, pid: number, history: RunEvent[]): void {
    this.track(id, history, { pid }, 'following its events', async (run) => {
      const ended = await followEngine({
        eventsPath: this.store.eventsPath(id),
        pid,
        skip: history.length,
        intervalMs: this.followMs,
        onEvents: (events) => this.followed(run, events),
      });
      if (!ended) await this.markInterrupted(id);
      const after = await this.store.read(id);
      run.status = runStatus(after.events, false);
      if (!ended) this.broadcast(run, after.events.slice(-1));
    });
  }

  /** Follow a cluster run: its events copied here as the job writes them, with Slurm's state. */
  private followClusterRun(id: string, record: ClusterRecord, history: RunEvent[]): void {
    this.track(id, history, { cluster: { record } }, 'following its cluster job', async (run) => {
      await this.clusterRuns.follow(id, record, history, {
        onState: (state: JobState) => {
          run.cluster!.state = state;
          this.broadcast(run, []);
        },
        onEvents: (events) => this.followed(run, events),
        lastEvent: () => run.history.at(-1),
      });
      const after = await this.store.read(id);
      run.status = runStatus(after.events, false);
    });
  }

  /** Events read from a followed run's file: its status moves, its watchers get them. */
  private followed(run: LiveRun, events: RunEvent[]): void {
    run.status = runStatus([...run.history, ...events], true);
    run.history.push(...events);
    this.broadcast(run, events);
  }

  /** A live run that `work` follows until it ends; then it is no longer live. */
  private track(
    id: string,
    history: RunEvent[],
    how: Pick<LiveRun, 'pid' | 'cluster'>,
    what: string,
    work: (run: LiveRun) => Promise<void>,
  ): void {
    let finish!: () => void;
    const run: LiveRun = {
      id,
      status: runStatus(history, true),
      history: [...history],
      listeners: new Set(),
      ...how,
      done: new Promise((resolve) => (finish = resolve)),
    };
    this.live.set(id, run);
    void work(run)
      .catch((err: Error) => log.error(`run ${id}: ${what} failed: ${err.message}`))
      .finally(() => {
        this.live.delete(id);
        this.broadcast(run, []);
        finish();
      });
  }

  private async markInterrupted(id: string): Promise<void> {
    const step = await this.store.checkpointStep(id);
    const error = exitError({ code: null, reason: 'abnormal-exit', stderrTail: '' }, step ?? 0);
    await this.store.append(id, {
      type: 'error',
      ...error,
      message: 'The run was interrupted: its engine stopped while Whetstone was not watching it.',
    });
    await this.store.clearHost(id);
    log.info(`run ${id}: interrupted, marked failed`);
  }
}
