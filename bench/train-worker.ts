// Measures one training method (run by bench/train.ts, one process per method so the figures do
// not mix): median step time and peak tensor bytes over a few steps. Prints one JSON line.
import { memory } from '../engine/backend/memory.js';
import { initBackend } from '../engine/backend/select.js';
import type { PeftKind } from '../engine/peft/config.js';
import { loadPeftModel, peftSpec } from '../engine/peft/load.js';
import { createMethod } from '../engine/optim/create-method.js';
import { batchesLoss } from '../engine/optim/zo.js';
import { isZerothOrder } from '../engine/protocol.js';
import type { MethodName, TrainMethod } from '../engine/optim/method.js';
import { toBatch } from '../engine/train/text-data.js';

const [which, modelDir, bArg, tArg, stepsArg] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
];
// `lora:fo-adamw` and `qlora:lomo` train an adapter (every linear layer of the blocks, r 8);
// a third part `:paged` keeps fo-adamw's moments in host memory.
const [peft, method, option] = (which.includes(':') ? which.split(':') : ['full', which]) as [
  PeftKind,
  MethodName | 'inference',
  string | undefined,
];
const [batch, seq, steps] = [Number(bArg), Number(tArg), Number(stepsArg)];

const report = await initBackend({});
const { model } = await loadPeftModel(
  modelDir,
  peftSpec(peft, peft === 'full' ? {} : { r: 8, targets: ['all-linear'] }),
);
// 'inference' measures the forward pass and loss alone, the floor the ZO family is held to.
const trainer: Pick<TrainMethod, 'step'> =
  method === 'inference'
    ? { step: async (batches) => ({ loss: await batchesLoss(model, batches) }) }
    : createMethod(model, { method, pagedOptim: option === 'paged' });
// The same ids as bench/torch_train_step.py, so the first losses can be compared.
const vocab = model.config.vocabSize;
const rows = Array.from({ length: batch }, (_, b) =>
  Array.from({ length: seq }, (_, t) => (b * 131 + t * 7) % vocab),
);
const lr =
  method === 'fo-adamw' && peft !== 'full'
    ? 1e-3
    : method === 'fo-adamw'
      ? 1e-4
      : isZerothOrder(method)
        ? 1e-6
        : 1e-3;
const times: number[] = [];
const losses: number[] = [];
let peak = 0;
for (let s = 0; s < steps; s++) {
  const b = toBatch(rows, seq, 0);
  memory.resetPeak();
  const t0 = performance.now();
  losses.push((await trainer.step([b], lr)).loss);
  times.push(performance.now() - t0);
  peak = Math.max(peak, memory.peakBytes);
  b.ids.dispose();
  b.mask.dispose();
}
const later = times.slice(1).sort((a, b) => a - b);
process.stdout.write(
  `${JSON.stringify({
    method: which,
    backend: report.backend,
    device: report.device,
    stepMs: later[Math.floor(later.length / 2)] ?? times[0],
    peakBytes: peak,
    weightBytes: model.params.bytes(),
    peakRssBytes: process.resourceUsage().maxRSS * 1024,
    losses,
  })}\n`,
);
