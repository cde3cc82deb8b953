// Slurm's own commands, run through a transport: submit, ask a job's state (with Slurm's reason),
// cancel, and check a partition. Whetstone does no scheduling of its own.
import { WhetstoneError } from '../errors.js';
import type { ClusterProfile } from './profile.js';
import { runChecked, type Transport } from './transport.js';

/** Slurm job states a job does not leave (squeue's %T spellings). */
const ENDED = new Set([
  'COMPLETED',
  'CANCELLED',
  'FAILED',
  'TIMEOUT',
  'OUT_OF_MEMORY',
  'NODE_FAIL',
  'PREEMPTED',
  'BOOT_FAIL',
  'DEADLINE',
  'SPECIAL_EXIT',
]);

export interface JobState {
  /** Slurm's state (PENDING, RUNNING, COMPLETED, TIMEOUT...), or UNKNOWN once Slurm forgot it. */
  state: string;
  /** Slurm's reason (Priority, Resources, TimeLimit, ...), when it gives one. */
  reason?: string;
  ended: boolean;
}

/** sbatch's options for a job: the profile's resources, the run's memory, requeue and signal. */
export function sbatchOptions(
  profile: ClusterProfile,
  job: { name: string; memoryMb: number; output: string; array?: number },
): string[] {
  return [
    `--job-name=${job.name}`,
    ...(profile.partition ? [`--partition=${profile.partition}`] : []),
    ...(profile.account ? [`--account=${profile.account}`] : []),
    `--time=${profile.time}`,
    '--nodes=1',
    '--ntasks=1',
    `--cpus-per-task=${profile.cpus}`,
    `--mem=${job.memoryMb}M`,
    ...(profile.gpus > 0 ? [`--gres=gpu:${profile.gpus}`] : []),
    // Preempted or failed nodes: Slurm runs the script again, which resumes from the checkpoint.
    '--requeue',
    // Before the time limit the batch shell is warned: the engine checkpoints, the job requeues.
    ...(profile.signalSeconds > 0 ? [`--signal=B:USR1@${profile.signalSeconds}`] : []),
    '--open-mode=append',
    `--output=${job.output}`,
    ...(job.array !== undefined ? [`--array=0-${job.array - 1}`] : []),
  ];
}

/** Submit `script` (a path on the cluster); returns the job id. */
export async function sbatch(
  transport: Transport,
  options: string[],
  script: string,
): Promise<string> {
  const out = await runChecked(transport, ['sbatch', '--parsable', ...options, script], 'sbatch');
  const id = out.trim().split(';')[0] ?? '';
  if (!/^\d+$/.test(id)) {
    throw new WhetstoneError(
      'CLUSTER_UNAVAILABLE',
      `sbatch answered "${out.trim()}", not a job id.`,
    );
  }
  return id;
}

/** Let Slurm judge the job without submitting it (bad partition, account, limits); the script on stdin. */
export async function sbatchTest(
  transport: Transport,
  options: string[],
  scriptText: string,
): Promise<void> {
  // The script goes on stdin: Slurm judges the job before any file is written.
  const result = await transport.run(['sbatch', '--test-only', ...options], { input: scriptText });
  if (result.code === 0) return;
  const detail = result.stderr.replace(/^sbatch: error: /gm, '').trim();
  throw new WhetstoneError(
    'CLUSTER_UNAVAILABLE',
    `Slurm refuses the job: ${detail || `exit code ${result.code}`}`,
    "Check the profile's partition, account, time limit and resources (whetstone cluster check).",
  );
}

/** The partitions Slurm knows. */
export async function partitions(transport: Transport): Promise<string[]> {
  const out = await runChecked(transport, ['sinfo', '--noheader', '--format=%P'], 'sinfo');
  return out
    .split('\n')
    .map((l) => l.trim().replace(/\*$/, ''))
    .filter((l) => l !== '');
}

/**
 * A job's state: squeue while Slurm remembers it (MinJobAge after it ends), then sacct where
 * accounting is kept. An array task is `ID_TASK`.
 */
export async function jobState(transport: Transport, jobId: string): Promise<JobState> {
  const queue = await transport.run([
    'squeue',
    '--noheader',
    '--states=all',
    '--array',
    `--jobs=${jobId}`,
    '--format=%i|%T|%r',
  ]);
  const row = parseRows(queue.code === 0 ? queue.stdout : '', jobId);
  if (row) return row;
  const acct = await transport.run([
    'sacct',
    '--noheader',
    '--parsable2',
    '--allocations',
    `--jobs=${jobId}`,
    '--format=JobID,State,Reason',
  ]);
  return parseRows(acct.code === 0 ? acct.stdout : '', jobId) ?? { state: 'UNKNOWN', ended: false };
}

function parseRows(text: string, jobId: string): JobState | undefined {
  for (const line of text.split('\n')) {
    const [id, rawState, reason] = line.trim().split('|');
    if (id !== jobId || rawState === undefined) continue;
    // sacct writes "CANCELLED by 1000"; squeue "CANCELLED".
    const state = rawState.split(' ')[0]!;
    return {
      state,
      ...(reason && reason !== 'None' && reason !== '(null)' && { reason }),
      ended: ENDED.has(state),
    };
  }
  return undefined;
}

/** Cancel a job: Slurm sends SIGTERM (the engine checkpoints and stops), then SIGKILL after KillWait. */
export async function scancel(transport: Transport, jobId: string): Promise<void> {
  await runChecked(transport, ['scancel', jobId], 'scancel');
}

/** Why Slurm ended a job, in words, or undefined when it ended normally. */
export function endReason(state: JobState): string | undefined {
  switch (state.state) {
    case 'TIMEOUT':
      return 'Slurm stopped the job at its time limit';
    case 'OUT_OF_MEMORY':
      return 'Slurm stopped the job: it ran out of the memory it asked for';
    case 'NODE_FAIL':
      return 'the node running the job failed';
    case 'PREEMPTED':
      return 'Slurm preempted the job for another';
    case 'BOOT_FAIL':
      return 'the node could not boot for the job';
    case 'DEADLINE':
      return 'the job passed its deadline';
    case 'FAILED':
      return `the job failed${state.reason ? ` (${state.reason})` : ''}`;
    case 'CANCELLED':
      return 'the job was cancelled in Slurm';
  }
  return undefined;
}
