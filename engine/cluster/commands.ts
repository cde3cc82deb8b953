// The CLI's cluster commands: their flags and help, in the same table form as the engine's jobs
// (engine/cli/commands.ts), so docs/cli.md is checked against them too.
import { commands, type CommandDef } from '../cli/commands.js';

const cluster: CommandDef['options'] = {
  cluster: ['cluster', 'string', 'the cluster profile to use'],
};

/** Flags of a profile: each sets the profile field of the same meaning (docs/cluster.md). */
const profile: CommandDef['options'] = {
  host: ['host', 'string', 'reach Slurm over ssh on this host (default: Slurm is on this machine)'],
  user: ['user', 'string', 'ssh user (default: ssh’s own)'],
  key: ['key', 'string', 'ssh private key file (no password is ever stored)'],
  port: ['port', 'number', 'ssh port (default 22)'],
  'known-hosts': ['knownHosts', 'string', 'known_hosts file for the host (default: ssh’s own)'],
  partition: ['partition', 'string', 'Slurm partition (default: the cluster’s default)'],
  account: ['account', 'string', 'Slurm account to charge'],
  time: [
    'time',
    'string',
    'time limit per job: minutes, HH:MM:SS or D-HH:MM:SS (default 01:00:00)',
  ],
  cpus: ['cpus', 'number', 'CPUs per job (default 1)'],
  gpus: ['gpus', 'number', 'GPUs per job (default 0)'],
  'memory-mb': [
    'memoryMb',
    'number',
    'most memory a job may ask for, MiB (each job asks for its estimate)',
  ],
  'shared-dir': [
    'sharedDir',
    'string',
    'folder on the cluster that runs are written to (nodes and login node see it)',
  ],
  engine: ['engine', 'string', 'the whetstone command on a node (default whetstone)'],
  container: [
    'container',
    'string',
    'run the engine in this container image (apptainer exec --nv)',
  ],
  setup: ['setup', 'string', 'a shell line run before the engine, e.g. "module load nodejs/20"'],
  'signal-seconds': [
    'signalSeconds',
    'number',
    'warn the engine this long before the time limit (default 120)',
  ],
};

export const clusterCommands: Record<string, CommandDef> = {
  'cluster add': {
    summary: 'Add a cluster profile (or replace the one of that name), after checking it.',
    usage:
      'whetstone cluster add NAME --shared-dir DIR [--host H --user U --key FILE --port P] [--partition P --account A --time T --cpus N --gpus N --memory-mb M] [--engine CMD | --container IMAGE] [--setup LINE] [--no-check]',
    options: { ...profile, 'no-check': ['noCheck', 'boolean', 'save without asking the cluster'] },
    required: ['shared-dir'],
  },
  'cluster list': {
    summary: 'List the cluster profiles.',
    usage: 'whetstone cluster list [--json]',
    options: {},
    required: [],
  },
  'cluster remove': {
    summary: 'Remove a cluster profile.',
    usage: 'whetstone cluster remove NAME',
    options: {},
    required: [],
  },
  'cluster check': {
    summary: 'Check a profile: Slurm answers, the partition exists, the shared folder is writable.',
    usage: 'whetstone cluster check NAME [--json]',
    options: {},
    required: [],
  },
  'cluster status': {
    summary: 'Show a cluster run’s Slurm job: its state and Slurm’s reason.',
    usage: 'whetstone cluster status --cluster NAME --run DIR [--json]',
    options: {
      ...cluster,
      run: ['run', 'string', 'the run folder (or its name in the shared folder)'],
    },
    required: ['cluster', 'run'],
  },
  'cluster cancel': {
    summary: 'Cancel a cluster run: the engine checkpoints, then Slurm ends the job.',
    usage: 'whetstone cluster cancel --cluster NAME --run DIR [--json]',
    options: {
      ...cluster,
      run: ['run', 'string', 'the run folder (or its name in the shared folder)'],
    },
    required: ['cluster', 'run'],
  },
  submit: {
    summary:
      'Send a training run to a Slurm cluster (the usual train flags), a list of runs as one job array (--specs), or a stopped run again (--resume).',
    usage:
      'whetstone submit --cluster NAME <train flags> [--out NAME]\n' +
      '       whetstone submit --cluster NAME --specs RUNS.json --out NAME\n' +
      '       whetstone submit --cluster NAME --resume RUN',
    options: {
      ...cluster,
      ...Object.fromEntries(
        Object.entries(commands.train.options).filter(([flag]) => flag !== 'out'),
      ),
      out: ['out', 'string', 'the run’s folder: a name in the shared folder, or a path inside it'],
      specs: [
        'specs',
        'string',
        'JSON file: [{"key": ..., "spec": {train fields}}, ...], one array task each',
      ],
      resume: ['resume', 'string', 'resubmit this run; it resumes from its latest checkpoint'],
    },
    aliases: commands.train.aliases,
    required: ['cluster'],
  },
};
