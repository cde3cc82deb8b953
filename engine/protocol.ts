// The engine's contract with every host (CLI, child process, Electron utility process): jobs
// come in as JobSpec (validated with zod at the boundary), events go out as a versioned tagged
// union. Nothing else crosses.
import { z } from 'zod';
import { modelTypes } from '../common/architectures.js';
import { methodNames, peftKinds } from '../common/methods.js';
import { dataFields } from './data/options.js';
import type { ErrorInfo } from './errors.js';
import { backendNames } from './backend/types.js';
import type { JobResults } from './job-results.js';

export type * from './job-results.js';

export const PROTOCOL_VERSION = 1;

export { backendNames };
export type BackendChoice = (typeof backendNames)[number];

const modelDir = z.string().min(1);
const common = { backend: z.enum(backendNames).optional() };

// The method and adapter names are the studio's too (common/methods.ts).
export { isZerothOrder, methodNames, peftKinds, zoMethodNames } from '../common/methods.js';
export const scheduleKinds = ['constant', 'linear', 'cosine'] as const;
/** Where AdamW's moments for adapter weights live: on the device, in host memory, or decided by fit. */
export const pagedOptimModes = ['auto', 'on', 'off'] as const;
export const exportFormats = ['merged', 'adapter', 'gguf'] as const;
/** GGUF export: the tensor encoding (engine/export/gguf/quant-mix.ts). */
export const ggufQuantNames = ['f32', 'f16', 'bf16', 'q8_0', 'q4_0', 'q4_k_m'] as const;

/** What is trained: every weight, or an adapter (docs/methods.md#adapters-peft). */
export const peftFields = {
  peft: z.enum(peftKinds).default('full'),
  loraR: z.number().int().positive().optional(),
  loraAlpha: z.number().positive().optional(),
  loraDropout: z.number().min(0).lt(1).optional(),
  /** Comma-separated module names (`q_proj,v_proj`) or `all-linear`; default per architecture. */
  loraTargets: z.string().min(1).optional(),
  rslora: z.boolean().default(false),
  /** AdaLoRA: rank each matrix starts with (default 12). */
  adaloraInitR: z.number().int().positive().optional(),
  /** AdaLoRA: average rank the budget ends at (default 8). */
  adaloraTargetR: z.number().int().positive().optional(),
  /** AdaLoRA: steps of warm-up before ranks are pruned (default 10% of the steps). */
  adaloraTinit: z.number().int().nonnegative().optional(),
  /** AdaLoRA: final steps at the target budget (default 30% of the steps). */
  adaloraTfinal: z.number().int().nonnegative().optional(),
  /** AdaLoRA: steps between budget allocations (default 10). */
  adaloraDeltaT: z.number().int().positive().optional(),
  /** AdaLoRA: weight of the orthogonality regulariser (default 0.5). */
  adaloraOrthReg: z.number().nonnegative().optional(),
  /** Prefix and prompt tuning: number of virtual tokens (default 20 for prompt, 5 for prefix). */
  virtualTokens: z.number().int().positive().max(512).optional(),
  /** Prefix and prompt tuning: initialise the virtual tokens from this text (default: random). */
  promptInitText: z.string().min(1).optional(),
  /** Adapter optimizer state in host memory ("paged"); auto pages when the device is short. */
  pagedOptim: z.enum(pagedOptimModes).default('auto'),
};

/** A training run as asked for; stored as the run's spec.json. */
export const trainFields = {
  model: modelDir,
  data: z.string().min(1),
  method: z.enum(methodNames),
  /** Optimizer steps in all. */
  steps: z.number().int().positive().default(100),
  /** Instead of steps: passes over the training rows. */
  epochs: z.number().positive().optional(),
  /** Learning rate (default per method). */
  lr: z.number().positive().optional(),
  batch: z.number().int().positive().default(4),
  /** Sequence length (default min(256, context)). */
  seq: z.number().int().positive().optional(),
  gradAccum: z.number().int().positive().default(1),
  schedule: z.enum(scheduleKinds).default('linear'),
  warmup: z.number().int().nonnegative().default(0),
  weightDecay: z.number().nonnegative().default(0),
  maxGradNorm: z.number().positive().optional(),
  clipValue: z.number().positive().optional(),
  /** FO methods: recompute activations block by block (LOMO and AdaLomo always do). */
  recompute: z.boolean().default(false),
  /** Zeroth-order methods: perturbation scale μ (default 1e-3; adapters larger, defaultZoEps). */
  zoEps: z.number().positive().optional(),
  /** Zeroth-order methods: random directions averaged per step. */
  zoQueries: z.number().int().positive().max(1024).default(1),
  /** Zeroth-order methods: (f(θ+μz) − f(θ))/μ instead of the two-sided difference. */
  zoOneSided: z.boolean().default(false),
  /** zo-sign: sign of the projected gradient (ZO-Bench's code) or of every element of ĝ. */
  zoSignForm: z.enum(['projected', 'elementwise']).default('projected'),
  evalEvery: z.number().int().positive().optional(),
  evalFraction: z.number().min(0).lt(1).default(0.1),
  /** Also score the held-out classification rows before the first step (a sweep's zero-shot row). */
  scoreStart: z.boolean().optional(),
  checkpointEvery: z.number().int().positive().default(50),
  /** Run folder (default runs/<time>-<method> in the working directory). */
  out: z.string().min(1).optional(),
  seed: z.number().int().default(0),
  ...peftFields,
  /** Start from this PEFT adapter folder (adapter_config.json + adapter_model.safetensors). */
  initAdapter: z.string().min(1).optional(),
  ...dataFields,
};

export const trainSpecSchema = z.object({ kind: z.literal('train'), ...trainFields, ...common });
export type TrainSpec = z.infer<typeof trainSpecSchema>;

/** Fields a run's spec.json may hold under an older name: old name -> current name. */
const renamedTrainFields = { checkpointing: 'recompute' } as const;

/** A stored spec.json with its older field names moved to the current ones (for resume). */
export function upgradeStoredSpec(stored: unknown): unknown {
  if (typeof stored !== 'object' || stored === null) return stored;
  const spec: Record<string, unknown> = { ...stored };
  for (const [old, current] of Object.entries(renamedTrainFields)) {
    if (old in spec && !(current in spec)) spec[current] = spec[old];
    delete spec[old];
  }
  return spec;
}

export const jobSpecSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('backends'), ...common }),
  z.object({ kind: z.literal('info'), model: modelDir, ...common }),
  z.object({
    kind: z.literal('generate'),
    model: modelDir,
    /** Generate with this run's tuned model (its newest checkpoint over `model`, the base). */
    run: z.string().min(1).optional(),
    prompt: z.string(),
    /** Wrap the prompt as a user turn with the model's chat template. */
    chat: z.boolean().default(false),
    maxNewTokens: z.number().int().positive().default(64),
    temperature: z.number().nonnegative().default(0),
    topK: z.number().int().nonnegative().default(0),
    topP: z.number().gt(0).lte(1).default(1),
    seed: z.number().int().default(0),
    ...common,
  }),
  z.object({
    kind: z.literal('eval'),
    model: modelDir,
    data: z.string().min(1),
    /** Truncate texts to this many tokens (default min(1024, context)). */
    seq: z.number().int().positive().optional(),
    batch: z.number().int().positive().default(4),
    ...dataFields,
    ...common,
  }),
  z.object({
    kind: z.literal('inspect'),
    data: z.string().min(1),
    /** Tokenise with this model's tokenizer and chat template (token-length statistics). */
    model: modelDir.optional(),
    /** Rows shown rendered (default 3). */
    rows: z.number().int().nonnegative().default(3),
    /** Sequence length the length statistics count against (default min(256, context)). */
    seq: z.number().int().positive().optional(),
    /** Read only the first N rows (default: the whole file). */
    limit: z.number().int().positive().optional(),
    ...dataFields,
    ...common,
  }),
  z.object({
    kind: z.literal('logits'),
    model: modelDir,
    ids: z.string().min(1),
    out: z.string().min(1),
    ...common,
  }),
  trainSpecSchema,
  z.object({
    kind: z.literal('resume'),
    run: z.string().min(1),
    /** Train to this many steps in all (default: the run's own). */
    steps: z.number().int().positive().optional(),
    ...common,
  }),
  z.object({
    kind: z.literal('replay'),
    run: z.string().min(1),
    out: z.string().min(1),
    /** The base model, if it moved since the run (default: the run's own). */
    model: modelDir.optional(),
    /** Apply only the first N records of the history. */
    records: z.number().int().nonnegative().optional(),
    force: z.boolean().default(false),
    ...common,
  }),
  z.object({
    kind: z.literal('sweep'),
    model: modelDir,
    data: z.string().min(1),
    /** Comma-separated methods (default ZO-Bench's eight, engine/sweep/grid.ts). */
    methods: z.string().min(1).optional(),
    /** Comma-separated schemes: full, lora, qlora, adalora, prefix, prompt (default full,lora,prefix,prompt). */
    peft: z.string().min(1).optional(),
    /** Steps of every method (`200`) or per method (`zo-sgd=400,fo-adamw=40`); default per method. */
    steps: z.union([z.number().int().positive(), z.string().min(1)]).optional(),
    /** Learning rate likewise (`1e-4`, `zo-sgd=1e-4,fo-adamw=1e-3`, `zo-sgd/lora=5e-4`); default per method and scheme. */
    lr: z.union([z.number().positive(), z.string().min(1)]).optional(),
    seeds: z.number().int().positive().default(1),
    /** Every cell with and without the task template (the task-alignment ablation). */
    ablateTemplate: z.boolean().default(false),
    batch: z.number().int().positive().optional(),
    seq: z.number().int().positive().optional(),
    evalFraction: z.number().gt(0).lt(1).optional(),
    /** The loss whose first step the table reports (default: common/sweep-table.ts). */
    targetLoss: z.number().optional(),
    /** The sweep folder: runs/KEY per cell, results.json, and the tables in its README.md. */
    out: z.string().min(1),
    /**
     * A cluster profile: the CLI sends the grid there as one Slurm job array
     * (engine/cluster/sweep.ts) instead of starting this job.
     */
    cluster: z.string().min(1).optional(),
    format: dataFields.format,
    columns: dataFields.columns,
    template: dataFields.template,
    labelWords: dataFields.labelWords,
    ...common,
  }),
  z.object({
    kind: z.literal('estimate'),
    model: modelDir,
    method: z.enum(methodNames),
    batch: z.number().int().positive().default(4),
    seq: z.number().int().positive().optional(),
    recompute: z.boolean().default(false),
    ...peftFields,
    ...common,
  }),
  z.object({
    kind: z.literal('export'),
    /** The run to export; gguf may take a plain model folder (`model`) instead. */
    run: z.string().min(1).optional(),
    format: z.enum(exportFormats).default('merged'),
    /** gguf: how tensors are encoded (default f16). */
    quant: z.enum(ggufQuantNames).optional(),
    out: z.string().min(1),
    /** The base model, if it moved since the run (default: the run's own). */
    model: modelDir.optional(),
    /** Shard merged weights above this many bytes (default 5 GB). */
    maxShardBytes: z.number().int().positive().optional(),
    force: z.boolean().default(false),
    ...common,
  }),
  z.object({
    kind: z.literal('fixture'),
    /** A small model of this architecture, or (with `preset`) a published model's exact shapes. */
    arch: z.enum(modelTypes).optional(),
    preset: z.string().min(1).optional(),
    out: z.string().min(1),
    layers: z.number().int().positive().optional(),
    hidden: z.number().int().positive().optional(),
    heads: z.number().int().positive().optional(),
    kvHeads: z.number().int().positive().optional(),
    vocab: z.number().int().positive().optional(),
    contextLength: z.number().int().positive().optional(),
    seed: z.number().int().optional(),
    dtype: z.enum(['F32', 'F16', 'BF16']).optional(),
    maxShardBytes: z.number().int().positive().optional(),
    force: z.boolean().optional(),
    ...common,
  }),
]);

export type JobSpec = z.infer<typeof jobSpecSchema>;
/** A JobSpec as a host sends it: fields with defaults may be left out. */
export type JobInput = z.input<typeof jobSpecSchema>;
export type JobKind = JobSpec['kind'];

/** Memory figures every finished job reports. */
export interface MemoryReport {
  /** Highest tensor bytes alive at once during the job. */
  peakBytes: number;
  /** Bytes of the model's weights as held by the backend (float32). */
  weightBytes: number;
  liveBytes: number;
  rssBytes: number;
}

export type EngineEvent =
  | {
      type: 'hello';
      v: typeof PROTOCOL_VERSION;
      backend?: { name: string; device: string; skipped: { backend: string; reason: string }[] };
    }
  | { type: 'log'; level: 'error' | 'warn' | 'info' | 'debug'; scope: string; message: string }
  | { type: 'progress'; phase: string; done: number; total?: number }
  | { type: 'token'; index: number; id: number; text: string }
  | DoneEvent
  | ({ type: 'error' } & ErrorInfo)
  | TrainEvent;

/** A job's end: its kind, its fields (JobResults), and the memory and time it took. */
export type DoneEvent<K extends JobKind = JobKind> = {
  [P in K]: { type: 'done'; job: P; memory: MemoryReport; elapsedMs: number } & JobResults[P];
}[K];

export type Emit = (event: EngineEvent) => void;

/** Tensor bytes of a step: alive after it, and the most alive at once during it. */
export interface MemoryFigures {
  liveBytes: number;
  peakBytes: number;
  /**
   * The backend's device memory after the step, and what it measures: WebGPU's allocated
   * buffers, the wasm heap, or the process RSS (cpu, tensorflow).
   */
  deviceBytes?: number;
  deviceSource?: 'webgpu-allocated' | 'wasm-heap' | 'process-rss';
}

/** What a training run reports as it goes (also appended to the run's events.jsonl). */
export type TrainEvent =
  | {
      type: 'step';
      step: number;
      loss: number;
      lr: number;
      gradNorm?: number;
      /** Zeroth-order methods: the step's projected gradient. */
      projectedGrad?: number;
      tokensPerSec: number;
      /** Target tokens in the step. */
      tokens: number;
      memory: MemoryFigures;
      elapsedMs: number;
      etaMs: number;
    }
  | {
      type: 'eval';
      step: number;
      loss: number;
      perplexity: number;
      tokens: number;
      /** Masked LMs on classification: the held-out rows' accuracy (argmax at the target). */
      accuracy?: number;
    }
  /**
   * Classification data with held-out rows: the tuned model's accuracy on them, at the end (and at
   * step 0, before training, with scoreStart).
   */
  | { type: 'accuracy'; step: number; accuracy: number; correct: number; examples: number }
  | { type: 'checkpoint'; step: number; path: string }
  /** Held at a step boundary (weights and optimizer state kept) until the host continues. */
  | { type: 'pause'; step: number; elapsedMs: number }
  | { type: 'continue'; step: number; pausedMs: number };
