// The batch script a cluster job runs: for each run (one, or one per array task) the engine's
// `train` command line, or `resume` once the run holds a checkpoint, so a job Slurm requeues
// after preemption or a node failure continues where it stopped. Every value is quoted.
import { commands, type CommandDef } from '../cli/commands.js';
import { WhetstoneError } from '../errors.js';
import type { ClusterProfile } from './profile.js';
import { quote, quoteCommand } from './shell-quote.js';

/** A train JobSpec, as `whetstone train` reads it (without `kind` and `out`). */
export type TrainFields = Record<string, unknown>;

/** A spec's own settings: without `kind` (always train) and `out` (the cluster's folder). */
export function withoutRunFolder(spec: TrainFields): TrainFields {
  return Object.fromEntries(Object.entries(spec).filter(([k]) => k !== 'kind' && k !== 'out'));
}

/** The train flags that give `spec` back: the inverse of the CLI's parse, from the same table. */
export function trainArgs(spec: TrainFields): string[] {
  return commandArgs(commands.train, spec, true);
}

/**
 * The flags of `def` that give `spec`'s fields back. `strict`: a field without a flag is refused
 * (a train spec must travel whole); otherwise fields the command lacks are left out.
 */
export function commandArgs(def: CommandDef, spec: TrainFields, strict: boolean): string[] {
  const byField = new Map(
    Object.entries(def.options).map(([flag, [field, kind]]) => [field, { flag, kind }]),
  );
  const args: string[] = [];
  for (const [field, value] of Object.entries(spec)) {
    if (field === 'kind' || field === 'out' || value === undefined) continue;
    const option = byField.get(field);
    if (!option) {
      if (!strict) continue;
      throw new WhetstoneError(
        'BAD_ARGUMENT',
        `The run's setting "${field}" has no train flag, so it cannot be sent to a cluster.`,
        'Remove it, or run the job on this machine.',
      );
    }
    if (option.kind === 'boolean') {
      if (value === true) args.push(`--${option.flag}`);
      continue;
    }
    if (typeof value !== 'string' && typeof value !== 'number') {
      throw new WhetstoneError(
        'BAD_ARGUMENT',
        `The run's setting "${field}" is not a ${option.kind}.`,
        `Give --${option.flag} a ${option.kind}.`,
      );
    }
    args.push(`--${option.flag}`, String(value));
  }
  return args;
}

/** The engine's command on a node: the profile's whetstone, in its container if it has one. */
export function engineCommand(profile: ClusterProfile): string {
  const engine = quote(profile.engine);
  return profile.container ? `apptainer exec --nv ${quote(profile.container)} ${engine}` : engine;
}

export interface ScriptRun {
  dir: string;
  spec: TrainFields;
}

/** One script for one run, or for an array whose task i runs `runs[i]`. */
export function renderBatchScript(
  profile: ClusterProfile,
  runs: ScriptRun[],
  array: boolean,
): string {
  const pick = array
    ? [
        'case "${SLURM_ARRAY_TASK_ID:?this script is a job array}" in',
        ...runs.map(
          (r, i) => `  ${i}) run=${quote(r.dir)}; set -- ${quoteCommand(trainArgs(r.spec))} ;;`,
        ),
        '  *) echo "no run for array task $SLURM_ARRAY_TASK_ID" >&2; exit 2 ;;',
        'esac',
      ]
    : [`run=${quote(runs[0]!.dir)}`, `set -- ${quoteCommand(trainArgs(runs[0]!.spec))}`];
  const engine = engineCommand(profile);
  return [
    '#!/bin/bash',
    '# Rendered by whetstone submit. The engine resumes from the latest checkpoint whenever the',
    '# run has one, so a job Slurm requeues (preemption, a node failure) continues where it stopped.',
    'set -u',
    '# Math libraries use the CPUs Slurm gave the job, not every core of the node.',
    'export OMP_NUM_THREADS="${SLURM_CPUS_PER_TASK:-1}" OPENBLAS_NUM_THREADS="${SLURM_CPUS_PER_TASK:-1}"',
    ...(profile.setup ? [profile.setup] : []),
    ...pick,
    'if [ -f "$run/checkpoints/latest.json" ]; then',
    '  set -- resume --run "$run"',
    'else',
    '  # Requeued before its first checkpoint: start again (the events go on in the same file).',
    '  rm -f "$run/spec.json"',
    '  set -- train "$@" --out "$run"',
    'fi',
    '# SIGTERM (scancel, the time limit) and SIGUSR1 (--signal, before the time limit) make the',
    '# engine checkpoint and stop; after the warning the job requeues itself and goes on later.',
    'warned=0',
    `trap 'warned=1; kill -TERM "$engine" 2>/dev/null' USR1`,
    `trap 'kill -TERM "$engine" 2>/dev/null' TERM`,
    `${engine} "$@" &`,
    'engine=$!',
    'while kill -0 "$engine" 2>/dev/null; do wait "$engine"; done',
    'wait "$engine"; status=$?',
    'if [ "$warned" = 1 ] && [ "$status" = 0 ]; then exec scontrol requeue "$SLURM_JOB_ID"; fi',
    'exit "$status"',
    '',
  ].join('\n');
}
