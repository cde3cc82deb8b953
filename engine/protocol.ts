// The engine's contract with every host (CLI, child process, Electron utility process): jobs
// come in as JobSpec (validated with zod at the boundary), events go out as a versioned tagged
// union. Nothing else crosses.
import { z } from 'zod';
import type { ErrorInfo } from './errors.js';

export const PROTOCOL_VERSION = 1;

export const backendNames = ['tensorflow', 'webgpu', 'wasm', 'cpu'] as const;
export type BackendChoice = (typeof backendNames)[number];

const modelDir = z.string().min(1);
const common = { backend: z.enum(backendNames).optional() };

export const jobSpecSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('backends'), ...common }),
  z.object({ kind: z.literal('info'), model: modelDir, ...common }),
  z.object({
    kind: z.literal('generate'),
    model: modelDir,
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
    maxLength: z.number().int().positive().optional(),
    batchSize: z.number().int().positive().default(4),
    ...common,
  }),
  z.object({
    kind: z.literal('logits'),
    model: modelDir,
    ids: z.string().min(1),
    out: z.string().min(1),
    ...common,
  }),
  z.object({
    kind: z.literal('fixture'),
    arch: z.enum(['llama', 'mistral', 'qwen2', 'gpt2', 'opt']),
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
  | ({ type: 'done'; job: JobKind; memory: MemoryReport; elapsedMs: number } & Record<
      string,
      unknown
    >)
  | ({ type: 'error' } & ErrorInfo);

export type Emit = (event: EngineEvent) => void;
