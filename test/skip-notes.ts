// A vitest reporter: after the summary, why tests were skipped. A test skipped with a note
// (`ctx.skip(note)`) names what this machine lacks and how to install it.
import { relative } from 'node:path';
import type { Reporter, TestModule } from 'vitest/node';

export default class SkipNotes implements Reporter {
  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    const counts = new Map<string, number>();
    for (const module of modules) {
      for (const test of module.children.allTests('skipped')) {
        const { note } = test.result() as { note?: string };
        if (note === undefined) continue;
        const line = `${relative(process.cwd(), module.moduleId)}: ${note}`;
        counts.set(line, (counts.get(line) ?? 0) + 1);
      }
    }
    if (counts.size === 0) return;
    const lines = [...counts].map(([line, n]) => `  ${line} (${n} test${n > 1 ? 's' : ''})`);
    process.stdout.write(`\n Skipped, and why:\n${lines.join('\n')}\n\n`);
  }
}
