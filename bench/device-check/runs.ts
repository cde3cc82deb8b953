// The device check's parts that run `whetstone` jobs in child processes: the training-agreement
// runs (webgpu against cpu), one timed step per method with its peak memory against `estimate`,
// PyTorch's step on the same model, and the exports the transformers/PEFT judge reads.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { isZerothOrder } from '../../engine/protocol.js';
import { stepEvents, whetstone, whetstoneDone } from './cli-runner.js';

const execFileAsync = promisify(execFile);

export interface AgreementRow {
  method: string;
  peft: string;
  cpu: number[];
  webgpu: number[];
  relDiff: number;
  pass: boolean;
}

/** Training options shared by every run of one method (only --backend differs). */
function methodOptions(method: string): string[] {
  return isZerothOrder(method) ? ['--lr', '1e-3'] : ['--lr', '0.05', '--max-grad-norm', '0.5'];
}

const losses = (events: Record<string, unknown>[]) =>
  stepEvents(events).map((e) => e.loss as number);

/** Two steps on cpu and on webgpu must give the same losses within 1e-4 relative. */
export async function trainingAgreement(
  model: string,
  data: string,
  work: string,
  quick = false,
): Promise<AgreementRow[]> {
  const all: [string, string][] = [
    ['fo-adamw', 'full'],
    ['adalomo', 'full'],
    ['zo-sgd', 'full'],
    ['forward-grad', 'full'],
    ['fo-adamw', 'qlora'],
    ['zo-sgd', 'qlora'],
  ];
  const cases = quick ? all.slice(0, 1) : all;
  const rows: AgreementRow[] = [];
  for (const [method, peft] of cases) {
    const run = async (backend: string) => {
      const r = await whetstone([
        'train', '--model', model, '--data', data, '--method', method, '--steps', '2',
        '--batch', '2', '--seq', '16', '--schedule', 'constant', ...methodOptions(method),
        ...(peft === 'full' ? [] : ['--peft', peft, '--lora-r', '4']),
        '--backend', backend, '--out', join(work, `agree-${method}-${peft}-${backend}`),
      ]); // prettier-ignore
      if (r.last.type !== 'done')
        throw new Error(`${method} on ${backend}: ${String(r.last.message)}`);
      return losses(r.events);
    };
    const cpu = await run('cpu');
    const webgpu = await run('webgpu');
    const relDiff = Math.max(...cpu.map((c, i) => Math.abs((webgpu[i] ?? NaN) - c) / Math.abs(c)));
    rows.push({ method, peft, cpu, webgpu, relDiff, pass: relDiff < 1e-4 });
  }
  return rows;
}

export interface StepRow {
  method: string;
  peft: string;
  /** The second step's (the first compiles shaders and fills the buffer pools). */
  stepMs: number;
  tokensPerSec: number;
  loss: number;
  /** Tensor bytes at the step's peak (the engine's tracker) and the device's allocation. */
  peakBytes: number;
  deviceBytes?: number;
  estimateBytes: number;
  run: string;
}

export interface StepSettings {
  model: string;
  data: string;
  work: string;
  batch: number;
  seq: number;
}

/** The methods the check times, each as `[method, peft]`. */
export const stepCases: [string, string][] = [
  ['lomo', 'full'],
  ['adalomo', 'full'],
  ['fo-adamw', 'full'],
  ['zo-sgd', 'full'],
  ['zo-adam', 'full'],
  ['forward-grad', 'full'],
  ['fo-adamw', 'lora'],
  ['fo-adamw', 'qlora'],
];

export async function methodStep(s: StepSettings, method: string, peft: string): Promise<StepRow> {
  const shape = ['--batch', String(s.batch), '--seq', String(s.seq)];
  const adapter = peft === 'full' ? [] : ['--peft', peft];
  const estimate = await whetstoneDone([
    'estimate', '--model', s.model, '--method', method, ...shape, ...adapter, '--backend', 'webgpu',
  ]); // prettier-ignore
  const run = join(s.work, `step-${method}-${peft}`);
  const trained = await whetstone([
    'train', '--model', s.model, '--data', s.data, '--method', method, '--steps', '2', ...shape,
    ...adapter, '--schedule', 'constant', ...methodOptions(method), '--backend', 'webgpu',
    '--out', run,
  ]); // prettier-ignore
  if (trained.last.type !== 'done') {
    const message = trained.last.message;
    throw new Error(typeof message === 'string' ? message : trained.stderr.slice(-2000));
  }
  const steps = stepEvents(trained.events);
  const last = steps.at(-1)!;
  const memory = last.memory as { peakBytes: number; deviceBytes?: number };
  const tokens = last.tokens as number;
  const tokensPerSec = last.tokensPerSec as number;
  return {
    method,
    peft,
    stepMs: (tokens / tokensPerSec) * 1000,
    tokensPerSec,
    loss: last.loss as number,
    peakBytes: Math.max(...steps.map((e) => (e.memory as { peakBytes: number }).peakBytes)),
    ...(memory.deviceBytes !== undefined && { deviceBytes: memory.deviceBytes }),
    estimateBytes: (estimate.estimate as { peakBytes: number }).peakBytes,
    run,
  };
}

/** Python modules importable here (each tried alone). */
/** The Python the check runs: WHETSTONE_PYTHON, else `python3` on PATH (a GPU machine's own). */
export const python = (): string => process.env.WHETSTONE_PYTHON ?? 'python3';

export async function pythonHas(module: string): Promise<{ ok: boolean; reason: string }> {
  try {
    await execFileAsync(python(), ['-c', `import ${module}`], { timeout: 120_000 });
    return { ok: true, reason: '' };
  } catch (err) {
    const text = String((err as { stderr?: string }).stderr ?? (err as Error).message);
    const last = text.trim().split('\n').at(-1) ?? text;
    return { ok: false, reason: `python3 cannot import ${module}: ${last}` };
  }
}

export async function torchHasCuda(): Promise<boolean> {
  try {
    const { stdout } = await execFileAsync(python(), [
      '-c',
      'import torch; print(torch.cuda.is_available())',
    ]);
    return stdout.trim() === 'True';
  } catch {
    return false;
  }
}

/** Our method name to the PyTorch script's. */
export const torchMethods: Record<string, string> = {
  'fo-adamw/full': 'adamw',
  'lomo/full': 'lomo',
  'zo-sgd/full': 'mezo',
  'fo-adamw/lora': 'lora-adamw',
};

export interface TorchRow {
  method: string;
  device: string;
  dtype: string;
  stepMs: number;
  peakDeviceBytes?: number;
}

export async function torchStep(
  script: string,
  model: string,
  method: string,
  device: string,
  dtype: 'f32' | 'bf16',
  batch: number,
  seq: number,
): Promise<TorchRow> {
  const { stdout } = await execFileAsync(
    python(),
    [script, model, '--method', method, '--batch', String(batch), '--seq', String(seq),
     '--steps', '3', '--device', device, '--dtype', dtype, '--threads', '2'],
    { timeout: 600_000, maxBuffer: 16 * 1024 * 1024 },
  ); // prettier-ignore
  const line = JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, number>;
  return {
    method,
    device,
    dtype,
    stepMs: line.stepMs!,
    ...(line.peakDeviceBytes !== undefined && { peakDeviceBytes: line.peakDeviceBytes }),
  };
}

/** Export a run (merged folder or PEFT adapter) for the judge. */
export async function exportRun(run: string, format: 'merged' | 'adapter', out: string) {
  await whetstoneDone(['export', '--run', run, '--format', format, '--out', out, '--force']);
}

/** Train a run of one step for an adapter kind the timed steps do not cover. */
export async function adapterRun(s: StepSettings, peft: string): Promise<string> {
  const run = join(s.work, `judge-${peft}`);
  const extra = peft === 'prefix' || peft === 'prompt' ? ['--virtual-tokens', '4'] : [];
  await whetstoneDone([
    'train', '--model', s.model, '--data', s.data, '--method', 'fo-adamw', '--peft', peft, ...extra,
    '--steps', '1', '--batch', '2', '--seq', '16', '--lr', '0.01', '--backend', 'webgpu',
    '--out', run,
  ]); // prettier-ignore
  return run;
}

export async function runJudge(
  script: string,
  requestFile: string,
): Promise<Record<string, unknown>[]> {
  const { stdout } = await execFileAsync(python(), [script, requestFile], {
    timeout: 600_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  return stdout
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
