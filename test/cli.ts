// Runs the built `whetstone` CLI in a child process and parses its JSON lines.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fixturePath } from './fixtures.js';

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

/** The `loss` of every event of one type ('step' or 'eval'), in order. */
export const lossesOf = (run: CliRun, type: 'step' | 'eval' = 'step'): number[] =>
  run.events.filter((e) => e.type === type).map((e) => e.loss as number);

/**
 * `whetstone train` on the llama fixture with the PEFT tests' step shape (batch 4 × 24 tokens,
 * constant rate) into `out`; `args` add the method and adapter. Resolves with the run, which the
 * caller checks; rejects with the CLI's error when it failed.
 */
export async function trainLlamaFixture(
  data: string,
  out: string,
  args: string[],
): Promise<CliRun> {
  const run = await runCli([
    'train', '--model', fixturePath('llama'), '--data', data, '--batch', '4', '--seq', '24',
    '--schedule', 'constant', '--out', out, '--json', ...args,
  ]); // prettier-ignore
  if (run.code !== 0) throw new Error(`train failed: ${run.stderr}${JSON.stringify(run.last)}`);
  return run;
}

export const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
