// Measures one backend (run by bench/forward.ts, one process per backend): matmul GFLOP/s at a
// few sizes and forward-pass tokens/s on a model. Prints one JSON line.
import { initBackend } from '../engine/backend/select.js';
import { tf } from '../engine/backend/tf.js';
import { forwardLogits } from '../engine/models/causal-lm.js';
import { loadModel } from '../engine/models/load.js';

const [backend, modelDir, seqArg] = process.argv.slice(2) as [string, string, string];
const seqLen = Number(seqArg);

/** Median seconds per call of `fn` (which must finish its work, i.e. await data). */
async function timeIt(fn: () => Promise<void>, minSeconds = 1): Promise<number> {
  await fn(); // warm-up: kernel compilation, buffer pools
  const times: number[] = [];
  const start = performance.now();
  while (times.length < 3 || (performance.now() - start) / 1000 < minSeconds) {
    const t0 = performance.now();
    await fn();
    times.push((performance.now() - t0) / 1000);
    if (times.length >= 50) break;
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

async function main(): Promise<void> {
  const report = await initBackend({ backend: backend as 'cpu' });
  const matmul: Record<string, number> = {};
  for (const n of [256, 512, 1024]) {
    const a = tf.randomNormal([n, n]);
    const b = tf.randomNormal([n, n]);
    const seconds = await timeIt(async () => {
      const c = tf.matMul(a, b);
      await c.data();
      c.dispose();
    });
    matmul[n] = (2 * n ** 3) / seconds / 1e9;
    a.dispose();
    b.dispose();
  }
  const model = await loadModel(modelDir);
  const ids = tf.tensor2d(
    Array.from({ length: seqLen }, (_, i) => (i * 7) % 500),
    [1, seqLen],
    'int32',
  );
  const seconds = await timeIt(async () => {
    const logits = forwardLogits(model, ids);
    await logits.data();
    logits.dispose();
  });
  process.stdout.write(
    `${JSON.stringify({ backend, device: report.device, matmulGflops: matmul, forwardTokensPerSecond: seqLen / seconds })}\n`,
  );
}

// A backend that cannot start is a row that says why, not a crash.
await main().catch((err: unknown) => {
  const reason = err instanceof Error ? err.message : String(err);
  process.stdout.write(`${JSON.stringify({ backend, skipped: reason })}\n`);
});
