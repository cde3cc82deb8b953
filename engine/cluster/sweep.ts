// `whetstone sweep --cluster NAME <sweep flags>`: the comparison grid (engine/sweep/grid.ts) as
// one Slurm job array, one task per cell, each a run folder OUT/runs/KEY in the shared folder.
// The same command again submits nothing: it reads the cells' folders, says how far the grid
// is, and writes results.json and the tables (README.md) from the cells finished so far.
import { resolve } from 'node:path';
import { WhetstoneError } from '../errors.js';
import { parseCommandLine } from '../cli/parse.js';
import { jobSpecSchema, type JobSpec } from '../protocol.js';
import { expandGrid, sweepOptionsOf } from '../sweep/grid.js';
import { writeSweepResults } from '../jobs/sweep.js';
import { sweepResults } from '../sweep/read-cells.js';
import { checkSpec } from './cli.js';
import { ClusterProfiles, runDirIn } from './profile.js';
import { submitRuns, type RunCell } from './submit.js';
import { transportFor } from './transport.js';

type SweepSpec = Extract<JobSpec, { kind: 'sweep' }>;
type Print = (result: Record<string, unknown>, human: string) => void;

export function isClusterSweep(argv: string[]): boolean {
  return argv[0] === 'sweep' && argv.some((a) => a === '--cluster' || a.startsWith('--cluster='));
}

export async function clusterSweep(
  argv: string[],
  print: Print,
  profiles = new ClusterProfiles(),
): Promise<number> {
  const { job } = parseCommandLine(argv);
  const parsed = jobSpecSchema.safeParse(job);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new WhetstoneError(
      'BAD_ARGUMENT',
      `${issue.path.join('.')}: ${issue.message}.`,
      'See whetstone sweep --help.',
    );
  }
  const { cluster, ...spec } = parsed.data as SweepSpec;
  const profile = await profiles.get(String(cluster));
  // The sweep folder lives in the shared folder: the nodes write it, this machine reads it.
  const out = runDirIn(profile, profile.ssh ? spec.out : resolve(spec.out));
  const options = sweepOptionsOf({ ...spec, out });
  const cells = expandGrid(options);
  const runs = `${out}/runs`;
  const transport = transportFor(profile);
  if ((await transport.run(['test', '-e', runs])).code !== 0) {
    const submitted: RunCell[] = cells.map((cell) => ({ key: cell.key, spec: { ...cell.spec } }));
    for (const cell of submitted) checkSpec(cell, profile);
    const result = await submitRuns(profile, runs, submitted, { array: true });
    print(
      { type: 'done', job: 'sweep', cluster: profile.name, out, ...result },
      `submitted ${cells.length} cells as job array ${result.jobId} on "${profile.name}"; ` +
        `run the same command again for the grid's progress and tables\n`,
    );
    return 0;
  }
  if (profile.ssh) {
    throw new WhetstoneError(
      'BAD_ARGUMENT',
      `${out} was submitted to "${profile.name}" over ssh; its run folders are on the cluster.`,
      'Run the same whetstone sweep command on the cluster’s login node to write the tables.',
    );
  }
  const result = await sweepResults(options, new Map(), spec.targetLoss);
  await writeSweepResults(spec, out, result);
  const ended = result.cells.filter((c) => c.status === 'finished' || c.status === 'failed').length;
  print(
    { type: 'done', job: 'sweep', cluster: profile.name, ...result },
    `${ended} of ${cells.length} cells ended; tables written to ${out}\n`,
  );
  return 0;
}
