// Runs the built `whetstone` CLI in a child process and parses its JSON lines.
import { execFile } from 'node:child_process';
import { join } from 'node:path';

const bin = join(import.meta.dirname, '..', 'bin', 'whetstone.js');

export interface CliRun {
  code: number;
  events: Record<string, unknown>[];
  last: Record<string, unknown>;
  stderr: string;
}

export function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [bin, ...args],
      { env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? ((err as { code?: number }).code ?? 1) : 0;
        const events = stdout
          .split('\n')
          .filter((l) => l.trim() !== '')
          .map((l) => JSON.parse(l) as Record<string, unknown>);
        resolve({
          code: typeof code === 'number' ? code : 1,
          events,
          last: events.at(-1) ?? {},
          stderr,
        });
      },
    );
  });
}
