// The `whetstone` command: runs engine jobs in this process. `whetstone --help` lists commands.
// With --json, every event is a JSON line on stdout; the last is `done` or `error`.
import { createRequire } from 'node:module';
import { releaseBackend } from './backend/select.js';
import { toErrorInfo } from './errors.js';
import { runJob } from './jobs/run-job.js';
import { setLogLevel, setLogSink, type LogLevel } from './log.js';
import type { EngineEvent } from './protocol.js';
import { helpText, parseCommandLine } from './cli/parse.js';
import { handleStrayErrors } from './host/stray-errors.js';
import { printHuman } from './cli/print.js';
import { clusterMain, isClusterCommand } from './cluster/cli.js';
import { clusterSweep, isClusterSweep } from './cluster/sweep.js';

const levels = ['error', 'warn', 'info', 'debug'];
const stopSignals = ['SIGINT', 'SIGTERM', 'SIGUSR1'] as const;

export async function main(argv: string[]): Promise<number> {
  let json = argv.includes('--json');
  const emit = (event: EngineEvent) =>
    json ? process.stdout.write(`${JSON.stringify(event)}\n`) : printHuman(event);
  try {
    const print = (result: Record<string, unknown>, human: string) =>
      json ? process.stdout.write(`${JSON.stringify(result)}\n`) : process.stdout.write(human);
    if (isClusterCommand(argv)) return await clusterMain(argv, print);
    if (isClusterSweep(argv) && !argv.includes('--help')) return await clusterSweep(argv, print);
    const parsed = parseCommandLine(argv);
    json = parsed.json;
    if (parsed.command === 'help') {
      process.stdout.write(helpText(parsed.helpFor));
      return 0;
    }
    if (parsed.command === 'version') {
      const pkg = createRequire(import.meta.url)('../../package.json') as { version: string };
      process.stdout.write(`${pkg.version}\n`);
      return 0;
    }
    if (parsed.logLevel !== undefined && levels.includes(parsed.logLevel))
      setLogLevel(parsed.logLevel as LogLevel);
    if (json) setLogSink((level, scope, message) => emit({ type: 'log', level, scope, message }));
    // Ctrl-C asks a running job to stop at its next safe point (training: a step boundary,
    // with a checkpoint); a second Ctrl-C exits at once. SIGTERM (scancel, a time limit) and
    // SIGUSR1 (Slurm's warning before the time limit) stop it the same way.
    const cancel = new AbortController();
    const onInterrupt = (signal: NodeJS.Signals) => {
      if (cancel.signal.aborted && signal === 'SIGINT') process.exit(130);
      cancel.abort();
    };
    for (const signal of stopSignals) process.on(signal, onInterrupt);
    // An error thrown outside the job's awaits (a wasm trap in a callback) still ends it with an
    // error event and exit code 1; stdout is synchronous, so the event is out before the exit.
    handleStrayErrors(
      (info) => emit({ type: 'error', ...info }),
      (code) => process.exit(code),
    );
    const ok = await runJob(parsed.job, emit, cancel.signal).finally(() =>
      stopSignals.forEach((signal) => process.off(signal, onInterrupt)),
    );
    return ok ? 0 : 1;
  } catch (err) {
    emit({ type: 'error', ...toErrorInfo(err) });
    return 2;
  } finally {
    await releaseBackend();
  }
}
