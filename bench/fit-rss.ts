// Benchmark: peak resident memory of a training run against the estimate a host-memory backend
// is held to (tensor peak + host overhead), on a preset model at real size.
//   npm run bench:rss -- [preset] [method] [backend] [seq]
//   e.g. npm run bench:rss -- smollm2-135m lomo wasm 64   (defaults: smollm2-135m zo-sgd cpu 64)
// The preset is written to a temporary folder and deleted afterwards (qwen2.5-0.5b: ~1 GB).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writePresetModel } from '../engine/fixtures/preset-model.js';

const [preset = 'smollm2-135m', method = 'zo-sgd', backend = 'cpu', seq = '64'] =
  process.argv.slice(2);
const bin = join(import.meta.dirname, '..', '..', 'bin', 'whetstone.js');
const MiB = 1024 ** 2;

/** Run the CLI with --json; resolves with its events and the highest VmHWM seen (Linux). */
function whetstone(args: string[]): Promise<{ events: Record<string, unknown>[]; hwm: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args, '--json'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    let hwm = 0;
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    // VmHWM is the peak resident set so far; read it while the process lives.
    const poll = setInterval(() => {
      try {
        const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
        const kb = Number(/^VmHWM:\s+(\d+)/m.exec(status)?.[1] ?? 0);
        hwm = Math.max(hwm, kb * 1024);
      } catch {
        // gone between polls
      }
    }, 100);
    child.on('error', reject);
    child.on('close', () => {
      clearInterval(poll);
      const events = out
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      resolve({ events, hwm });
    });
  });
}

const dir = await mkdtemp(join(tmpdir(), 'whetstone-bench-rss-'));
try {
  const model = join(dir, preset);
  await writePresetModel({ preset, out: model, seed: 0 });
  const data = join(dir, 'data.jsonl');
  const text = 'The stone is flat and the blade is sharp. Water keeps the stone clean. '.repeat(20);
  await writeFile(data, `${JSON.stringify({ text })}\n`.repeat(4));
  const shape = ['--model', model, '--method', method, '--batch', '1', '--seq', seq];
  const estimate = (await whetstone(['estimate', ...shape])).events.at(-1)!.estimate as Record<
    string,
    number
  >;
  const run = await whetstone([
    'train', ...shape, '--data', data, '--steps', '2', '--backend', backend, '--out', join(dir, 'run'),
  ]); // prettier-ignore
  const last = run.events.at(-1)!;
  if (last.type !== 'done') throw new Error(`train failed: ${JSON.stringify(last)}`);
  const summary = last.summary as { peakBytes: number };
  const predicted = estimate.peakBytes! + estimate.hostOverheadBytes!;
  const row = (name: string, bytes: number) =>
    console.log(`${name.padEnd(34)} ${(bytes / MiB).toFixed(0).padStart(7)} MiB`);
  console.log(`${preset}, ${method}, ${backend}, batch 1 × ${seq} tokens, 2 steps`);
  row('estimate: tensor peak', estimate.peakBytes!);
  row('measured: tensor peak', summary.peakBytes);
  row('estimate: host overhead', estimate.hostOverheadBytes!);
  row('estimate: peak + overhead', predicted);
  row('measured: peak RSS (VmHWM)', run.hwm);
  // The backend's own figure after the last step: the wasm heap (it never shrinks), or RSS.
  const step = run.events.filter((e) => e.type === 'step').at(-1)?.memory as
    { deviceBytes?: number; deviceSource?: string } | undefined;
  if (step?.deviceBytes !== undefined)
    row(`measured: ${step.deviceSource ?? 'device'} after the last step`, step.deviceBytes);
  console.log(`peak RSS / estimate: ${(run.hwm / predicted).toFixed(3)}`);
} finally {
  await rm(dir, { recursive: true, force: true });
}
