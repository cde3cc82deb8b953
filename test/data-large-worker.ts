// Child process of data-large.test.ts: previews a dataset file and then reads all of it, and
// prints the timings and this process's peak resident memory as one JSON line.
// Run: node dist/test/data-large-worker.js FILE
import { inspectDataset } from '../engine/data/inspect.js';
import { detectFile } from '../engine/data/examples.js';

const file = process.argv[2]!;
const t0 = performance.now();
const detection = await detectFile(file);
const previewMs = performance.now() - t0;
const report = await inspectDataset(file, { rows: 3, seqLen: 256 });
const totalMs = performance.now() - t0;
process.stdout.write(
  JSON.stringify({
    format: detection.spec.format,
    rows: report.rows,
    validRows: report.validRows,
    previewMs,
    totalMs,
    // resourceUsage reports kilobytes.
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
  }) + '\n',
);
