// Human-readable rendering of engine events for the terminal: results on stdout, progress and
// diagnostics on stderr.
import { join } from 'node:path';
import { toMarkdown } from '../../common/sweep-table.js';
import type { EngineEvent } from '../protocol.js';
import { SWEEP_FILES } from '../sweep/grid.js';
import { formatInspect } from './print-inspect.js';
import { formatBytes } from '../util/format-bytes.js';

const hidden = new Set(['type', 'job', 'memory', 'elapsedMs', 'ids', 'text']);

function formatValue(value: unknown, key: string): string {
  if (typeof value === 'number' && /bytes$/i.test(key)) return formatBytes(value);
  if (typeof value === 'number' && !Number.isInteger(value)) return value.toFixed(4);
  if (Array.isArray(value))
    return value.map((v) => (typeof v === 'object' ? JSON.stringify(v) : String(v))).join(', ');
  if (typeof value === 'object' && value !== null) return JSON.stringify(value);
  return String(value);
}

function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

/** Write one event for a person reading a terminal. */
export function printHuman(event: EngineEvent): void {
  const out = process.stdout;
  const err = process.stderr;
  switch (event.type) {
    case 'hello':
      if (event.backend) err.write(`backend: ${event.backend.name} (${event.backend.device})\n`);
      return;
    case 'log':
      err.write(`[${event.level}] ${event.scope}: ${event.message}\n`);
      return;
    case 'progress':
      if (err.isTTY)
        err.write(
          `\r${event.phase} ${event.done}/${event.total ?? '?'}${event.done === event.total ? '\n' : ''}`,
        );
      return;
    case 'token':
      out.write(event.text);
      return;
    case 'step': {
      const line =
        `step ${event.step}  loss ${event.loss.toFixed(4)}  lr ${event.lr.toExponential(2)}  ` +
        `${event.tokensPerSec.toFixed(0)} tok/s  peak ${formatBytes(event.memory.peakBytes)}  ` +
        `${formatDuration(event.elapsedMs)} elapsed, ETA ${formatDuration(event.etaMs)}`;
      // On a terminal the line updates in place; in a log, one line per step.
      err.write(err.isTTY ? `\r\x1b[K${line}` : `${line}\n`);
      return;
    }
    case 'eval': {
      const accuracy =
        event.accuracy !== undefined ? `, accuracy ${(event.accuracy * 100).toFixed(1)}%` : '';
      err.write(
        `${err.isTTY ? '\n' : ''}eval at step ${event.step}: loss ${event.loss.toFixed(4)}, perplexity ${event.perplexity.toFixed(2)}${accuracy}\n`,
      );
      return;
    }
    case 'accuracy':
      err.write(
        `accuracy on ${event.examples} held-out rows${event.step === 0 ? ' before training' : ''}: ${(event.accuracy * 100).toFixed(1)}%\n`,
      );
      return;
    case 'checkpoint':
      if (!err.isTTY) err.write(`checkpoint ${event.path}\n`);
      return;
    case 'error':
      err.write(`error [${event.code}]: ${event.message}\n`);
      if (event.hint) err.write(`  hint: ${event.hint}\n`);
      return;
    case 'done': {
      if (event.job === 'inspect') {
        out.write(formatInspect(event));
        return;
      }
      if (event.job === 'sweep') {
        out.write(`${toMarkdown(event.tables)}\n`);
        err.write(
          `results in ${join(event.out, SWEEP_FILES.results)} and ${SWEEP_FILES.table}, ${formatDuration(event.elapsedMs)}\n`,
        );
        return;
      }
      if (event.job === 'generate' || (event.job === 'train' && err.isTTY)) out.write('\n');
      // Nested results (a training summary, an estimate) print as rows of their own.
      const flat = Object.entries(event).flatMap(([k, v]: [string, unknown]) =>
        (k === 'summary' || k === 'estimate') && typeof v === 'object' && v !== null
          ? Object.entries(v)
          : [[k, v] as const],
      );
      const rows = flat.filter(([k]) => !hidden.has(k));
      if (event.job !== 'generate' && 'text' in event && typeof event.text === 'string')
        rows.unshift(['text', event.text]);
      const width = Math.max(0, ...rows.map(([k]) => k.length));
      for (const [key, value] of rows)
        out.write(`${key.padEnd(width)}  ${formatValue(value, key)}\n`);
      const m = event.memory;
      // Jobs that only read headers or write files hold no tensors: a tensor peak would mislead.
      if (['info', 'estimate', 'fixture', 'backends'].includes(event.job)) return;
      err.write(
        `peak ${formatBytes(m.peakBytes)} tensors, ${formatBytes(m.weightBytes)} weights, ${formatBytes(m.rssBytes)} RSS, ${(event.elapsedMs / 1000).toFixed(1)} s\n`,
      );
      return;
    }
  }
}
