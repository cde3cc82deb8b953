// Benchmark at real shapes: every training method on a preset model (random weights with a
// published model's exact config, `whetstone fixture --preset`), batch 1 × 128 tokens, on the
// native backend, side by side in one run with the PyTorch peer on the same weights, ids and
// number of threads. Also matmul GFLOP/s at 1024³ against PyTorch's OpenBLAS.
//   npm run bench:real -- [preset] [methods,comma,separated] [steps]
//   e.g. npm run bench:real -- qwen2.5-0.5b lomo,zo-sgd 3     (defaults: qwen2.5-0.5b, all, 3)
// The preset is written once to .fixtures/presets/NAME (qwen2.5-0.5b ~1 GB, llama-3.2-1b ~2.5 GB)
// and kept for the next run. Results: a markdown table on stdout and bench/results/*.json.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { writePresetModel } from '../engine/fixtures/preset-model.js';

const run = promisify(execFile);
const root = join(import.meta.dirname, '..', '..');
const worker = join(import.meta.dirname, 'train-worker.js');
const torchStep = join(root, 'bench', 'torch_train_step.py');
const torchMatmul = join(root, 'bench', 'torch_matmul.py');
const [preset = 'qwen2.5-0.5b', methodArg = 'all', stepsArg = '3'] = process.argv.slice(2);
const [B, T, STEPS] = [1, 128, Number(stepsArg)];
const threads = cpus().length;

/** Ours → the PyTorch peer's method (bench/torch_train_step.py), where there is one. */
const peerOf: Record<string, string | undefined> = {
  inference: 'inference',
  'fo-sgd': 'sgd',
  'fo-adamw': 'adamw',
  lomo: 'lomo',
  'zo-sgd': 'mezo',
  'lora:fo-adamw': 'lora-adamw',
};
const allMethods = [
  'inference',
  'fo-sgd',
  'fo-adamw',
  'lomo',
  'adalomo',
  'zo-sgd',
  'zo-sign',
  'zo-mmt',
  'zo-cons',
  'zo-adam',
  'forward-grad',
  'lora:fo-adamw',
  'lora:lomo',
  'lora:zo-sgd',
  'qlora:fo-adamw',
  'qlora:lomo',
  'qlora:zo-sgd',
];
const methods = methodArg === 'all' ? allMethods : methodArg.split(',');

interface Ours {
  method: string;
  device: string;
  stepMs: number;
  peakBytes: number;
  peakRssBytes: number;
  losses: number[];
}
interface Peer {
  stepMs: number;
  peakRssBytes: number;
  losses: number[];
}
type Row = { method: string; ours?: Ours; oursError?: string; peer?: Peer; peerError?: string };

const model = join(root, '.fixtures', 'presets', preset);
if (!existsSync(join(model, 'config.json'))) {
  console.error(`writing the ${preset} preset to ${model} ...`);
  await writePresetModel({ preset, out: model, force: true });
}

const firstLine = (err: unknown) =>
  String((err as Error).message)
    .split('\n')
    .slice(-3)
    .join(' ');
const rows: Row[] = [];
for (const method of methods) {
  const row: Row = { method };
  try {
    const { stdout } = await run(
      process.execPath,
      [worker, method, model, String(B), String(T), String(STEPS)],
      { maxBuffer: 1 << 20, env: { ...process.env, WHETSTONE_BACKEND: 'native' } },
    );
    row.ours = JSON.parse(stdout.trim().split('\n').at(-1)!) as Ours;
  } catch (err) {
    row.oursError = firstLine(err);
  }
  const peer = peerOf[method];
  if (peer) {
    try {
      const { stdout } = await run('/usr/bin/python3', [
        torchStep,
        model,
        '--method',
        peer,
        '--batch',
        String(B),
        '--seq',
        String(T),
        '--steps',
        String(STEPS),
        '--threads',
        String(threads),
        ...(peer === 'mezo' ? ['--lr', '1e-6'] : []),
      ]);
      row.peer = JSON.parse(stdout) as Peer;
    } catch (err) {
      row.peerError = firstLine(err);
    }
  }
  rows.push(row);
  console.error(`${method}: ${row.ours ? `${row.ours.stepMs.toFixed(0)} ms` : row.oursError}`);
}

// Matmul: ours through the native backend, theirs through torch on every core.
const { stdout: mm } = await run(
  process.execPath,
  [join(import.meta.dirname, 'matmul-native.js')],
  {
    env: { ...process.env, WHETSTONE_BACKEND: 'native' },
  },
);
const ourMatmul = JSON.parse(mm) as { gflops: number; device: string };
const torchMm = await run('/usr/bin/python3', [torchMatmul]).then(
  (r) => (JSON.parse(r.stdout) as { allThreads: Record<string, number> }).allThreads['1024'],
  () => undefined,
);

const MB = 1e6;
const ratio = (a?: number, b?: number) => (a && b ? `${(a / b).toFixed(2)}×` : '-');
const lines = [
  `${preset}, batch ${B}×${T}, ${threads} threads; Whetstone on ${rows.find((r) => r.ours)?.ours?.device ?? '?'}; PyTorch (${threads} threads) on the same weights and ids.`,
  '',
  '| method | step ms | ÷ PyTorch | peak RSS MB | loss 1 → last | PyTorch step ms | PyTorch RSS MB |',
  '| --- | --- | --- | --- | --- | --- | --- |',
  ...rows.map(({ method, ours, oursError, peer, peerError }) => {
    const losses = ours ? `${ours.losses[0]!.toFixed(4)} → ${ours.losses.at(-1)!.toFixed(4)}` : '';
    return `| ${method} | ${ours ? ours.stepMs.toFixed(0) : `failed: ${oursError}`} | ${ratio(ours?.stepMs, peer?.stepMs)} | ${ours ? (ours.peakRssBytes / MB).toFixed(0) : '-'} | ${losses} | ${peer ? peer.stepMs.toFixed(0) : (peerError ?? '-')} | ${peer ? (peer.peakRssBytes / MB).toFixed(0) : '-'} |`;
  }),
  '',
  `Matmul 1024³: ${ourMatmul.gflops.toFixed(1)} GFLOP/s native, ${torchMm?.toFixed(1) ?? '-'} GFLOP/s PyTorch (${ratio(ourMatmul.gflops, torchMm)}).`,
];
console.log(lines.join('\n'));
await mkdir(join(root, 'bench', 'results'), { recursive: true });
await writeFile(
  join(root, 'bench', 'results', `real-size-${preset}-${Date.now()}.json`),
  `${JSON.stringify({ preset, B, T, threads, rows, ourMatmul, torchMm }, null, 2)}\n`,
);
