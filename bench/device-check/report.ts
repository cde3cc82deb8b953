// The device check's report: one JSON document and the same figures as markdown tables.
import { formatBytes } from '../../engine/util/format-bytes.js';

export type Status = 'pass' | 'fail' | 'skipped' | 'measured';

export interface Section {
  status: Status;
  /** Why it was skipped or failed. */
  reason?: string;
  rows?: Record<string, unknown>[];
}

export interface DeviceReport {
  startedAt: string;
  elapsedMs: number;
  mode: 'hardware' | 'software';
  platform: string;
  node: string;
  adapter?: Record<string, unknown>;
  model?: string;
  sections: Record<string, Section>;
}

const cell = (v: unknown): string => {
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return String(v);
    if (Number.isInteger(v)) return String(v);
    return Math.abs(v) < 1e-2 || Math.abs(v) >= 1e5 ? v.toExponential(2) : v.toFixed(3);
  }
  if (Array.isArray(v)) return v.map(cell).join(', ');
  return typeof v === 'string' ? v : v === undefined ? '' : JSON.stringify(v);
};

/** Byte columns read better in MiB/GiB. */
const isBytes = (key: string) => /Bytes$/.test(key);

function table(rows: Record<string, unknown>[]): string {
  const keys = [...new Set(rows.flatMap((r) => Object.keys(r)))].filter((k) => k !== 'run');
  const head = `| ${keys.join(' | ')} |\n| ${keys.map(() => '---').join(' | ')} |`;
  const body = rows.map(
    (r) =>
      `| ${keys.map((k) => (isBytes(k) && typeof r[k] === 'number' ? formatBytes(r[k]) : cell(r[k]))).join(' | ')} |`,
  );
  return [head, ...body].join('\n');
}

export function markdown(report: DeviceReport): string {
  const a = report.adapter ?? {};
  const lines = [
    '# Whetstone device check',
    '',
    `${report.startedAt}, ${(report.elapsedMs / 1000).toFixed(0)} s, ${report.mode} mode, ${report.platform}, Node ${report.node}.`,
    '',
    `Adapter: ${cell(a.device)}${a.software ? ' (software)' : ''}; largest binding ${typeof a.maxBufferBytes === 'number' ? formatBytes(a.maxBufferBytes) : 'unknown'}.`,
    report.model ? `Model: ${report.model}.` : '',
    '',
  ];
  for (const [name, section] of Object.entries(report.sections)) {
    lines.push(`## ${name}: ${section.status}`, '');
    if (section.reason) lines.push(section.reason, '');
    if (section.rows && section.rows.length > 0) lines.push(table(section.rows), '');
  }
  return `${lines.join('\n')}\n`;
}
