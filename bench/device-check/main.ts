// `npm run device-check -- OUT_DIR [--allow-software]`: one prepared check of this machine's GPU
// through WebGPU, writing device-check.json and a README.md of tables into OUT_DIR. Hardware mode
// runs on the qwen2.5-0.5b preset's shapes; --allow-software accepts a software adapter
// (SwiftShader) and swaps the preset for a small fixture so the whole check takes minutes.
// Each section that fails or cannot run says why; the exit code is 1 when any section failed.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { storyCorpus } from '../../engine/fixtures/story-corpus.js';
import { dequantizeNf4, quantizeNf4 } from '../../engine/peft/nf4.js';
import { Rng } from '../../engine/util/rng.js';
import { whetstoneDone } from './cli-runner.js';
import {
  forwardThroughput,
  matmulThroughput,
  ourLogits,
  runOpCases,
  startWebGpu,
  stopWebGpu,
  tokenRows,
  type AdapterReport,
} from './in-process.js';
import { markdown, type DeviceReport, type Section } from './report.js';
import {
  adapterRun,
  exportRun,
  methodStep,
  pythonHas,
  runJudge,
  stepCases,
  torchHasCuda,
  torchMethods,
  torchStep,
  trainingAgreement,
  type StepRow,
  type StepSettings,
} from './runs.js';

const USAGE = 'usage: npm run device-check -- OUT_DIR [--allow-software] [--quick]';

export interface CheckOptions {
  /** Run on a software adapter (SwiftShader), on a small fixture. */
  allowSoftware: boolean;
  /** One case per section (the test suite's end-to-end run): proves the plumbing, not the GPU. */
  quick: boolean;
}

/** The Python scripts: beside the bundle (carried), or in the checkout's bench/. */
const pythonDir = () =>
  process.env.WHETSTONE_PYTHON_DIR ?? join(import.meta.dirname, '..', '..', '..', 'bench');

async function section(
  report: DeviceReport,
  name: string,
  fn: () => Promise<Omit<Section, 'status'> & { status?: Section['status'] }>,
): Promise<void> {
  const t0 = performance.now();
  process.stderr.write(`device-check: ${name}...\n`);
  try {
    const result = await fn();
    report.sections[name] = { status: 'measured', ...result };
  } catch (err) {
    report.sections[name] = { status: 'fail', reason: (err as Error).message };
  }
  const s = report.sections[name];
  process.stderr.write(
    `device-check: ${name}: ${s.status}${s.reason ? ` (${s.reason.slice(0, 300)})` : ''} in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`,
  );
}

const skipped = (reason: string) => ({ status: 'skipped' as const, reason });
const verdict = (rows: { pass: boolean }[]) => (rows.every((r) => r.pass) ? 'pass' : 'fail');

export async function deviceCheck(
  outDir: string,
  { allowSoftware, quick }: CheckOptions,
): Promise<DeviceReport> {
  const started = performance.now();
  await mkdir(outDir, { recursive: true });
  const work = join(outDir, 'work');
  await mkdir(work, { recursive: true });
  const report: DeviceReport = {
    startedAt: new Date().toISOString(),
    elapsedMs: 0,
    mode: allowSoftware ? 'software' : 'hardware',
    platform: `${process.platform}-${process.arch}`,
    node: process.versions.node,
    sections: {},
  };
  const save = async () => {
    report.elapsedMs = Math.round(performance.now() - started);
    await writeFile(join(outDir, 'device-check.json'), `${JSON.stringify(report, null, 2)}\n`);
    await writeFile(join(outDir, 'README.md'), markdown(report));
  };

  let adapter: AdapterReport;
  try {
    adapter = await startWebGpu();
  } catch (err) {
    report.sections.backends = { status: 'fail', reason: (err as Error).message };
    await save();
    return report;
  }
  report.adapter = { ...adapter };
  report.sections.backends = { status: 'measured' };
  if (adapter.software && !allowSoftware) {
    report.sections.backends = {
      status: 'fail',
      reason: `The adapter is a software one (${adapter.device}): its figures say nothing about a GPU. Pass --allow-software to run the check on it anyway.`,
    };
    await stopWebGpu();
    await save();
    return report;
  }

  const software = adapter.software;
  // SwiftShader runs a 1024² matmul in tens of seconds on a busy CPU: small sizes there.
  const sizes = quick ? [128] : software ? [128, 256, 512] : [1024, 2048, 4096, 8192];
  const shape = software ? { batch: 2, seq: 16 } : { batch: 4, seq: 256 };
  await section(report, 'op cases (webgpu vs cpu)', async () => {
    const rows = await runOpCases();
    return { status: verdict(rows), rows: rows.map((r) => ({ ...r })) };
  });
  await section(report, 'matmul', async () => ({
    rows: (await matmulThroughput(sizes)).map((r) => ({ ...r })),
  }));

  // The model: the 0.5B preset's shapes on a GPU, a small fixture on a software adapter.
  const model = join(work, 'model');
  const fixtureArgs = software
    ? ['fixture', '--arch', 'qwen2', '--seed', '3', '--out', model, '--force']
    : ['fixture', '--preset', 'qwen2.5-0.5b', '--out', model, '--force'];
  report.model = software
    ? 'qwen2 fixture (hidden 64, 2 layers, vocab 512)'
    : 'qwen2.5-0.5b preset (random weights)';
  const small = join(work, 'small');
  const data = join(work, 'data.jsonl');
  await writeFile(
    data,
    `${storyCorpus(64, 1)
      .map((text) => JSON.stringify({ text }))
      .join('\n')}\n`,
  );
  let modelReady = false;
  await section(report, 'model', async () => {
    await whetstoneDone(fixtureArgs);
    if (!software)
      await whetstoneDone(['fixture', '--arch', 'qwen2', '--seed', '3', '--out', small, '--force']);
    modelReady = true;
    return {};
  });
  await section(report, 'forward', async () => {
    if (!modelReady) return skipped('no model');
    const f = await forwardThroughput(model, shape.batch, shape.seq);
    return { rows: [{ ...f }] };
  });
  await stopWebGpu(); // the runs below start their own engines
  await save();

  await section(report, 'training agreement (webgpu vs cpu, 2 steps)', async () => {
    // Always on the small fixture: the cpu reference of a 0.5B step would take minutes.
    const rows = await trainingAgreement(software ? model : small, data, work, quick);
    return { status: verdict(rows), rows: rows.map((r) => ({ ...r })) };
  });
  await save();

  const settings: StepSettings = { model, data, work, ...shape };
  const steps: StepRow[] = [];
  await section(report, 'training step per method', async () => {
    if (!modelReady) return skipped('no model');
    const failures: string[] = [];
    for (const [method, peft] of quick
      ? stepCases.filter(([m, p]) => m === 'fo-adamw' && p === 'lora')
      : stepCases) {
      try {
        steps.push(await methodStep(settings, method, peft));
      } catch (err) {
        failures.push(`${method}/${peft}: ${(err as Error).message}`);
      }
    }
    const rows = steps.map(({ run: _run, ...r }) => ({
      ...r,
      peakOverEstimate: r.peakBytes / r.estimateBytes,
      ...(r.deviceBytes !== undefined && { deviceOverEstimate: r.deviceBytes / r.estimateBytes }),
    }));
    return failures.length > 0 ? { status: 'fail', reason: failures.join('\n'), rows } : { rows };
  });
  await save();

  const torch = await pythonHas('torch');
  await section(report, 'PyTorch side by side', async () => {
    if (!torch.ok) return skipped(torch.reason);
    const cuda = await torchHasCuda();
    if (!cuda && !software) return skipped('torch sees no CUDA device');
    // Without a GPU (software mode) torch runs on the CPU: the plumbing is proven, not the speed.
    const device = cuda ? 'cuda' : 'cpu';
    const rows: Record<string, unknown>[] = [];
    for (const step of steps) {
      const method = torchMethods[`${step.method}/${step.peft}`];
      if (method === undefined) continue;
      for (const dtype of cuda ? (['f32', 'bf16'] as const) : (['f32'] as const)) {
        const t = await torchStep(
          join(pythonDir(), 'torch_train_step.py'),
          model,
          method,
          device,
          dtype,
          shape.batch,
          shape.seq,
        );
        rows.push({
          method: `${step.method}/${step.peft}`,
          torch: `${method} ${device} ${dtype}`,
          oursMs: step.stepMs,
          torchMs: t.stepMs,
          oursOverTorch: step.stepMs / t.stepMs,
          ...(t.peakDeviceBytes !== undefined && { torchPeakBytes: t.peakDeviceBytes }),
        });
      }
    }
    return { rows };
  });
  await save();

  const transformers = await pythonHas('transformers');
  const peft = await pythonHas('peft');
  await section(report, 'transformers/PEFT judge', async () => {
    if (!transformers.ok) return skipped(transformers.reason);
    const ids = tokenRows(2, 12, 512);
    const cases: Record<string, unknown>[] = [];
    const runOf = (method: string, kind: string) =>
      steps.find((s) => s.method === method && s.peft === kind)?.run;
    const full = runOf('fo-adamw', 'full');
    const wanted: { name: string; run?: string; kind: 'merged' | 'peft' }[] = [
      { name: 'merged (fo-adamw)', run: full, kind: 'merged' },
    ];
    const notes: string[] = [];
    if (peft.ok) {
      wanted.push({ name: 'lora', run: runOf('fo-adamw', 'lora'), kind: 'peft' });
      for (const kind of ['adalora', 'prefix', 'prompt'])
        wanted.push({ name: kind, run: await adapterRun(settings, kind), kind: 'peft' });
    } else notes.push(`adapters skipped: ${peft.reason}`);
    await startWebGpu();
    try {
      for (const w of wanted) {
        if (w.run === undefined) continue;
        const out = join(work, `export-${w.name.split(' ')[0]}`);
        await exportRun(w.run, w.kind === 'merged' ? 'merged' : 'adapter', out);
        // Raw float32: a 0.5B model's logits are too many for JSON.
        const ours = join(work, `ours-${w.name.split(' ')[0]}.f32`);
        const logits = await ourLogits(w.run, ids);
        await writeFile(
          ours,
          new Uint8Array(logits.values.buffer, logits.values.byteOffset, logits.values.byteLength),
        );
        cases.push({
          name: w.name,
          kind: w.kind,
          model: w.kind === 'merged' ? out : model,
          ...(w.kind === 'peft' && { adapter: out }),
          ids,
          ours,
          shape: logits.shape,
        });
      }
    } finally {
      await stopWebGpu();
    }
    const request = join(work, 'judge.json');
    await writeFile(request, JSON.stringify({ device: software ? 'cpu' : 'cuda', cases }));
    const verdicts = await runJudge(join(pythonDir(), 'hf_judge.py'), request);
    const rows = verdicts.map((v) => ({
      ...v,
      pass: typeof v.relError === 'number' && v.relError < 1e-4,
    }));
    return { status: verdict(rows), rows, ...(notes.length > 0 && { reason: notes.join('; ') }) };
  });
  const bnb = await pythonHas('bitsandbytes');
  await section(report, 'NF4 vs bitsandbytes', async () => {
    if (!bnb.ok) return skipped(bnb.reason);
    // A weight of a real layer's shape: QLoRA's base, quantized by us and by bitsandbytes.
    const [rows, cols] = [896, 4864];
    const weight = new Rng(7).normals(rows * cols, 0.02);
    const ours = quantizeNf4(weight, [rows, cols]);
    const files = { weight, codes: ours.codes, dequantized: dequantizeNf4(ours) };
    const request: Record<string, unknown> = { shape: [rows, cols] };
    for (const [name, data] of Object.entries(files)) {
      request[name] = join(work, `nf4-${name}.bin`);
      await writeFile(
        request[name] as string,
        new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
      );
    }
    const requestFile = join(work, 'nf4.json');
    await writeFile(requestFile, JSON.stringify(request));
    const [row] = await runJudge(join(pythonDir(), 'nf4_judge.py'), requestFile);
    if (!row) return { status: 'fail', reason: 'nf4_judge.py printed no result' };
    // Where codes agree the weights must too (same scales); a code may round the other way at a
    // tie on the GPU, so a few in ten thousand may differ by one NF4 step.
    const pass =
      (row.codesAgree as number) >= 0.9999 &&
      typeof row.maxAbsDiffSameCode === 'number' &&
      row.maxAbsDiffSameCode <= 1e-6 * (row.maxAbsWeight as number);
    return { status: pass ? 'pass' : 'fail', rows: [{ ...row, pass }] };
  });
  await save();
  return report;
}

export async function main(argv: string[]): Promise<number> {
  const options = {
    allowSoftware: argv.includes('--allow-software'),
    quick: argv.includes('--quick'),
  };
  const rest = argv.filter((a) => a !== '--allow-software' && a !== '--quick');
  if (rest.length !== 1 || rest[0]!.startsWith('-')) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const report = await deviceCheck(rest[0]!, options);
  process.stdout.write(markdown(report));
  return Object.values(report.sections).some((s) => s.status === 'fail') ? 1 : 0;
}
