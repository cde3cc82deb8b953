// `whetstone cluster ...` and `whetstone submit`: profiles, and sending runs to Slurm. These run
// in the CLI process (they start sbatch/squeue/scancel or ssh), not as engine jobs.
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { WhetstoneError } from '../errors.js';
import { commandHelp, parseFlags } from '../cli/parse.js';
import { trainSpecSchema } from '../protocol.js';
import { withoutRunFolder } from './batch-script.js';
import { clusterCommands } from './commands.js';
import { ClusterProfiles, runDirIn, type ClusterProfile } from './profile.js';
import { jobState } from './slurm.js';
import {
  cancelRun,
  checkProfile,
  readRecord,
  resubmit,
  submitRuns,
  type RunCell,
} from './submit.js';
import { transportFor } from './transport.js';

export function isClusterCommand(argv: string[]): boolean {
  return argv[0] === 'cluster' || argv[0] === 'submit';
}

type Print = (result: Record<string, unknown>, human: string) => void;

/** Run a cluster command; resolves with the exit code. Errors are thrown for the caller to print. */
export async function clusterMain(
  argv: string[],
  print: Print,
  profiles = new ClusterProfiles(),
): Promise<number> {
  const name = argv[0] === 'submit' ? 'submit' : `cluster ${argv[1] ?? ''}`;
  const def = clusterCommands[name];
  if (!def) {
    throw new WhetstoneError(
      'BAD_ARGUMENT',
      `Unknown cluster command "${argv[1] ?? ''}".`,
      'Commands: whetstone cluster add | list | remove | check | status | cancel, whetstone submit.',
    );
  }
  const args = argv.slice(name === 'submit' ? 1 : 2);
  const { values, fields, positionals } = parseFlags(def, args, name !== 'submit');
  if (values.help === true) {
    process.stdout.write(commandHelp(def));
    return 0;
  }
  const named = (): string => {
    if (positionals.length !== 1)
      throw new WhetstoneError('BAD_ARGUMENT', 'Give the profile’s name.', `Usage: ${def.usage}`);
    return positionals[0]!;
  };
  switch (name) {
    case 'cluster add': {
      const { host, user, key, port, knownHosts, noCheck, ...rest } = fields;
      const ssh = host === undefined ? undefined : { host, user, key, port, knownHosts };
      const candidate = { name: named(), ...rest, ...(ssh && { ssh }) };
      if (noCheck !== true) {
        const { parseProfile } = await import('./profile.js');
        await checkProfile(parseProfile(candidate));
      }
      const saved = await profiles.save(candidate);
      print(
        { type: 'done', job: 'cluster add', profile: saved },
        `saved cluster profile "${saved.name}" in ${profiles.file}\n`,
      );
      return 0;
    }
    case 'cluster list': {
      const list = await profiles.list();
      print(
        { type: 'done', job: 'cluster list', clusters: list },
        list.length === 0
          ? 'no cluster profiles (add one with whetstone cluster add)\n'
          : list.map(describe).join(''),
      );
      return 0;
    }
    case 'cluster remove': {
      const removed = named();
      await profiles.remove(removed);
      print(
        { type: 'done', job: 'cluster remove', name: removed },
        `removed cluster profile "${removed}"\n`,
      );
      return 0;
    }
    case 'cluster check': {
      const profile = await profiles.get(named());
      const partitions = await checkProfile(profile);
      print(
        { type: 'done', job: 'cluster check', name: profile.name, partitions },
        `cluster "${profile.name}" is ready: partitions ${partitions.join(', ')}; ${profile.sharedDir} is writable\n`,
      );
      return 0;
    }
    case 'cluster status': {
      const profile = await profiles.get(String(fields.cluster));
      const transport = transportFor(profile);
      const dir = runDirIn(profile, String(fields.run));
      const record = await readRecord(transport, dir);
      if (!record) throw new WhetstoneError('RUN_NOT_FOUND', `${dir} holds no cluster run.`);
      const state = await jobState(transport, record.jobId);
      print(
        { type: 'done', job: 'cluster status', ...record, ...state },
        `job ${record.jobId}: ${state.state}${state.reason ? ` (${state.reason})` : ''}\n`,
      );
      return 0;
    }
    case 'cluster cancel': {
      const profile = await profiles.get(String(fields.cluster));
      const record = await cancelRun(profile, String(fields.run));
      print(
        { type: 'done', job: 'cluster cancel', ...record },
        `cancelled job ${record.jobId}; the engine checkpoints before it stops\n`,
      );
      return 0;
    }
  }
  return submit(fields, profiles, print);
}

async function submit(
  fields: Record<string, unknown>,
  profiles: ClusterProfiles,
  print: Print,
): Promise<number> {
  const { cluster, specs, resume, out, ...train } = fields;
  const profile = await profiles.get(String(cluster));
  if (typeof resume === 'string') {
    if (Object.keys(train).length > 0 || specs !== undefined) {
      throw new WhetstoneError(
        'BAD_ARGUMENT',
        '--resume takes no train flags: the run keeps its own.',
      );
    }
    const record = await resubmit(profile, resume);
    print(
      { type: 'done', job: 'submit', ...record },
      `resubmitted ${record.dir} as job ${record.jobId}\n`,
    );
    return 0;
  }
  let cells: RunCell[];
  if (typeof specs === 'string') {
    if (Object.keys(train).length > 0) {
      throw new WhetstoneError(
        'BAD_ARGUMENT',
        '--specs takes no train flags: each run has its own spec.',
      );
    }
    cells = await readCells(specs);
  } else {
    cells = [{ key: 'run', spec: train }];
  }
  for (const cell of cells) checkSpec(cell, profile);
  const name =
    typeof out === 'string'
      ? out
      : `${new Date().toISOString().replace(/[:.]/g, '-')}-${String(cells[0]!.spec.method)}`;
  const submitted = await submitRuns(profile, name, cells, { array: typeof specs === 'string' });
  print(
    { type: 'done', job: 'submit', cluster: profile.name, ...submitted },
    submitted.runs.map((r) => `job ${r.jobId}: ${r.dir}\n`).join(''),
  );
  return 0;
}

/** A list of runs: [{key, spec}], the shape the sweep's grid gives. */
async function readCells(path: string): Promise<RunCell[]> {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new WhetstoneError(
      'BAD_ARGUMENT',
      `Could not read ${path}: ${(err as Error).message}`,
      'Give a JSON file: [{"key": "...", "spec": {...}}, ...].',
    );
  }
  if (!Array.isArray(value) || value.length === 0) {
    throw new WhetstoneError(
      'BAD_ARGUMENT',
      `${path} is not a non-empty list of runs.`,
      'Give a JSON file: [{"key": "...", "spec": {...}}, ...].',
    );
  }
  return value.map((cell: unknown, i) => {
    const { key, spec } = (cell ?? {}) as { key?: unknown; spec?: unknown };
    if (typeof key !== 'string' || typeof spec !== 'object' || spec === null) {
      throw new WhetstoneError(
        'BAD_ARGUMENT',
        `${path}: run ${i} is not {"key": string, "spec": {...}}.`,
      );
    }
    return { key, spec: spec as Record<string, unknown> };
  });
}

/** A spec the engine would refuse is refused here, before anything reaches the cluster. */
export function checkSpec(cell: RunCell, profile: ClusterProfile): void {
  const fields = withoutRunFolder(cell.spec);
  const parsed = trainSpecSchema.safeParse({ ...fields, kind: 'train' });
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new WhetstoneError(
      'BAD_ARGUMENT',
      `Run "${cell.key}": ${issue.path.join('.')}: ${issue.message}.`,
      'Fix the run’s settings; see whetstone train --help.',
    );
  }
  // On this machine's Slurm, a relative path means what it means here; over ssh it is the
  // cluster's, relative to the login's home (where sbatch runs).
  if (!profile.ssh) {
    for (const field of ['model', 'data', 'initAdapter']) {
      if (typeof fields[field] === 'string') fields[field] = resolve(fields[field]);
    }
  }
  cell.spec = fields;
}

function describe(p: ClusterProfile): string {
  const via = p.ssh ? `ssh ${p.ssh.user ? `${p.ssh.user}@` : ''}${p.ssh.host}` : 'this machine';
  return `${p.name}: ${via}, partition ${p.partition ?? '(default)'}, ${p.cpus} cpu, ${p.gpus} gpu, time ${p.time}, runs in ${p.sharedDir}\n`;
}
