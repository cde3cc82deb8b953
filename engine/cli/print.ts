// Human-readable rendering of engine events for the terminal: results on stdout, progress and
// diagnostics on stderr.
import type { EngineEvent } from '../protocol.js';

const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

const hidden = new Set(['type', 'job', 'memory', 'elapsedMs', 'ids', 'text']);

function formatValue(value: unknown, key: string): string {
  if (typeof value === 'number' && /bytes$/i.test(key)) return formatBytes(value);
  if (typeof value === 'number' && !Number.isInteger(value)) return value.toFixed(4);
  if (Array.isArray(value))
    return value.map((v) => (typeof v === 'object' ? JSON.stringify(v) : String(v))).join(', ');
  if (typeof value === 'object' && value !== null) return JSON.stringify(value);
  return String(value);
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
    case 'error':
      err.write(`error [${event.code}]: ${event.message}\n`);
      if (event.hint) err.write(`  hint: ${event.hint}\n`);
      return;
    case 'done': {
      if (event.job === 'generate') out.write('\n');
      const rows = Object.entries(event).filter(([k]) => !hidden.has(k));
      if (event.job !== 'generate' && typeof event.text === 'string')
        rows.unshift(['text', event.text]);
      const width = Math.max(0, ...rows.map(([k]) => k.length));
      for (const [key, value] of rows)
        out.write(`${key.padEnd(width)}  ${formatValue(value, key)}\n`);
      const m = event.memory;
      err.write(
        `peak ${formatBytes(m.peakBytes)} tensors, ${formatBytes(m.weightBytes)} weights, ${formatBytes(m.rssBytes)} RSS, ${(event.elapsedMs / 1000).toFixed(1)} s\n`,
      );
      return;
    }
  }
}
