// Follows a run on a Slurm cluster: its events.jsonl in the shared folder (read here or over ssh,
// from where the last read stopped) and its job's state from squeue/sacct, until Slurm says the
// job has ended. A requeued job (preemption, the time-limit warning) is followed on through its
// next start, so the run's chart goes on as one.
import { posix } from 'node:path';
import { RUN_FILES } from '../../engine/train/run-dir.js';
import { endReason, jobState, type JobState } from '../../engine/cluster/slurm.js';
import type { Transport } from '../../engine/cluster/transport.js';
import type { RunEvent } from '../contract.js';
import { EventsTail } from './events-file.js';

export interface ClusterFollowOptions {
  transport: Transport;
  /** The run folder on the cluster. */
  dir: string;
  jobId: string;
  /** Events already read (the history): the tail starts at byte 0 and skips this many. */
  skip: number;
  intervalMs: number;
  onEvents(events: RunEvent[]): void;
  onState(state: JobState): void;
  /** Resolves when the caller stops following (the host shuts down). */
  stopped?: AbortSignal;
}

/** Polls after Slurm has forgotten a job before taking it as ended. */
const FORGOTTEN_POLLS = 3;

/** Resolves with the job's last state once Slurm reports it ended. */
export async function followCluster(options: ClusterFollowOptions): Promise<JobState> {
  const path = posix.join(options.dir, RUN_FILES.events);
  const tail = new EventsTail(async (offset) => {
    const result = await options.transport.run(['tail', '-c', `+${offset + 1}`, path]);
    return result.code === 0 ? result.stdoutBytes : Buffer.alloc(0);
  });
  let skip = options.skip;
  let last: JobState | undefined;
  let unknown = 0;
  for (;;) {
    // The state is asked before reading: a job found ended has written all it ever will.
    const state = await jobState(options.transport, options.jobId);
    if (state.state !== last?.state || state.reason !== last?.reason) options.onState(state);
    last = state;
    const read = await tail.next();
    const events = read.slice(skip);
    skip = Math.max(0, skip - read.length);
    if (events.length > 0) options.onEvents(events);
    if (state.ended) return state;
    unknown = state.state === 'UNKNOWN' ? unknown + 1 : 0;
    if (unknown >= FORGOTTEN_POLLS || options.stopped?.aborted) return state;
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs));
  }
}

/**
 * The error event for a job Slurm ended for a reason of its own (time limit, memory, a node),
 * or undefined when the run's own events already tell its end (a finish, our cancel, an error).
 */
export function jobEndedEvent(
  jobId: string,
  state: JobState,
  last: RunEvent | undefined,
): RunEvent | undefined {
  const reason = endReason(state);
  const cancelledByUs = state.state === 'CANCELLED' && last?.type === 'done';
  if (reason === undefined || cancelledByUs || last?.type === 'error') return undefined;
  const detail = [state.state, state.reason].filter(Boolean).join(', ');
  return {
    type: 'error',
    code: 'CLUSTER_JOB_ENDED',
    message: `${reason[0]!.toUpperCase()}${reason.slice(1)} (job ${jobId}, ${detail}).`,
    hint: 'Resume it: the job is submitted again and goes on from its latest checkpoint.',
    slurmState: state.state,
    ...(state.reason !== undefined && { slurmReason: state.reason }),
    time: new Date().toISOString(),
  };
}
