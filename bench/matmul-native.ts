// Float32 matmul GFLOP/s at 1024³ on the backend WHETSTONE_BACKEND names (bench/real-size.ts
// runs it on native): the median of repeated products after a warm-up. Prints one JSON line.
import { initBackend } from '../engine/backend/select.js';
import { tf } from '../engine/backend/tf.js';

const report = await initBackend({});
const n = 1024;
const a = tf.randomNormal([n, n]);
const b = tf.randomNormal([n, n]);
tf.matMul(a, b).dispose();
const times: number[] = [];
const start = performance.now();
while (times.length < 3 || (performance.now() - start < 2000 && times.length < 50)) {
  const t0 = performance.now();
  const c = tf.matMul(a, b);
  await c.data();
  times.push(performance.now() - t0);
  c.dispose();
}
times.sort((p, q) => p - q);
const ms = times[Math.floor(times.length / 2)]!;
process.stdout.write(
  `${JSON.stringify({ device: report.device, gflops: (2 * n ** 3) / ms / 1e6 })}\n`,
);
