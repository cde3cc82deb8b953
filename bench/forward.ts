// Benchmark: matmul GFLOP/s and forward tokens/s for every backend this machine has, measured
// in one run side by side (the machine may be shared and noisy: compare rows, not runs).
//   npm run bench            (builds first)
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { writeFixtureModel } from '../engine/fixtures/fixture-model.js';

const run = promisify(execFile);
const worker = join(import.meta.dirname, 'forward-worker.js');
const swiftshader = '/usr/lib/chromium/vk_swiftshader_icd.json';
const SEQ = 128;

interface Row {
  backend: string;
  device?: string;
  matmulGflops?: Record<string, number>;
  forwardTokensPerSecond?: number;
  skipped?: string;
}

async function measure(backend: string, model: string): Promise<Row> {
  // Without a GPU, Dawn still gets an adapter from SwiftShader (software), so webgpu can be timed.
  const env = { ...process.env };
  if (backend === 'webgpu' && !env.VK_ICD_FILENAMES && existsSync(swiftshader))
    env.VK_ICD_FILENAMES = swiftshader;
  try {
    const { stdout } = await run(process.execPath, [worker, backend, model, String(SEQ)], {
      env,
      maxBuffer: 1 << 20,
    });
    return JSON.parse(stdout.trim().split('\n').at(-1)!) as Row;
  } catch (err) {
    const message = (err as { stderr?: string }).stderr ?? String(err);
    const reason =
      message.split('\n').find((l) => /error|unavailable|not installed|no webgpu/i.test(l)) ??
      message.split('\n')[0];
    return { backend, skipped: reason?.trim() };
  }
}

const dir = await mkdtemp(join(tmpdir(), 'whetstone-bench-'));
const model = join(dir, 'llama');
await writeFixtureModel({
  arch: 'llama',
  out: model,
  layers: 4,
  hidden: 256,
  heads: 8,
  kvHeads: 4,
  vocab: 2048,
  contextLength: 256,
});
const rows: Row[] = [];
for (const backend of ['tensorflow', 'webgpu', 'wasm', 'cpu'])
  rows.push(await measure(backend, model));
await rm(dir, { recursive: true, force: true });

rows.push(...(await torchRows()));

/** PyTorch's matmul on the same machine in the same run, as a peer (skipped without torch). */
async function torchRows(): Promise<Row[]> {
  const script = join(import.meta.dirname, '..', '..', 'bench', 'torch_matmul.py');
  try {
    const { stdout } = await run('/usr/bin/python3', [script]);
    const peer = JSON.parse(stdout) as {
      torch: string;
      cores: number;
      oneThread: Record<string, number>;
      allThreads: Record<string, number>;
    };
    return [
      {
        backend: 'torch (peer)',
        device: `PyTorch ${peer.torch}, 1 thread`,
        matmulGflops: peer.oneThread,
      },
      {
        backend: 'torch (peer)',
        device: `PyTorch ${peer.torch}, ${peer.cores} threads`,
        matmulGflops: peer.allThreads,
      },
    ];
  } catch (err) {
    return [
      {
        backend: 'torch (peer)',
        skipped: `python3-torch not available (${(err as Error).message.split('\n')[0]})`,
      },
    ];
  }
}

const cpu = rows.find((r) => r.backend === 'cpu')?.forwardTokensPerSecond;
const header =
  '| backend | device | matmul 256 | matmul 512 | matmul 1024 (GFLOP/s) | forward tok/s (llama 4x256, T=128) | vs cpu |';
console.log(header);
console.log(header.replace(/[^|]+/g, ' --- '));
for (const r of rows) {
  if (r.skipped !== undefined) {
    console.log(`| ${r.backend} | skipped: ${r.skipped} | | | | | |`);
    continue;
  }
  const g = r.matmulGflops ?? {};
  const tps = r.forwardTokensPerSecond;
  const forward = tps === undefined ? '-' : tps.toFixed(0);
  const ratio = tps !== undefined && cpu ? `${(tps / cpu).toFixed(2)}x` : '-';
  console.log(
    `| ${r.backend} | ${r.device} | ${g[256]?.toFixed(1)} | ${g[512]?.toFixed(1)} | ${g[1024]?.toFixed(1)} | ${forward} | ${ratio} |`,
  );
}
