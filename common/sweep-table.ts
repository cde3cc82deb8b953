// A sweep's results as the papers print them: rows are methods, columns are schemes (and template
// on/off with the ablation), cells the mean ± std over seeds; beside it peak memory, step time and
// steps to a target loss. Pure, so the CLI writes and the studio shows the same tables.

/** One run of the grid as its folder left it (engine/sweep/read-cells.ts reads it). */
export interface CellRecord {
  key: string;
  method: string;
  scheme: string;
  seed: number;
  template: boolean;
  status: 'finished' | 'unfinished' | 'failed' | 'not-run' | 'does-not-fit';
  /** Held-out accuracy (classification data). */
  accuracy?: number;
  /** The same rows' accuracy before the first step: the model untuned (zero-shot). */
  startAccuracy?: number;
  /** The last held-out loss. */
  evalLoss?: number;
  peakBytes?: number;
  /** Median time of one optimizer step (evaluation excluded). */
  stepMs?: number;
  /** Training loss per step: [step, loss]. */
  losses: [number, number][];
  /** Why it failed or does not fit. */
  note?: string;
}

export interface SummaryCell {
  mean?: number;
  std?: number;
  /** Seeds with a value. */
  n: number;
  /** Shown instead of a number: not applicable, does not fit, failed, not reached. */
  note?: string;
}

export interface SweepColumn {
  scheme: string;
  template: boolean;
  label: string;
}

export interface SweepTable {
  title: string;
  /** How a value prints. */
  unit: 'percent' | 'loss' | 'bytes' | 'ms' | 'steps';
  rows: string[];
  columns: SweepColumn[];
  /** cells[row][column] */
  cells: SummaryCell[][];
}

export interface SweepTables {
  metric: 'accuracy' | 'eval loss';
  targetLoss?: number;
  tables: SweepTable[];
}

export interface TableShape {
  methods: string[];
  schemes: string[];
  ablateTemplate: boolean;
  /** method × scheme pairs the engine cannot train: "method/scheme" -> why. */
  notApplicable: Record<string, string>;
}

/** The loss a window of recent steps averages to: one noisy zeroth-order step decides nothing. */
export function smoothedLosses(losses: [number, number][]): [number, number][] {
  const window = Math.max(1, Math.round(losses.length / 10));
  let sum = 0;
  return losses.map(([step, loss], i) => {
    sum += loss - (i >= window ? losses[i - window]![1] : 0);
    return [step, sum / Math.min(i + 1, window)];
  });
}

/** The first step whose smoothed loss is at or below `target`. */
export function stepsToLoss(losses: [number, number][], target: number): number | undefined {
  return smoothedLosses(losses).find(([, loss]) => loss <= target)?.[0];
}

/**
 * Median of the final smoothed losses of the finished runs that lowered their loss: a level some
 * reach and some do not. None lowered it: no target (a step count would mean nothing).
 */
export function defaultTargetLoss(records: CellRecord[]): number | undefined {
  const finals = records
    .filter((r) => r.status === 'finished' && r.losses.length > 0)
    .map((r) => smoothedLosses(r.losses))
    .filter((s) => s.at(-1)![1] < s[0]![1])
    .map((s) => s.at(-1)![1])
    .sort((a, b) => a - b);
  if (finals.length === 0) return undefined;
  const mid = finals.length / 2;
  return finals.length % 2 ? finals[Math.floor(mid)] : (finals[mid - 1]! + finals[mid]!) / 2;
}

export function summarize(values: number[]): SummaryCell {
  const n = values.length;
  if (n === 0) return { n };
  const mean = values.reduce((a, b) => a + b, 0) / n;
  // The sample standard deviation, as papers report over seeds.
  const std = n > 1 ? Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, std, n };
}

export function sweepColumns(shape: TableShape): SweepColumn[] {
  return shape.schemes.flatMap((scheme) =>
    (shape.ablateTemplate ? [true, false] : [true]).map((template) => ({
      scheme,
      template,
      label: shape.ablateTemplate ? `${scheme} (${template ? 'template' : 'no template'})` : scheme,
    })),
  );
}

/** Every table of a sweep from its runs' records. */
export function sweepTables(
  shape: TableShape,
  records: CellRecord[],
  targetLoss = defaultTargetLoss(records),
): SweepTables {
  const columns = sweepColumns(shape);
  const metric = records.some((r) => r.accuracy !== undefined) ? 'accuracy' : 'eval loss';
  const table = (
    title: string,
    unit: SweepTable['unit'],
    value: (r: CellRecord) => number | undefined,
    missing?: string,
  ): SweepTable => ({
    title,
    unit,
    rows: shape.methods,
    columns,
    cells: shape.methods.map((method) =>
      columns.map((c) => {
        const na = shape.notApplicable[`${method}/${c.scheme}`];
        if (na !== undefined) return { n: 0, note: 'n/a' };
        const runs = records.filter(
          (r) => r.method === method && r.scheme === c.scheme && r.template === c.template,
        );
        const finished = runs.filter((r) => r.status === 'finished');
        const values = finished.map(value).filter((v): v is number => v !== undefined);
        const cell = summarize(values);
        // Some seeds without a value (a target not reached): the mean is over the others.
        if (values.length > 0 && values.length < finished.length && missing)
          return { ...cell, note: `${values.length}/${finished.length} seeds` };
        if (values.length > 0) return cell;
        if (finished.length > 0) return { ...cell, note: missing ?? '—' };
        return { ...cell, note: noteOf(runs) };
      }),
    ),
  });
  const seeds = Math.max(0, ...records.map((r) => r.seed + 1));
  const over = seeds > 1 ? `, mean ± std over ${seeds} seeds` : '';
  const tables = [
    metric === 'accuracy'
      ? withZeroShot(
          table(`Accuracy on held-out rows (%${over})`, 'percent', (r) => r.accuracy),
          records,
        )
      : table(`Held-out loss${over ? ` (${over.slice(2)})` : ''}`, 'loss', (r) => r.evalLoss),
    table('Peak memory (tensor bytes)', 'bytes', (r) => r.peakBytes),
    table('Step time (ms, median)', 'ms', (r) => r.stepMs),
  ];
  if (targetLoss !== undefined) {
    tables.push(
      table(
        `Steps to a training loss of ${targetLoss.toFixed(3)} (smoothed)`,
        'steps',
        (r) => stepsToLoss(r.losses, targetLoss),
        'not reached',
      ),
    );
  }
  return { metric, ...(targetLoss !== undefined && { targetLoss }), tables };
}

/**
 * The accuracy table with a first row, `zero-shot`: the same held-out rows scored before the first
 * step, once per seed (its split) and template setting. Full and LoRA cells start as the untuned
 * model (LoRA's B is zero); prefix, prompt and QLoRA cells do not, so they are not read.
 */
function withZeroShot(t: SweepTable, records: CellRecord[]): SweepTable {
  const base = records.filter(
    (r) => r.startAccuracy !== undefined && (r.scheme === 'full' || r.scheme === 'lora'),
  );
  if (base.length === 0) return t;
  const row = t.columns.map((c) => {
    const bySeed = new Map<number, number>();
    for (const r of base) {
      if (r.template === c.template && !bySeed.has(r.seed)) bySeed.set(r.seed, r.startAccuracy!);
    }
    const cell = summarize([...bySeed.values()]);
    return bySeed.size > 0 ? cell : { ...cell, note: '—' };
  });
  return { ...t, rows: [ZERO_SHOT_ROW, ...t.rows], cells: [row, ...t.cells] };
}

/** The accuracy table's first row: the model before tuning. */
export const ZERO_SHOT_ROW = 'zero-shot';

/** What a cell without numbers shows: the worst state among its seeds. */
function noteOf(runs: CellRecord[]): string {
  for (const status of ['does-not-fit', 'failed', 'unfinished'] as const) {
    if (runs.some((r) => r.status === status)) return status.replace(/-/g, ' ');
  }
  return 'not run';
}

export function formatValue(value: number, unit: SweepTable['unit']): string {
  switch (unit) {
    case 'percent':
      return (value * 100).toFixed(1);
    case 'loss':
      return value.toFixed(3);
    case 'bytes':
      return formatMiB(value);
    case 'ms':
      return value.toFixed(1);
    case 'steps':
      return String(Math.round(value));
  }
}

const formatMiB = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

export function formatCell(cell: SummaryCell, unit: SweepTable['unit']): string {
  if (cell.mean === undefined) return cell.note ?? '';
  const mean = formatValue(cell.mean, unit);
  const std = unit === 'bytes' ? formatMiB(cell.std ?? 0) : formatValue(cell.std ?? 0, unit);
  const value = cell.n < 2 ? mean : `${mean} ± ${std}`;
  return cell.note ? `${value} (${cell.note})` : value;
}

/** The header row and one row of text per method. */
export function tableText(t: SweepTable): string[][] {
  return [
    ['method', ...t.columns.map((c) => c.label)],
    ...t.rows.map((row, i) => [row, ...t.cells[i]!.map((cell) => formatCell(cell, t.unit))]),
  ];
}

export function toMarkdown(tables: SweepTables): string {
  return tables.tables
    .map((t) => {
      const [head, ...rows] = tableText(t);
      const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
      return [
        `### ${t.title}`,
        '',
        line(head!),
        line(head!.map(() => '---')),
        ...rows.map(line),
        '',
      ].join('\n');
    })
    .join('\n');
}

/** One CSV: a row per method and table, the table's title in the first column. */
export function toCsv(tables: SweepTables): string {
  const quote = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  const lines: string[] = [];
  for (const t of tables.tables) {
    const [head, ...rows] = tableText(t);
    if (lines.length === 0) lines.push(['table', ...head!].map(quote).join(','));
    for (const row of rows) lines.push([t.title, ...row].map(quote).join(','));
  }
  return `${lines.join('\n')}\n`;
}
