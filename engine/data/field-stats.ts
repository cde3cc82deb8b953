// Per-column statistics gathered in one streaming pass: how often a column is present, empty,
// of which JSON type, how long its texts are, and its values when there are few (labels).

export interface FieldStat {
  column: string;
  /** Rows that have the column (not null). */
  present: number;
  /** Rows where it is an empty or blank text. */
  empty: number;
  /** JSON type -> rows (string, number, boolean, list, object). */
  types: Record<string, number>;
  /** Characters of text values: mean and max. */
  meanChars?: number;
  maxChars?: number;
  /** The distinct values with counts, when there are at most MAX_DISTINCT (labels). */
  values?: Record<string, number>;
}

const MAX_DISTINCT = 20;

interface Acc {
  present: number;
  empty: number;
  types: Record<string, number>;
  chars: number;
  texts: number;
  maxChars: number;
  values: Map<string, number> | undefined;
}

export class FieldStats {
  private readonly columns = new Map<string, Acc>();
  rows = 0;

  add = (value: unknown): void => {
    this.rows++;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return;
    for (const [column, v] of Object.entries(value)) {
      let acc = this.columns.get(column);
      if (!acc) {
        acc = {
          present: 0,
          empty: 0,
          types: {},
          chars: 0,
          texts: 0,
          maxChars: 0,
          values: new Map(),
        };
        this.columns.set(column, acc);
      }
      if (v === null || v === undefined) continue;
      acc.present++;
      const type = Array.isArray(v) ? 'list' : typeof v;
      acc.types[type] = (acc.types[type] ?? 0) + 1;
      if (typeof v === 'string') {
        if (v.trim() === '') acc.empty++;
        acc.chars += v.length;
        acc.texts++;
        acc.maxChars = Math.max(acc.maxChars, v.length);
      }
      if (acc.values && (type === 'string' || type === 'number' || type === 'boolean')) {
        const key = String(v);
        // Long texts are not labels: stop counting values for this column.
        if (key.length > 64) acc.values = undefined;
        else {
          acc.values.set(key, (acc.values.get(key) ?? 0) + 1);
          if (acc.values.size > MAX_DISTINCT) acc.values = undefined;
        }
      } else if (type === 'list' || type === 'object') acc.values = undefined;
    }
  };

  result(): FieldStat[] {
    return [...this.columns.entries()].map(([column, a]) => ({
      column,
      present: a.present,
      empty: a.empty,
      types: a.types,
      ...(a.texts > 0 && {
        meanChars: Math.round((a.chars / a.texts) * 10) / 10,
        maxChars: a.maxChars,
      }),
      ...(a.values && a.values.size > 0 && { values: Object.fromEntries(a.values) }),
    }));
  }
}
