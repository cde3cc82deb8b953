// Row problems found while reading and validating a dataset: each names the file, the line (text
// files) or row (parquet), and the field, so a user can fix the exact cell; grouped for display.

export interface RowProblem {
  file: string;
  /** 1-based line of text files (where the record starts), or 1-based row of parquet files. */
  line: number;
  /** 'row' where the file has no lines to point at (parquet, a JSON object of columns). */
  unit?: 'line' | 'row';
  field?: string;
  message: string;
}

/** Problems of one kind (same field, same message), with how many and where. */
export interface ProblemGroup {
  field?: string;
  message: string;
  count: number;
  /** The first few lines where it happens. */
  lines: number[];
}

/** Collects problems, keeping memory bounded on huge files: all counts, the first N in full. */
export class ProblemLog {
  readonly kept: RowProblem[] = [];
  private readonly groups = new Map<string, ProblemGroup>();
  total = 0;

  constructor(private readonly keep = 1000) {}

  add = (problem: RowProblem): void => {
    this.total++;
    if (this.kept.length < this.keep) this.kept.push(problem);
    // Details in parentheses (a JSON parser's complaint) vary row by row; the kind does not.
    const message = problem.message.replace(/ \(.*\)$/, '');
    const key = `${problem.field ?? ''}\u0000${message}`;
    let group = this.groups.get(key);
    if (!group) {
      group = {
        ...(problem.field !== undefined && { field: problem.field }),
        message,
        count: 0,
        lines: [],
      };
      this.groups.set(key, group);
    }
    group.count++;
    if (group.lines.length < 10) group.lines.push(problem.line);
  };

  /** Groups, the most frequent first. */
  grouped(): ProblemGroup[] {
    return [...this.groups.values()].sort((a, b) => b.count - a.count);
  }
}

/** Format problems for an error message: the first few, and how many in all. */
export function describeProblems(
  problems: RowProblem[],
  shown = 5,
  total = problems.length,
): string {
  const lines = problems
    .slice(0, shown)
    .map((p) => `${where(p)}${p.field ? ` (${p.field})` : ''}: ${p.message}`);
  const more = total > shown ? `\n…and ${total - shown} more` : '';
  return lines.join('\n') + more;
}

/** `file:line`, or `file row N` where the file has no lines. */
export function where(p: RowProblem): string {
  return p.unit === 'row' ? `${p.file} row ${p.line}` : `${p.file}:${p.line}`;
}
