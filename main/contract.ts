// The renderer <-> main contract: one entry per channel with its input schema and output type,
// plus the run event stream. The preload API, main's handlers and the WebSocket bridge are all
// derived from this file, so a channel without a handler or a preload entry fails to compile.
import { z } from 'zod';
import { dataFields } from '../engine/data/options.js';
import type { ErrorInfo } from '../engine/errors.js';
import {
  backendNames,
  exportFormats,
  ggufQuantNames,
  methodNames,
  peftFields,
  peftKinds,
  trainFields,
} from '../engine/protocol.js';
import type {
  EstimateResult,
  ExportResult,
  GenerateResult,
  InspectReport,
  ModelInfo,
} from '../engine/protocol.js';
import type { Examples } from './examples.js';
import type { CellRecord, SweepTables } from '../common/sweep-table.js';
import { clusterProfileSchema, type ClusterProfile } from '../engine/cluster/profile.js';

export type { ClusterProfile };

export interface SystemInfo {
  appVersion: string;
  platform: string;
  backend: string;
  device: string;
  gpu: boolean;
  software: boolean;
  skipped: { backend: string; reason: string }[];
  /** Device memory where the driver tells (nvidia-smi); absent figures are unknown, not zero. */
  deviceMemory: { source: string; totalBytes?: number; freeBytes?: number };
  hostMemory: { totalBytes: number; freeBytes: number };
}

export { runStatuses, type RunStatus } from '../common/run-status.js';
import type { RunStatus } from '../common/run-status.js';

/** One event of a run: an engine event, or a line of its events.jsonl (start, resume, done...). */
export type RunEvent = { type: string } & Record<string, unknown>;

export interface RunSummary {
  id: string;
  dir: string;
  status: RunStatus;
  method?: string;
  /** What trained: 'full' or the adapter kind (lora, qlora, ...). */
  peft?: string;
  model?: string;
  data?: string;
  /** Last step reported, and the run's target. */
  step: number;
  maxSteps?: number;
  lastLoss?: number;
  /** Highest tensor bytes any step of the run reported. */
  peakBytes?: number;
  /** Step of the newest checkpoint on disk: where `runs:resume` continues from. */
  checkpointStep?: number;
  /** Why a failed run failed. */
  error?: ErrorInfo;
  /** A run on a Slurm cluster: its profile, its job, and Slurm's state and reason for it. */
  cluster?: ClusterJobSummary;
  createdAt: string;
}

export interface ClusterJobSummary {
  name: string;
  jobId: string;
  /** PENDING, RUNNING, COMPLETED, TIMEOUT...; absent until Slurm has been asked. */
  state?: string;
  reason?: string;
}

/** What a run watcher receives: first the history (catchUp), then live batches. */
export type RunStreamMessage =
  | {
      kind: 'events';
      runId: string;
      status: RunStatus;
      catchUp: boolean;
      events: RunEvent[];
      /** A cluster run's job and Slurm's latest word on it (queued, running, why it ended). */
      cluster?: ClusterJobSummary;
    }
  | { kind: 'error'; runId: string; error: ErrorInfo };

export const pathKinds = ['model', 'dataset'] as const;
export type PathKind = (typeof pathKinds)[number];
/** What a dialog may pick: a model or dataset to read, or a folder to export into. */
export const pickKinds = [...pathKinds, 'export'] as const;
export type PickKind = (typeof pickKinds)[number];

export interface PickedPath {
  kind: PickKind;
  path: string;
}

export interface ModelEntry {
  path: string;
  name: string;
  source: 'recent' | 'hf-cache';
  /** Recent models: when last used (ISO time). */
  lastUsed?: string;
  /** Hugging Face cache: the snapshot's revision. */
  revision?: string;
}

// The engine jobs' results (engine/job-results.ts) are what these channels return.
export type { EstimateResult, ExportResult, GenerateResult, ModelInfo };

/** How far an export has got: tensors loaded, then bytes of weights written, of all. */
export interface ExportProgress {
  phase: 'load' | 'write';
  done: number;
  total?: number;
}

/** The bridge takes 1 MiB a message: files up to ~700 KB travel as base64. */
export const MAX_UPLOAD_BASE64 = 1000 * 1000;

const runId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'a run id (letters, digits, ._-)');

/** A method comparison: the grid's lists, seeds and the template ablation (engine/sweep/grid.ts). */
const sweepRequest = z
  .object({
    model: z.string().min(1),
    data: z.string().min(1),
    methods: z.array(z.enum(methodNames)).min(1),
    schemes: z.array(z.enum(peftKinds)).min(1),
    seeds: z.number().int().positive().max(20),
    ablateTemplate: z.boolean(),
    /** Per method; a method left out takes the sweep's default. */
    steps: z.partialRecord(z.enum(methodNames), z.number().int().positive()).optional(),
    lr: z.partialRecord(z.enum(methodNames), z.number().positive()).optional(),
    batch: z.number().int().positive().optional(),
    seq: z.number().int().positive().optional(),
    backend: z.enum(backendNames).optional(),
    dataset: z
      .object(dataFields)
      .pick({ format: true, columns: true, template: true, labelWords: true })
      .partial()
      .optional(),
    /** A cluster profile: the grid goes to Slurm as one job array instead of running here. */
    cluster: z.string().min(1).optional(),
  })
  .strict();

export type SweepRequest = z.infer<typeof sweepRequest>;

export interface SweepSummary {
  id: string;
  createdAt: string;
  status: 'running' | 'done' | 'cancelled' | 'interrupted';
  request: SweepRequest;
  /** Each cell, with the run that trains it once started, or why it was not (does not fit). */
  cells: { key: string; runId?: string; unfit?: string }[];
  /** Cells whose run has ended. */
  done: number;
  total: number;
  /** The cell training now. */
  current?: string;
}

/** A comparison with every cell's record (from its run's folder) and the tables so far. */
export interface SweepReport extends SweepSummary {
  records: CellRecord[];
  tables: SweepTables;
}

export const contract = {
  'system:info': {
    input: z.object({ refresh: z.boolean().optional() }).strict(),
    output: undefined as unknown as SystemInfo,
  },
  'runs:list': { input: z.object({}).strict(), output: undefined as unknown as RunSummary[] },
  'runs:get': {
    input: z.object({ runId }).strict(),
    output: undefined as unknown as RunSummary & { spec: unknown },
  },
  'runs:start': {
    // The engine's own training fields; the run folder is main's to choose (no `out`).
    input: z
      .object(trainFields)
      .omit({ out: true })
      .extend({ backend: z.enum(backendNames).optional() })
      .strict(),
    output: undefined as unknown as RunSummary,
  },
  'runs:submit': {
    // As runs:start, sent to a Slurm cluster profile; paths are the cluster's.
    input: z
      .object(trainFields)
      .omit({ out: true })
      .extend({ backend: z.enum(backendNames).optional(), cluster: z.string().min(1) })
      .strict(),
    output: undefined as unknown as RunSummary,
  },
  'clusters:list': {
    input: z.object({}).strict(),
    output: undefined as unknown as ClusterProfile[],
  },
  'clusters:save': {
    // Checked against the cluster (Slurm answers, partition, shared folder) before it is saved.
    input: z.object({ profile: clusterProfileSchema }).strict(),
    output: undefined as unknown as ClusterProfile,
  },
  'clusters:remove': {
    input: z.object({ name: z.string().min(1) }).strict(),
    output: undefined as unknown as ClusterProfile[],
  },
  'runs:resume': {
    input: z.object({ runId, steps: z.number().int().positive().optional() }).strict(),
    output: undefined as unknown as RunSummary,
  },
  'runs:cancel': {
    input: z.object({ runId }).strict(),
    output: undefined as unknown as RunSummary,
  },
  'runs:pause': {
    // Hold at the next step boundary (engine and memory kept) or, with paused: false, go on.
    input: z.object({ runId, paused: z.boolean() }).strict(),
    output: undefined as unknown as RunSummary,
  },
  'paths:pick': {
    // An export folder can only be picked, never typed: typed paths would let a page write anywhere.
    input: z.object({ kind: z.enum(pickKinds) }).strict(),
    output: undefined as unknown as PickedPath | null,
  },
  'paths:add': {
    // A dropped file or a typed path: the user names it, so it joins the allow-list.
    input: z.object({ kind: z.enum(pathKinds), path: z.string().min(1) }).strict(),
    output: undefined as unknown as PickedPath,
  },
  'models:recent': { input: z.object({}).strict(), output: undefined as unknown as ModelEntry[] },
  'models:hf-cache': { input: z.object({}).strict(), output: undefined as unknown as ModelEntry[] },
  'models:info': {
    // The engine's names: `model` and `data` are the folder and file a job reads.
    input: z.object({ model: z.string().min(1) }).strict(),
    output: undefined as unknown as ModelInfo,
  },
  'models:estimate': {
    input: z
      .object({
        model: z.string().min(1),
        method: z.enum(methodNames),
        batch: z.number().int().positive().optional(),
        seq: z.number().int().positive().optional(),
        recompute: z.boolean().optional(),
        peft: z.enum(peftKinds).optional(),
        // The adapter settings that change memory: its rank, where it sits, how many virtual
        // tokens, and whether optimizer state is paged to host memory.
        ...z
          .object(peftFields)
          .pick({
            loraR: true,
            loraTargets: true,
            adaloraInitR: true,
            virtualTokens: true,
            pagedOptim: true,
          })
          .partial().shape,
      })
      .strict(),
    output: undefined as unknown as EstimateResult,
  },
  'models:generate': {
    input: z
      .object({
        model: z.string().min(1),
        /** Generate with this run's newest checkpoint (its weights, adapter, prefix or prompt). */
        runId: z.string().min(1).optional(),
        prompt: z.string(),
        /** Wrap the prompt as a user turn with the model's chat template. */
        chat: z.boolean().optional(),
        maxNewTokens: z.number().int().positive().max(512).optional(),
        temperature: z.number().nonnegative().optional(),
        seed: z.number().int().optional(),
      })
      .strict(),
    output: undefined as unknown as GenerateResult,
  },
  'data:inspect': {
    input: z
      .object({
        data: z.string().min(1),
        model: z.string().min(1).optional(),
        rows: z.number().int().nonnegative().max(50).optional(),
        seq: z.number().int().positive().optional(),
        /** Read only the first N rows: a preview of a large file answers quickly. */
        limit: z.number().int().positive().optional(),
        ...dataFields,
      })
      .strict(),
    output: undefined as unknown as InspectReport,
  },
  'app:examples': { input: z.object({}).strict(), output: undefined as unknown as Examples },
  'datasets:upload': {
    // Web mode: a dropped file's bytes (a page sees no paths), kept in the data folder's uploads/.
    input: z
      .object({
        name: z.string().regex(/^[^/\\]{1,200}$/, 'a file name without folders'),
        base64: z.string().max(MAX_UPLOAD_BASE64),
      })
      .strict(),
    output: undefined as unknown as PickedPath,
  },
  'runs:open-folder': {
    // The desktop's file manager; web mode has none to open.
    input: z.object({ runId }).strict(),
    output: undefined as unknown as { dir: string },
  },
  'runs:export': {
    // Merged weights of the run's newest checkpoint; `out` defaults to the run's exports/ folder.
    // A typed `out` must lie inside the run's folder, the exports folder, or a folder the user
    // picked (paths:pick with kind 'export'); anything else is PATH_NOT_ALLOWED.
    input: z
      .object({
        runId,
        out: z.string().min(1).optional(),
        // An adapter run may also be exported as its PEFT adapter folder alone.
        format: z.enum(exportFormats).optional(),
        // gguf: the tensor encoding (a GGUF file and an Ollama Modelfile go into `out`).
        quant: z.enum(ggufQuantNames).optional(),
      })
      .strict(),
    output: undefined as unknown as ExportResult,
  },
  'sweeps:start': {
    // Each cell becomes a run of the store; the comparison goes on in main, one run at a time.
    input: sweepRequest,
    output: undefined as unknown as SweepSummary,
  },
  'sweeps:list': { input: z.object({}).strict(), output: undefined as unknown as SweepSummary[] },
  'sweeps:get': {
    // With every cell's record and the tables so far: progress while it runs, the result after.
    input: z.object({ sweepId: runId }).strict(),
    output: undefined as unknown as SweepReport,
  },
  'sweeps:cancel': {
    input: z.object({ sweepId: runId }).strict(),
    output: undefined as unknown as SweepSummary,
  },
  'runs:export-progress': {
    // The export of `runId` under way: its phase (load, write) and how far; null when none is.
    input: z.object({ runId }).strict(),
    output: undefined as unknown as ExportProgress | null,
  },
} as const;

export type Channel = keyof typeof contract;
export type ChannelInput<C extends Channel> = z.infer<(typeof contract)[C]['input']>;
export type ChannelOutput<C extends Channel> = (typeof contract)[C]['output'];

/** What crosses IPC: Electron passes only `message` of a thrown error, so errors are values. */
export type IpcResult<T> = { ok: true; data: T } | { ok: false; error: ErrorInfo };

export type RunListener = (message: RunStreamMessage) => void;

/** Main's side: one handler per channel, plus the run stream. */
export type Handlers = { [C in Channel]: (input: ChannelInput<C>) => Promise<ChannelOutput<C>> };
export interface Services {
  handlers: Handlers;
  /** Send a run's history, then its live events, to `listener`; returns the unsubscribe. */
  watchRun(runId: string, listener: RunListener): () => void;
}

/** The API the renderer sees (`window.whetstone` in Electron, the WebSocket client in a browser). */
export type WhetstoneApi = {
  [C in Channel]: (input: ChannelInput<C>) => Promise<IpcResult<ChannelOutput<C>>>;
} & {
  watchRun(runId: string, listener: RunListener): () => void;
};

/** What only the desktop preload adds: a dropped File's path (pages see no paths). */
export interface DesktopExtras {
  pathForFile(file: unknown): string;
}

/** Runtime list of channels, for transports that must know them without the schemas. */
export const channels = Object.keys(contract) as Channel[];
