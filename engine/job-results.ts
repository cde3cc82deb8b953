// What each job reports in its `done` event, by job kind: the one typing of the engine's output
// that the jobs are checked against and that main and the renderer read (`import type` only).
import type { CellRecord, SweepTables } from '../common/sweep-table.js';
import type { BackendReport } from './backend/select.js';
import type { DeviceMemory } from './backend/memory.js';
import type { WebGpuDeviceInfo } from './backend/webgpu.js';
import type { InspectReport } from './data/inspect.js';
import type { GenerateResult as Generation } from './models/generate.js';
import type { PeftKind } from './peft/config.js';
import type { AccuracyResult } from './train/classify.js';
import type { MemoryEstimate } from './train/estimate.js';
import type { EvalResult } from './train/evaluate.js';
import type { TrainSummary } from './train/trainer.js';

export type { InspectReport };

/**
 * `backends`: the backend this machine gets, why better ones were skipped, its device memory,
 * and on WebGPU the adapter's limits and features.
 */
export type BackendsResult = BackendReport & {
  deviceMemory: DeviceMemory;
  webgpu?: WebGpuDeviceInfo;
};

/** `info`: a model folder, from config.json and the safetensors headers. */
export interface ModelInfo {
  modelType: string;
  family: string;
  parameters: number;
  layers: number;
  hidden: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  vocab: number;
  contextLength: number;
  tieWordEmbeddings: boolean;
  /** Bytes of the weights as float32 tensors. */
  weightBytes: number;
  diskBytes: number;
  storedDtypes: string[];
  torchDtype?: string;
  files: string[];
  /** What the tokenizer holds, or why it could not be read. */
  tokenizer:
    | { vocabSize: number; chatTemplate: boolean; bosTokenId?: number; eosTokenIds: number[] }
    | { error: string };
}

export interface GenerateResult {
  text: string;
  promptTokens: number;
  newTokens: number;
  ids: number[];
  stoppedBy: Generation['stoppedBy'];
  prefillMs: number;
  tokensPerSecond: number;
}

/** `eval`: loss over plain text or a dataset's trained tokens, or a classification's accuracy. */
export type EvalJobResult =
  | (EvalResult & { seq: number; format?: string })
  | (AccuracyResult & { format: 'classification'; task?: string; template: boolean });

export interface LogitsResult {
  out: string;
  /** [B, T, V] */
  shape: [number, number, number];
}

/** `train` and `resume`: the run's summary. */
export interface TrainResult {
  /** `accuracy`: on the held-out rows, for classification data with rows held out. */
  summary: TrainSummary & { runDir: string; weightBytes: number; accuracy?: number };
}

export interface ReplayResult {
  out: string;
  records: number;
  method: string;
  files: string[];
}

/** `estimate`: the predicted peak for one method and step shape. */
export interface EstimateResult {
  method: string;
  peft: PeftKind;
  batch: number;
  seq: number;
  pagedOptim: boolean;
  estimate: MemoryEstimate;
  /** Whether the run fits the backend it would get (absent for a GPU: known once it starts). */
  fit?: RunFit;
}

/** The estimate against one backend's ceilings. */
export interface RunFit {
  backend: string;
  fits: boolean;
  /** The ceiling that binds: the wasm heap, or the host memory the process may take. */
  limitBytes: number;
  limitWhat: string;
  /** Does not fit `backend`, but an automatic choice takes this later one, which holds it. */
  fallback?: string;
  /** Why not and what would fit (as a run's DEVICE_LIMIT says it), when it does not fit. */
  message?: string;
  hint?: string;
}

export interface ExportResult {
  format: 'merged' | 'adapter' | 'gguf';
  /** gguf: the encoding written. */
  quant?: string;
  /** The Hugging Face (or PEFT adapter) folder, or the GGUF file, written. */
  out: string;
  /** A run's export: the checkpoint step it holds, and what trained it (absent for the GGUF of a
   * plain model folder). */
  step?: number;
  method?: string;
  peft?: PeftKind;
  files: string[];
  warnings: string[];
  /** The GGUF of a model folder: its size, and how many tensors of each ggml type it holds. */
  bytes?: number;
  types?: Record<string, number>;
}

export interface FixtureJobResult {
  out: string;
  /** A small model's architecture, or the published model whose shapes a preset copies. */
  arch?: string;
  preset?: string;
  parameters: number;
}

/** Job kind -> the fields of its `done` event. */
export interface JobResults {
  backends: BackendsResult;
  info: ModelInfo;
  generate: GenerateResult;
  eval: EvalJobResult;
  inspect: InspectReport;
  logits: LogitsResult;
  train: TrainResult;
  resume: TrainResult;
  replay: ReplayResult;
  estimate: EstimateResult;
  export: ExportResult;
  fixture: FixtureJobResult;
  sweep: SweepResult;
}

/** `sweep`: the folder, the grid's cells as their runs left them, and the tables. */
export interface SweepResult {
  out: string;
  cells: CellRecord[];
  tables: SweepTables;
}
