// Sending runs to a cluster: check the profile (host, partition, shared folder), size the job
// from the run's own estimate, write the batch script and the run record into the run folder,
// let Slurm judge the job (--test-only), then submit it. Nothing is submitted until every check
// has passed. A run folder on the cluster holds cluster.json: the profile's name and the job ids,
// never a host's credentials.
import { posix } from 'node:path';
import { commands } from '../cli/commands.js';
import { WhetstoneError } from '../errors.js';
import { commandArgs, renderBatchScript, type TrainFields } from './batch-script.js';
import { runDirIn, type ClusterProfile } from './profile.js';
import { partitions, sbatch, sbatchOptions, sbatchTest, scancel } from './slurm.js';
import { runChecked, transportFor, type Transport } from './transport.js';

export const CLUSTER_FILE = 'cluster.json';
export const SCRIPT_FILE = 'job.sh';
const OPTIONS_FILE = 'sbatch-options.json';

/** What cluster.json records: which profile ran it and every job that worked on it. */
export interface ClusterRecord {
  cluster: string;
  /** The run folder on the cluster. */
  dir: string;
  /** The latest job (an array task is `ID_TASK`); earlier ones (before a resume) in `jobs`. */
  jobId: string;
  jobs: string[];
  submittedAt: string;
  /** The run's train settings, as submitted (the engine writes spec.json once it starts). */
  spec: TrainFields;
  /** Slurm's last word on the latest job, once it has ended (the studio's copy keeps it). */
  state?: string;
  reason?: string;
}

/** A cell of a sweep, or any named run: `key` names its folder, `spec` is a train JobSpec. */
export interface RunCell {
  key: string;
  spec: TrainFields;
}

const MiB = 1024 ** 2;

/** Check that a profile can take jobs: Slurm answers, its partition exists, the shared folder is writable. */
export async function checkProfile(
  profile: ClusterProfile,
  transport = transportFor(profile),
): Promise<string[]> {
  const known = await partitions(transport);
  if (profile.partition && !known.includes(profile.partition)) {
    throw new WhetstoneError(
      'CLUSTER_UNAVAILABLE',
      `Cluster "${profile.name}" has no partition "${profile.partition}".`,
      `Its partitions: ${known.join(', ') || 'none'}. Fix the profile with whetstone cluster add.`,
    );
  }
  const probe = await transport.run([
    'test',
    '-d',
    profile.sharedDir,
    '-a',
    '-w',
    profile.sharedDir,
  ]);
  if (probe.code !== 0) {
    throw new WhetstoneError(
      'CLUSTER_UNAVAILABLE',
      `The shared folder ${profile.sharedDir} does not exist or is not writable on ${transport.where}.`,
      'Create it (on storage the nodes see too), or fix the profile.',
    );
  }
  return known;
}

/** The host memory a run asks for, from its estimate (MiB), refused above the profile's cap. */
export async function jobMemoryMb(
  profile: ClusterProfile,
  transport: Transport,
  spec: TrainFields,
): Promise<number> {
  const flags = commandArgs(commands.estimate, spec, false);
  const out = await runChecked(
    transport,
    engineArgv(profile, ['estimate', ...flags, '--json']),
    'whetstone estimate',
  );
  const done = out
    .split('\n')
    .map((l) => {
      try {
        return JSON.parse(l) as {
          type?: string;
          estimate?: { peakBytes: number; hostOverheadBytes?: number };
        };
      } catch {
        return undefined;
      }
    })
    .find((e) => e?.type === 'done');
  if (!done?.estimate) {
    throw new WhetstoneError(
      'CLUSTER_UNAVAILABLE',
      'whetstone estimate gave no estimate on the cluster.',
    );
  }
  // Tensors plus the process around them, with room for the allocator: what --mem asks for.
  const bytes = 1.5 * (done.estimate.peakBytes + (done.estimate.hostOverheadBytes ?? 0));
  const mb = Math.max(512, Math.ceil(bytes / MiB));
  if (profile.memoryMb !== undefined && mb > profile.memoryMb) {
    throw new WhetstoneError(
      'DEVICE_LIMIT',
      `The run needs about ${mb} MiB of memory; cluster "${profile.name}" allows ${profile.memoryMb} MiB a job.`,
      'Lower --batch or --seq, use an adapter (--peft lora), or raise the profile’s memory.',
    );
  }
  return mb;
}

/** The engine's argv for a command run on the login node (estimate), as the batch script starts it. */
function engineArgv(profile: ClusterProfile, args: string[]): string[] {
  const engine = profile.container
    ? ['apptainer', 'exec', '--nv', profile.container, profile.engine]
    : [profile.engine];
  return profile.setup
    ? ['bash', '-c', `${profile.setup}\nexec "$@"`, 'bash', ...engine, ...args]
    : [...engine, ...args];
}

async function writeRemote(transport: Transport, path: string, text: string): Promise<void> {
  await runChecked(transport, ['sh', '-c', 'cat > "$1"', 'sh', path], `writing ${path}`, {
    input: text,
  });
}

export async function readRecord(
  transport: Transport,
  dir: string,
): Promise<ClusterRecord | undefined> {
  const result = await transport.run(['cat', posix.join(dir, CLUSTER_FILE)]);
  if (result.code !== 0) return undefined;
  try {
    return JSON.parse(result.stdout) as ClusterRecord;
  } catch {
    return undefined;
  }
}

/** A folder name for a cell's key: its safe characters, made unique. */
export function cellFolder(key: string, taken: Set<string>): string {
  const base =
    key
      .replace(/[^A-Za-z0-9._=-]+/g, '_')
      .replace(/^[._-]+/, '')
      .slice(0, 80) || 'cell';
  let name = base;
  for (let n = 2; taken.has(name); n++) name = `${base}-${n}`;
  taken.add(name);
  return name;
}

export interface Submitted {
  jobId: string;
  runs: { key: string; dir: string; jobId: string }[];
}

/**
 * Submit one run (`cells` of one, `name` its folder) or an array (one task per cell, folders under
 * `name`). Checks first; nothing reaches sbatch until the profile, the folders and Slurm's own
 * --test-only judgement pass.
 */
export async function submitRuns(
  profile: ClusterProfile,
  name: string,
  cells: RunCell[],
  options: { array?: boolean; transport?: Transport } = {},
): Promise<Submitted> {
  if (cells.length === 0) throw new WhetstoneError('BAD_ARGUMENT', 'There are no runs to submit.');
  const array = options.array ?? cells.length > 1;
  const transport = options.transport ?? transportFor(profile);
  const root = runDirIn(profile, name);
  await checkProfile(profile, transport);
  const taken = new Set<string>();
  const runs = cells.map((cell) => ({
    key: cell.key,
    dir: array ? posix.join(root, cellFolder(cell.key, taken)) : root,
    spec: cell.spec,
  }));
  const existing = await transport.run(['test', '-e', root]);
  if (existing.code === 0) {
    throw new WhetstoneError(
      'BAD_ARGUMENT',
      `${root} already exists on ${transport.where}.`,
      'Choose another run name, or resubmit that run with whetstone submit --resume.',
    );
  }
  // The largest run sizes the job: every array task asks for the same resources.
  let memoryMb = 0;
  for (const run of runs)
    memoryMb = Math.max(memoryMb, await jobMemoryMb(profile, transport, run.spec));
  const text = renderBatchScript(profile, runs, array);
  const sbatchArgs = sbatchOptions(profile, {
    name: `whetstone-${posix.basename(root)}`,
    memoryMb,
    // %A_%a: the array's id and the task; %j: the job's id.
    output: posix.join(root, array ? 'slurm-%A_%a.out' : 'slurm-%j.out'),
    ...(array && { array: runs.length }),
  });
  // Slurm judges the job (partition, account, limits) before any folder is written.
  await sbatchTest(transport, sbatchArgs, text);
  await runChecked(
    transport,
    ['mkdir', '-p', ...runs.map((r) => posix.join(r.dir, 'checkpoints'))],
    'mkdir',
  );
  const script = posix.join(root, SCRIPT_FILE);
  await writeRemote(transport, script, text);
  await writeRemote(
    transport,
    posix.join(root, OPTIONS_FILE),
    `${JSON.stringify(sbatchArgs, null, 2)}\n`,
  );
  const jobId = await sbatch(transport, sbatchArgs, script);
  const submittedAt = new Date().toISOString();
  const out = runs.map((run, i) => ({
    key: run.key,
    dir: run.dir,
    jobId: array ? `${jobId}_${i}` : jobId,
  }));
  for (const [i, run] of out.entries()) {
    const record: ClusterRecord = {
      cluster: profile.name,
      dir: run.dir,
      jobId: run.jobId,
      jobs: [run.jobId],
      submittedAt,
      spec: runs[i]!.spec,
    };
    await writeRemote(
      transport,
      posix.join(run.dir, CLUSTER_FILE),
      `${JSON.stringify(record, null, 2)}\n`,
    );
  }
  return { jobId, runs: out };
}

/**
 * Resume = resubmit: the run's own script again (it resumes from the checkpoint), as a single
 * job even for an array cell (the script's cell is chosen by a fixed task id).
 */
export async function resubmit(
  profile: ClusterProfile,
  dir: string,
  transport = transportFor(profile),
): Promise<ClusterRecord> {
  const runDir = runDirIn(profile, dir);
  const record = await readRecord(transport, runDir);
  if (!record) {
    throw new WhetstoneError(
      'RUN_NOT_FOUND',
      `${runDir} holds no cluster run (no ${CLUSTER_FILE}).`,
      'Pass a folder whetstone submit created.',
    );
  }
  await checkProfile(profile, transport);
  const task = /_(\d+)$/.exec(record.jobId)?.[1];
  const root = task === undefined ? runDir : posix.dirname(runDir);
  const script = posix.join(root, SCRIPT_FILE);
  const stored = await runChecked(
    transport,
    ['cat', posix.join(root, OPTIONS_FILE)],
    'reading the job options',
  );
  // The same resources; an array cell goes alone as a one-task array with its own index.
  const options = (JSON.parse(stored) as string[]).filter(
    (o) => !o.startsWith('--array=') && !o.startsWith('--output='),
  );
  options.push(
    `--output=${posix.join(root, task === undefined ? 'slurm-%j.out' : `slurm-%A_%a.out`)}`,
    ...(task === undefined ? [] : [`--array=${task}`]),
  );
  await sbatchTest(
    transport,
    options,
    await runChecked(transport, ['cat', script], 'reading the job script'),
  );
  const jobId = await sbatch(transport, options, script);
  const next: ClusterRecord = {
    ...record,
    state: undefined,
    reason: undefined,
    jobId: task === undefined ? jobId : `${jobId}_${task}`,
    jobs: [...record.jobs, task === undefined ? jobId : `${jobId}_${task}`],
    submittedAt: new Date().toISOString(),
  };
  await writeRemote(
    transport,
    posix.join(runDir, CLUSTER_FILE),
    `${JSON.stringify(next, null, 2)}\n`,
  );
  return next;
}

/** Cancel a cluster run: scancel, whose SIGTERM makes the engine checkpoint before it stops. */
export async function cancelRun(
  profile: ClusterProfile,
  dir: string,
  transport = transportFor(profile),
): Promise<ClusterRecord> {
  const record = await readRecord(transport, runDirIn(profile, dir));
  if (!record)
    throw new WhetstoneError('RUN_NOT_FOUND', `${dir} holds no cluster run (no ${CLUSTER_FILE}).`);
  await scancel(transport, record.jobId);
  return record;
}
