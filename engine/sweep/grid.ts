// A method-comparison sweep's grid: methods × schemes (full fine-tuning or an adapter) × seeds ×
// template on/off, each cell a train JobSpec of its own run folder. Pure: no I/O, so the CLI, the
// studio and a Slurm job array expand the same list.
import { join } from 'node:path';
import { defaultLr } from '../../common/defaults.js';
import { isZerothOrder } from '../../common/methods.js';
import {
  notApplicable,
  SWEEP_FO_STEPS,
  SWEEP_METHODS,
  SWEEP_SCHEMES,
  sweepSteps,
  ZO_STEP_FACTOR,
} from '../../common/sweep-grid.js';
import { methodNames, peftKinds, type MethodName, type PeftKind } from '../../common/methods.js';
import type { TableShape } from '../../common/sweep-table.js';
import { WhetstoneError } from '../errors.js';
import { trainSpecSchema, type BackendChoice, type JobSpec, type TrainSpec } from '../protocol.js';

export { notApplicable, SWEEP_FO_STEPS, SWEEP_METHODS, SWEEP_SCHEMES, sweepSteps, ZO_STEP_FACTOR };

type SweepSpec = Extract<JobSpec, { kind: 'sweep' }>;

/** What a sweep folder holds besides runs/KEY. */
// The tables in markdown are the folder's README.md: what a file browser or forge shows first.
export const SWEEP_FILES = { results: 'results.json', table: 'README.md' } as const;

/** Held-out share of the rows: what accuracy and eval loss are measured on. */
export const SWEEP_EVAL_FRACTION = 0.2;

export interface SweepOptions {
  model: string;
  data: string;
  /** The sweep folder: the cells' runs go to OUT/runs/KEY. */
  out: string;
  methods: readonly MethodName[];
  schemes: readonly PeftKind[];
  /** Seeds 0 … seeds-1. */
  seeds: number;
  /** Each cell twice: with the data's task template and without it (the ablation). */
  ablateTemplate: boolean;
  /** Steps per method; a method left out takes sweepSteps(method). */
  steps?: Partial<Record<MethodName, number>>;
  /**
   * Learning rate per method (`zo-sgd`) or per method and scheme (`zo-sgd/lora`, which wins);
   * a cell named by neither takes the default for its method and scheme.
   */
  lr?: Record<string, number>;
  batch?: number;
  seq?: number;
  evalFraction?: number;
  backend?: BackendChoice;
  /** Dataset choices every cell shares (the template with the ablation off). */
  dataset?: Pick<TrainSpec, 'format' | 'columns' | 'template' | 'labelWords'>;
}

export interface SweepCell {
  /** Unique within the sweep and a folder name: `zo-sgd.lora.seed0` (`.no-template` when off). */
  key: string;
  spec: TrainSpec;
}

/** The table's rows and columns, and the pairs that cannot train. */
export function tableShape(
  o: Pick<SweepOptions, 'methods' | 'schemes' | 'ablateTemplate'>,
): TableShape {
  const methods = unique(o.methods);
  const schemes = unique(o.schemes);
  const na: Record<string, string> = {};
  for (const m of methods)
    for (const s of schemes) {
      const why = notApplicable(m, s);
      if (why !== undefined) na[`${m}/${s}`] = why;
    }
  return { methods, schemes, ablateTemplate: o.ablateTemplate, notApplicable: na };
}

export const cellKey = (method: string, scheme: string, seed: number, template: boolean): string =>
  `${method}.${scheme}.seed${seed}${template ? '' : '.no-template'}`;

/** Every runnable cell, row by row (method, then scheme, template, seed). */
export function expandGrid(o: SweepOptions): SweepCell[] {
  if (o.methods.length === 0 || o.schemes.length === 0) {
    throw new WhetstoneError(
      'BAD_ARGUMENT',
      'A sweep needs at least one method and one scheme.',
      'E.g. --methods zo-sgd,fo-adamw --peft full,lora',
    );
  }
  if (!Number.isInteger(o.seeds) || o.seeds < 1) {
    throw new WhetstoneError('BAD_ARGUMENT', `--seeds ${o.seeds}: give a whole number ≥ 1.`);
  }
  const cells: SweepCell[] = [];
  for (const method of unique(o.methods)) {
    for (const scheme of unique(o.schemes)) {
      if (notApplicable(method, scheme)) continue;
      for (const template of o.ablateTemplate ? [true, false] : [true]) {
        for (let seed = 0; seed < o.seeds; seed++) {
          const key = cellKey(method, scheme, seed, template);
          cells.push({ key, spec: cellSpec(o, method, scheme, seed, template, key) });
        }
      }
    }
  }
  return cells;
}

function cellSpec(
  o: SweepOptions,
  method: MethodName,
  peft: PeftKind,
  seed: number,
  template: boolean,
  key: string,
): TrainSpec {
  const steps = o.steps?.[method] ?? sweepSteps(method);
  // A few evaluations per run (the curves' held-out loss) and a checkpoint halfway to resume from.
  const quarter = Math.max(1, Math.round(steps / 4));
  return trainSpecSchema.parse({
    kind: 'train',
    model: o.model,
    data: o.data,
    method,
    peft,
    seed,
    steps,
    lr: o.lr?.[`${method}/${peft}`] ?? o.lr?.[method] ?? defaultLr(method, peft),
    // MeZO: a constant rate for zeroth-order runs, a linear decay for backprop.
    schedule: isZerothOrder(method) ? 'constant' : 'linear',
    evalEvery: quarter,
    evalFraction: o.evalFraction ?? SWEEP_EVAL_FRACTION,
    // The held-out rows scored before training as well: the tables' zero-shot row.
    scoreStart: true,
    checkpointEvery: Math.max(1, Math.ceil(steps / 2)),
    out: join(o.out, 'runs', key),
    ...(o.batch !== undefined && { batch: o.batch }),
    ...(o.seq !== undefined && { seq: o.seq }),
    ...(o.backend !== undefined && { backend: o.backend }),
    ...o.dataset,
    ...(!template && { noTemplate: true }),
  });
}

const unique = <T>(list: readonly T[]): T[] => [...new Set(list)];

/** A sweep job's fields as grid options: the lists split and checked, per-method values parsed. */
export function sweepOptionsOf(spec: SweepSpec): SweepOptions {
  const methods = listOf('--methods', spec.methods, methodNames, SWEEP_METHODS);
  return {
    model: spec.model,
    data: spec.data,
    out: spec.out,
    methods,
    schemes: listOf('--peft', spec.peft, peftKinds, SWEEP_SCHEMES),
    seeds: spec.seeds,
    ablateTemplate: spec.ablateTemplate,
    ...(spec.steps !== undefined && { steps: perMethod('--steps', spec.steps, methods, true) }),
    ...(spec.lr !== undefined && { lr: perMethod('--lr', spec.lr, methods, false, peftKinds) }),
    ...(spec.batch !== undefined && { batch: spec.batch }),
    ...(spec.seq !== undefined && { seq: spec.seq }),
    ...(spec.evalFraction !== undefined && { evalFraction: spec.evalFraction }),
    ...(spec.backend !== undefined && { backend: spec.backend }),
    dataset: {
      ...(spec.format !== undefined && { format: spec.format }),
      ...(spec.columns !== undefined && { columns: spec.columns }),
      ...(spec.template !== undefined && { template: spec.template }),
      ...(spec.labelWords !== undefined && { labelWords: spec.labelWords }),
    },
  };
}

function listOf<T extends string>(
  flag: string,
  text: string | undefined,
  known: readonly T[],
  fallback: readonly T[],
): T[] {
  if (text === undefined) return [...fallback];
  const names = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const unknown = names.filter((n) => !(known as readonly string[]).includes(n));
  if (unknown.length > 0 || names.length === 0) {
    throw new WhetstoneError(
      'BAD_ARGUMENT',
      `${flag} ${text}: ${unknown.length ? `unknown ${unknown.join(', ')}` : 'empty list'}.`,
      `Choose from: ${known.join(', ')}.`,
    );
  }
  return unique(names as T[]);
}

/**
 * `200` for every method, or `zo-sgd=400,fo-adamw=40` for some (the others keep defaults). Where
 * `schemes` is given a key may also name one scheme of a method: `zo-sgd/lora=5e-4`.
 */
function perMethod(
  flag: string,
  value: number | string,
  methods: readonly MethodName[],
  whole: boolean,
  schemes?: readonly PeftKind[],
): Record<string, number> {
  const check = (text: string | number, what: string): number => {
    const n = Number(text);
    if (String(text).trim() === '' || !(n > 0) || (whole && !Number.isInteger(n))) {
      throw new WhetstoneError(
        'BAD_ARGUMENT',
        `${flag} ${value}: ${what} "${text}" is not a positive ${whole ? 'whole number' : 'number'}.`,
        `Give one value (${flag} ${whole ? 200 : '1e-4'}) or one per method (${flag} zo-sgd=${whole ? 400 : '1e-4'},fo-adamw=${whole ? 40 : '1e-3'}).`,
      );
    }
    return n;
  };
  if (typeof value === 'number' || !value.includes('=')) {
    const n = check(value, 'value');
    return Object.fromEntries(methods.map((m) => [m, n]));
  }
  const out: Record<string, number> = {};
  for (const part of value.split(',')) {
    const [name = '', text = ''] = part.split('=').map((s) => s.trim());
    const [method = '', scheme] = name.split('/');
    const knownScheme =
      scheme === undefined ||
      (schemes !== undefined && (schemes as readonly string[]).includes(scheme));
    if (!(methods as readonly string[]).includes(method) || !knownScheme) {
      throw new WhetstoneError(
        'BAD_ARGUMENT',
        `${flag} ${value}: "${name}" is not one of the sweep's methods${schemes ? ' (or method/scheme)' : ''}.`,
        `The methods are: ${methods.join(', ')}${schemes ? `; the schemes: ${schemes.join(', ')}` : ''}.`,
      );
    }
    out[name] = check(text, name);
  }
  return out;
}
