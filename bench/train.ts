// Benchmark: peak tensor memory and step time of the training methods on one model, measured side
// by side in one run, with the same step in PyTorch (python3-torch) on the same weights and token
// ids as the peer.
//   npm run bench:train   the backprop family (FO-SGD, FO-AdamW, LOMO, AdaLomo)
//   npm run bench:zo      the zeroth-order family next to inference and LOMO, MeZO in PyTorch
//   npm run bench:peft    LoRA and QLoRA (every block linear, r 8) next to full fine-tuning, and a
//                         hand-written LoRA in PyTorch (and QLoRA with paged AdamW moments)
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { writeFixtureModel } from '../engine/fixtures/fixture-model.js';

const run = promisify(execFile);
const worker = join(import.meta.dirname, 'train-worker.js');
const torchScript = join(import.meta.dirname, '..', '..', 'bench', 'torch_train_step.py');
const [B, T, STEPS] = [4, 64, 3];
const MB = 1e6;

interface Ours {
  method: string;
  backend: string;
  device: string;
  stepMs: number;
  peakBytes: number;
  weightBytes: number;
  losses: number[];
}
interface Peer {
  stepMs: number;
  stateBytes: number;
  losses: number[];
}

const dir = await mkdtemp(join(tmpdir(), 'whetstone-bench-train-'));
const model = join(dir, 'llama');
await writeFixtureModel({
  arch: 'llama',
  out: model,
  layers: 8,
  hidden: 512,
  heads: 8,
  kvHeads: 4,
  vocab: 4096,
  seed: 1,
});

const zo = process.argv[2] === 'zo';
const peft = process.argv[2] === 'peft';
const methods = zo
  ? ['inference', 'lomo', 'zo-sgd', 'zo-sign', 'zo-mmt', 'zo-cons', 'zo-adam', 'forward-grad']
  : peft
    ? [
        'fo-adamw',
        'lora:fo-adamw',
        'qlora:fo-adamw',
        'qlora:fo-adamw:paged',
        'lora:lomo',
        'qlora:lomo',
        'qlora:zo-sgd',
      ]
    : ['fo-sgd', 'fo-adamw', 'lomo', 'adalomo'];
const peerMethod: Record<string, string | undefined> = {
  'fo-sgd': 'sgd',
  'fo-adamw': 'adamw',
  lomo: 'lomo',
  inference: 'inference',
  'zo-sgd': 'mezo',
  'lora:fo-adamw': 'lora-adamw',
};
const rows: { ours: Ours; peer?: Peer | string }[] = [];
for (const method of methods) {
  const { stdout } = await run(
    process.execPath,
    [worker, method, model, String(B), String(T), String(STEPS)],
    { maxBuffer: 1 << 20 },
  );
  const ours = JSON.parse(stdout.trim().split('\n').at(-1)!) as Ours;
  let peer: Peer | string | undefined;
  const torchMethod = peerMethod[method];
  if (torchMethod) {
    try {
      const out = await run('/usr/bin/python3', [
        torchScript,
        model,
        '--method',
        torchMethod,
        '--batch',
        String(B),
        '--seq',
        String(T),
        '--steps',
        String(STEPS),
        '--threads',
        '1',
        ...(torchMethod === 'mezo' ? ['--lr', '1e-6'] : []),
      ]);
      peer = JSON.parse(out.stdout) as Peer;
    } catch (err) {
      peer = `torch unavailable (${(err as Error).message.split('\n')[0]})`;
    }
  }
  rows.push({ ours, ...(peer !== undefined && { peer }) });
}
await rm(dir, { recursive: true, force: true });

// Peaks relative to FO-AdamW (backprop family) or to inference (zeroth-order family).
const reference = zo ? 'inference' : 'fo-adamw';
const base = rows.find((r) => r.ours.method === reference)!.ours.peakBytes;
const first = rows[0]!.ours;
console.log(
  `Llama 8×512, ${(first.weightBytes / 4 / 1e6).toFixed(1)}M parameters, batch ${B}×${T}; Whetstone on ${first.backend} (${first.device}); PyTorch on 1 thread.`,
);
console.log(
  `| method | step ms | peak tensor MB | vs ${reference} | loss step 1 | torch step ms | torch params+grads+state MB | torch loss step 1 |`,
);
console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
for (const { ours, peer } of rows) {
  const p = typeof peer === 'object' ? peer : undefined;
  console.log(
    `| ${ours.method} | ${ours.stepMs.toFixed(0)} | ${(ours.peakBytes / MB).toFixed(1)} | ${(ours.peakBytes / base).toFixed(2)}× | ${ours.losses[0]!.toFixed(5)} | ` +
      `${p ? p.stepMs.toFixed(0) : typeof peer === 'string' ? peer : '-'} | ${p ? (p.stateBytes / MB).toFixed(1) : '-'} | ${p ? p.losses[0]!.toFixed(5) : '-'} |`,
  );
}
