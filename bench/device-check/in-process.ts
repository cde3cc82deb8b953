// The device check's parts that run in this process on the WebGPU backend: what the adapter is,
// the op-case suite against cpu, matmul throughput, forward tokens/s, and our logits for the
// transformers judge. Every timing ends with a read of one value, so the GPU's work is in it.
import { initBackend, releaseBackend } from '../../engine/backend/select.js';
import { errorAgainstCpu } from '../../engine/backend/testing.js';
import { opCases } from '../../engine/backend/op-cases.js';
import { tf } from '../../engine/backend/tf.js';
import { webgpuDeviceInfo, type WebGpuDeviceInfo } from '../../engine/backend/webgpu.js';
import { loadRunModel } from '../../engine/export/run-model.js';
import { forwardLogits, type CausalLM } from '../../engine/models/causal-lm.js';
import { loadModel } from '../../engine/models/load.js';

export interface AdapterReport {
  device: string;
  software: boolean;
  maxBufferBytes?: number;
  info?: WebGpuDeviceInfo;
}

export async function startWebGpu(): Promise<AdapterReport> {
  const report = await initBackend({ backend: 'webgpu' });
  return {
    device: report.device,
    software: report.software,
    ...(report.maxBufferBytes !== undefined && { maxBufferBytes: report.maxBufferBytes }),
    ...(webgpuDeviceInfo() && { info: webgpuDeviceInfo() }),
  };
}

export const stopWebGpu = releaseBackend;

/** WGSL only promises sin/cos to 2^-11 absolute; the rest is held to the unit tests' 1e-5. */
const tolerance: Record<string, number> = { 'sin cos': 1e-3 };

export interface OpCaseRow {
  name: string;
  error: number;
  tolerance: number;
  pass: boolean;
}

export async function runOpCases(): Promise<OpCaseRow[]> {
  const rows: OpCaseRow[] = [];
  for (const c of opCases) {
    const error = await errorAgainstCpu(c);
    const limit = tolerance[c.name] ?? 1e-5;
    rows.push({ name: c.name, error, tolerance: limit, pass: error < limit });
  }
  return rows;
}

/** Wait for everything queued before `t` by reading one element of it. */
async function sync(t: tf.Tensor): Promise<void> {
  const one = tf.tidy(() => tf.slice(t.reshape([-1]), [0], [1]));
  await one.data();
  one.dispose();
}

/** Median seconds of `fn` after a warm-up, at least `repeats` times. */
async function median(fn: () => Promise<void>, repeats: number): Promise<number> {
  await fn();
  const times: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    await fn();
    times.push((performance.now() - t0) / 1000);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

export interface MatmulRow {
  n: number;
  /** Wall time to a read of the result (the GPU's work included). */
  ms: number;
  tflops: number;
  /** The kernels' own time from GPU timestamps, where the device has `timestamp-query`. */
  gpuMs?: number;
  gpuTflops?: number;
}

/** The matmul kernel's time by GPU timestamps (tf.time), or undefined without them. */
async function gpuTime(a: tf.Tensor, b: tf.Tensor): Promise<number | undefined> {
  if (!(webgpuDeviceInfo()?.features.includes('timestamp-query') ?? false)) return undefined;
  let c: tf.Tensor | undefined;
  const info = await tf.time(() => {
    c = tf.matMul(a, b);
  });
  c?.dispose();
  const ms = typeof info.kernelMs === 'number' ? info.kernelMs : undefined;
  return ms !== undefined && ms > 0 ? ms : undefined;
}

export async function matmulThroughput(sizes: number[]): Promise<MatmulRow[]> {
  const rows: MatmulRow[] = [];
  for (const n of sizes) {
    const a = tf.randomNormal([n, n]);
    const b = tf.randomNormal([n, n]);
    const seconds = await median(async () => {
      const c = tf.matMul(a, b);
      await sync(c);
      c.dispose();
    }, 3);
    await gpuTime(a, b); // the first timed dispatch sets up the query set
    const gpuMs = await gpuTime(a, b);
    rows.push({
      n,
      ms: seconds * 1000,
      tflops: (2 * n ** 3) / seconds / 1e12,
      ...(gpuMs !== undefined && { gpuMs, gpuTflops: (2 * n ** 3) / (gpuMs / 1000) / 1e12 }),
    });
    tf.dispose([a, b]);
  }
  return rows;
}

/** Deterministic token ids below `vocab`. */
export function tokenRows(batch: number, seq: number, vocab: number): number[][] {
  return Array.from({ length: batch }, (_, b) =>
    Array.from({ length: seq }, (_, t) => (b * 131 + t * 7 + 3) % vocab),
  );
}

export interface ForwardReport {
  batch: number;
  seq: number;
  ms: number;
  tokensPerSec: number;
}

export async function forwardThroughput(
  modelDir: string,
  batch: number,
  seq: number,
): Promise<ForwardReport> {
  const model = await loadModel(modelDir);
  try {
    const ids = tf.tensor2d(tokenRows(batch, seq, model.config.vocabSize), [batch, seq], 'int32');
    const seconds = await median(async () => {
      const logits = forwardLogits(model, ids);
      await sync(logits);
      logits.dispose();
    }, 3);
    ids.dispose();
    return { batch, seq, ms: seconds * 1000, tokensPerSec: (batch * seq) / seconds };
  } finally {
    model.params.dispose();
    model.dispose();
  }
}

/** Logits as raw float32 (little-endian) and their shape [B, T, V]. */
export interface RawLogits {
  values: Float32Array;
  shape: number[];
}

async function logitsOf(model: CausalLM, rows: number[][]): Promise<RawLogits> {
  const ids = tf.tensor2d(rows, undefined, 'int32');
  const logits = forwardLogits(model, ids);
  const values = (await logits.data()) as Float32Array;
  const shape = logits.shape;
  tf.dispose([ids, logits]);
  return { values, shape };
}

/** Our logits for a run: its base with its trained weights or adapter, as the export has them. */
export async function ourLogits(run: string, rows: number[][]): Promise<RawLogits> {
  const { pm } = await loadRunModel(run);
  try {
    return await logitsOf(pm.model, rows);
  } finally {
    pm.model.params.dispose();
    pm.model.dispose();
  }
}
