// The terminal rendering of `whetstone data inspect`: a summary, field statistics, the first rows
// with the trained spans marked ⟦like this⟧, token lengths, and the problems grouped by kind.
import type { InspectReport } from '../data/inspect.js';
import { where } from '../data/problems.js';

const TRAIN_OPEN = '⟦';
const TRAIN_CLOSE = '⟧';

export function formatInspect(r: InspectReport): string {
  const lines: string[] = [];
  const task = r.task ? ` / ${r.task}${r.template === false ? ' (no template)' : ''}` : '';
  lines.push(`file        ${r.file} (${r.fileType})`);
  lines.push(`format      ${r.format}${task}, confidence ${r.confidence.toFixed(2)}`);
  const others = r.considered
    .slice(1)
    .map((c) => `${c.task ?? c.format} ${c.confidence.toFixed(2)}`);
  if (others.length) lines.push(`considered  ${others.join(', ')}`);
  lines.push(
    `rows        ${r.rows}${r.partial ? ' (first rows only: --limit)' : ''}, ${r.validRows} usable, ${r.unreadable} unreadable`,
  );
  lines.push(`columns     ${r.columns.join(', ')}`);
  lines.push('', 'fields');
  for (const f of r.fields) {
    const types = Object.entries(f.types)
      .map(([t, n]) => `${t} ${n}`)
      .join(', ');
    const chars = f.meanChars !== undefined ? `, ${f.meanChars} chars mean, ${f.maxChars} max` : '';
    const empty = f.empty ? `, ${f.empty} empty` : '';
    lines.push(`  ${f.column}: ${f.present} present (${types})${empty}${chars}`);
    if (f.values) {
      const values = Object.entries(f.values).map(([v, n]) => `${JSON.stringify(v)} ${n}`);
      lines.push(`    values: ${values.join(', ')}`);
    }
  }
  if (r.tokens) {
    const t = r.tokens;
    lines.push(
      '',
      `tokens      per example min ${t.min}, mean ${t.mean}, median ${t.median}, p95 ${t.p95}, max ${t.max}`,
      `            ${t.overLength} longer than ${t.seqLen} (${t.truncated} truncated), ${t.targetTokens} target tokens`,
    );
  }
  lines.push('', `first rows (the loss is on ${TRAIN_OPEN}marked${TRAIN_CLOSE} text)`);
  for (const row of r.preview) {
    const text = row.segments
      .map((s) => (s.train ? `${TRAIN_OPEN}${s.text}${TRAIN_CLOSE}` : s.text))
      .join('');
    lines.push(`  line ${row.line}:`, ...text.split('\n').map((l) => `    ${l}`));
  }
  lines.push('', `problems    ${r.problems.total}`);
  for (const g of r.problems.groups) {
    const more = g.count > g.lines.length ? ', …' : '';
    lines.push(
      `  ${g.count}× ${g.field ? `(${g.field}) ` : ''}${g.message} — at ${g.lines.join(', ')}${more}`,
    );
  }
  for (const p of r.problems.first.slice(0, 20)) {
    lines.push(`  ${where(p)}${p.field ? ` (${p.field})` : ''}: ${p.message}`);
  }
  return lines.join('\n') + '\n';
}
