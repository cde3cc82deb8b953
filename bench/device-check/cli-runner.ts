// Runs `whetstone` jobs in child processes for the device check: from the checkout, bin/whetstone.js;
// from the carried bundle, the bundle file itself (WHETSTONE_CLI_SCRIPT names it).
import { execFile } from 'node:child_process';
import { join } from 'node:path';

export interface CliResult {
  code: number;
  events: Record<string, unknown>[];
  last: Record<string, unknown>;
  stderr: string;
}

/** Read when a job starts: the bundle's entry sets the variable after its imports ran. */
const cliScript = () =>
  process.env.WHETSTONE_CLI_SCRIPT ??
  join(import.meta.dirname, '..', '..', '..', 'bin', 'whetstone.js');

/** One CLI job with --json; resolves whatever its exit code (the caller reads `last`). */
export function whetstone(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [cliScript(), ...args, '--json'],
      { env: { ...process.env, ...env }, maxBuffer: 256 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const events = stdout
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l) as Record<string, unknown>);
        const code = err ? Number((err as { code?: number }).code ?? 1) : 0;
        resolve({ code, events, last: events.at(-1) ?? {}, stderr });
      },
    );
  });
}

/** The job's done event, or an Error with its message. */
export async function whetstoneDone(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<Record<string, unknown>> {
  const run = await whetstone(args, env);
  if (run.last.type !== 'done') {
    const message =
      typeof run.last.message === 'string' ? run.last.message : run.stderr.slice(-2000);
    throw new Error(`whetstone ${args[0]}: ${message}`);
  }
  return run.last;
}

export const stepEvents = (events: Record<string, unknown>[]) =>
  events.filter((e) => e.type === 'step');
