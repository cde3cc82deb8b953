// The run manager's cluster side: runs sent to a Slurm cluster (one, or a sweep's cells as one job
// array), runs `whetstone submit` sent that the studio adopts, their resubmission and cancellation,
// and following a job: its events copied here from the shared folder as it writes them, with
// Slurm's state. Which runs are live, and who watches them, stays with the run manager.
import { join } from 'node:path';
import { withoutRunFolder } from '../../engine/cluster/batch-script.js';
import { runDirIn, type ClusterProfiles } from '../../engine/cluster/profile.js';
import type { JobState } from '../../engine/cluster/slurm.js';
import {
  cancelRun,
  readRecord,
  resubmit,
  submitRuns,
  type ClusterRecord,
} from '../../engine/cluster/submit.js';
import { transportFor } from '../../engine/cluster/transport.js';
import { WhetstoneError } from '../../engine/errors.js';
import { createLogger } from '../../engine/log.js';
import { RUN_FILES, writeFileAtomic } from '../../engine/train/run-dir.js';
import type { ClusterJobSummary, RunEvent } from '../contract.js';
import { followCluster, jobEndedEvent } from './follow-cluster.js';
import type { RunStore } from './run-store.js';

const log = createLogger('runs');

/** A cluster run as its watchers see it: which job, and Slurm's latest state and reason. */
export function clusterSummary(
  record: ClusterRecord,
  state?: { state: string; reason?: string | undefined },
): ClusterJobSummary {
  return {
    name: record.cluster,
    jobId: record.jobId,
    ...(state && { state: state.state }),
    ...(state?.reason !== undefined && { reason: state.reason }),
  };
}

/** What following a job tells the live run. */
export interface ClusterFollowHooks {
  onState(state: JobState): void;
  onEvents(events: RunEvent[]): void;
  /** The run's last event so far (a final one means the job ended by itself). */
  lastEvent(): RunEvent | undefined;
}

export class ClusterRuns {
  constructor(
    private readonly store: RunStore,
    readonly profiles: ClusterProfiles,
    private readonly intervalMs: number,
    /** Make run `id` live, following its job (the run manager's part). */
    private readonly startFollowing: (
      id: string,
      record: ClusterRecord,
      history: RunEvent[],
    ) => void,
  ) {}

  /**
   * Send a training run to a cluster: a run folder here (the studio's copy of its events) and one
   * in the profile's shared folder, where the job writes. Resolves with the run's id here.
   */
  async submit(
    spec: Record<string, unknown> & { method: string },
    cluster: string,
  ): Promise<string> {
    const profile = await this.profiles.get(cluster);
    const { id } = await this.store.create(spec.method);
    try {
      const fields = withoutRunFolder(spec);
      const submitted = await submitRuns(profile, id, [{ key: id, spec: fields }], {
        array: false,
      });
      await this.followSubmitted(id, profile.name, submitted.runs[0]!, fields);
    } catch (err) {
      // Nothing was submitted: leave no empty folder behind.
      await this.store.remove(id);
      throw err;
    }
    return id;
  }

  /**
   * Send a sweep's cells (`{key, spec}` with a train spec each) as one job array, one task per
   * cell; each cell becomes a run here. Resolves with the cells' run ids in order.
   */
  async submitArray(
    cells: { key: string; spec: Record<string, unknown> }[],
    cluster: string,
    name?: string,
  ): Promise<{ id: string; key: string }[]> {
    const profile = await this.profiles.get(cluster);
    const folder = name ?? `${new Date().toISOString().replace(/[:.]/g, '-')}-sweep`;
    const submitted = await submitRuns(
      profile,
      folder,
      cells.map((c) => ({ key: c.key, spec: withoutRunFolder(c.spec) })),
      { array: true },
    );
    const out: { id: string; key: string }[] = [];
    for (const [i, run] of submitted.runs.entries()) {
      const spec = withoutRunFolder(cells[i]!.spec);
      const { id } = await this.store.create(typeof spec.method === 'string' ? spec.method : 'run');
      await this.followSubmitted(id, profile.name, run, spec);
      out.push({ id, key: run.key });
    }
    return out;
  }

  /** Follow a run `whetstone submit` sent (its folder on the cluster, or its name there). */
  async adopt(cluster: string, remoteDir: string): Promise<string> {
    const profile = await this.profiles.get(cluster);
    const record = await readRecord(transportFor(profile), runDirIn(profile, remoteDir));
    if (!record) {
      throw new WhetstoneError(
        'RUN_NOT_FOUND',
        `${remoteDir} holds no cluster run on "${cluster}".`,
        'Pass a run folder whetstone submit created.',
      );
    }
    const method = record.spec.method;
    const { id } = await this.store.create(typeof method === 'string' ? method : 'run');
    await this.writeCopy(id, record);
    this.startFollowing(id, record, []);
    return id;
  }

  /** Resume = resubmit: the job's script resumes from the latest checkpoint on the cluster. */
  async resume(id: string, record: ClusterRecord, history: RunEvent[]): Promise<void> {
    const next = await resubmit(await this.profiles.get(record.cluster), record.dir);
    await this.store.writeCluster(id, next);
    this.startFollowing(id, next, history);
  }

  /** Slurm's SIGTERM makes the engine checkpoint before the job ends. */
  async cancel(record: ClusterRecord): Promise<void> {
    await cancelRun(await this.profiles.get(record.cluster), record.dir);
  }

  /** Copy run `id`'s events here as its job writes them, with Slurm's state, until it ends. */
  async follow(
    id: string,
    record: ClusterRecord,
    history: RunEvent[],
    hooks: ClusterFollowHooks,
  ): Promise<void> {
    const profile = await this.profiles.get(record.cluster);
    // The folder on the cluster holds every event, the earlier jobs' too: skip those copied.
    const copied = history.filter((e) => e.type !== 'error' || e.code !== 'CLUSTER_JOB_ENDED');
    const state = await followCluster({
      transport: transportFor(profile),
      dir: record.dir,
      jobId: record.jobId,
      skip: copied.length,
      intervalMs: this.intervalMs,
      onState: (next) => {
        log.info(`run ${id}: job ${record.jobId} ${next.state} ${next.reason ?? ''}`);
        hooks.onState(next);
      },
      onEvents: (events) => {
        void this.store.appendCopied(id, events);
        hooks.onEvents(events);
      },
    });
    await this.store.writeCluster(id, {
      ...record,
      state: state.state,
      ...(state.reason !== undefined && { reason: state.reason }),
    });
    const error = jobEndedEvent(record.jobId, state, hooks.lastEvent());
    if (error) {
      await this.store.appendCopied(id, [error]);
      hooks.onEvents([error]);
    }
  }

  /** Record a just-submitted job in run `id`'s folder here, and follow it. */
  private async followSubmitted(
    id: string,
    cluster: string,
    run: { dir: string; jobId: string },
    spec: Record<string, unknown>,
  ): Promise<void> {
    const record: ClusterRecord = {
      cluster,
      dir: run.dir,
      jobId: run.jobId,
      jobs: [run.jobId],
      submittedAt: new Date().toISOString(),
      spec,
    };
    await this.writeCopy(id, record);
    this.startFollowing(id, record, []);
  }

  /** The studio's folder for a cluster run: its record, and its spec as the run reads it. */
  private async writeCopy(id: string, record: ClusterRecord): Promise<void> {
    await this.store.writeCluster(id, record);
    const spec = { ...record.spec, kind: 'train', out: record.dir };
    await writeFileAtomic(
      join(this.store.dir(id), RUN_FILES.spec),
      `${JSON.stringify(spec, null, 2)}\n`,
    );
  }
}
