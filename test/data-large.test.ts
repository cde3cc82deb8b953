// Streaming keeps memory flat: a generated 1 GiB JSONL file is previewed and read whole in a
// child process whose peak resident memory must stay close to that of a 4 MiB file.
// (Uses the built worker in dist/, as the CLI tests use the built CLI: `tsc -b` first.)
import { execFile } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const worker = join(import.meta.dirname, '..', 'dist', 'test', 'data-large-worker.js');
const dir = mkdtempSync(join(tmpdir(), 'whetstone-large-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A file of `mib` MiB: one 1 MiB block of Alpaca rows written again and again (fast). */
function generate(name: string, mib: number): { file: string; rows: number } {
  const lines: string[] = [];
  let bytes = 0;
  for (let i = 0; bytes < 1 << 20; i++) {
    const line =
      JSON.stringify({
        instruction: `Describe item ${i} of the inventory in one sentence.`,
        input: '',
        output: `Item ${i} is an oak box with brass hinges, about the size of a loaf of bread.`,
      }) + '\n';
    lines.push(line);
    bytes += Buffer.byteLength(line);
  }
  const block = Buffer.from(lines.join(''));
  const file = join(dir, name);
  const fd = openSync(file, 'w');
  for (let k = 0; k < mib; k++) writeSync(fd, block);
  closeSync(fd);
  return { file, rows: lines.length * mib };
}

interface WorkerResult {
  format: string;
  rows: number;
  validRows: number;
  previewMs: number;
  totalMs: number;
  maxRssBytes: number;
}

function measure(file: string): Promise<WorkerResult> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [worker, file], (err, stdout) => {
      if (err) reject(new Error(err.message));
      else resolve(JSON.parse(stdout) as WorkerResult);
    });
  });
}

describe('streaming a large dataset', () => {
  it('reads a 1 GiB JSONL file with the memory of a 4 MiB one', async () => {
    const small = generate('small.jsonl', 4);
    const big = generate('big.jsonl', 1024);
    const a = await measure(small.file);
    const b = await measure(big.file);
    rmSync(big.file);
    expect(a).toMatchObject({ format: 'alpaca', rows: small.rows, validRows: small.rows });
    expect(b).toMatchObject({ format: 'alpaca', rows: big.rows, validRows: big.rows });
    const mib = (x: number) => (x / 2 ** 20).toFixed(0);
    // Reported, not asserted: timings belong in benchmarks.
    process.stderr.write(
      `1 GiB JSONL: preview ${b.previewMs.toFixed(0)} ms, full read ${(b.totalMs / 1000).toFixed(1)} s, ` +
        `peak RSS ${mib(b.maxRssBytes)} MiB (4 MiB file: ${mib(a.maxRssBytes)} MiB)\n`,
    );
    expect(b.maxRssBytes - a.maxRssBytes).toBeLessThan(64 * 2 ** 20);
    expect(b.maxRssBytes).toBeLessThan(256 * 2 ** 20);
  }, 120_000);
});
