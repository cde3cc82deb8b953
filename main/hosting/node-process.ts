// The engine in a Node child process (child_process.fork): web mode, the CLI's `serve`, tests.
import { fork } from 'node:child_process';
import { createLogger } from '../../engine/log.js';
import {
  engineEntry,
  TailBuffer,
  type EngineExit,
  type EngineLauncher,
  type EngineMessage,
  type EngineProcess,
} from './engine-process.js';

const log = createLogger('engine-process');

/** V8's and the allocator's words for running out of memory. */
const OOM_PATTERN = /heap out of memory|Allocation failed|out of memory|std::bad_alloc/i;

export function classifyNodeExit(
  code: number | null,
  signal: NodeJS.Signals | null,
  stderrTail: string,
): EngineExit['reason'] {
  if (OOM_PATTERN.test(stderrTail)) return 'oom';
  if (code === 0) return 'clean-exit';
  // SIGKILL is a kill by a person, a task manager or the kernel's OOM killer: it cannot tell.
  if (signal === 'SIGKILL' || signal === 'SIGTERM' || signal === 'SIGINT') return 'killed';
  if (signal !== null) return 'crashed';
  return 'abnormal-exit';
}

/** A launcher of Node engine processes; `execArgv` tunes V8 (e.g. a heap limit). */
export function nodeEngineLauncher(options: { execArgv?: string[] } = {}): EngineLauncher {
  return (env) => forkEngineProcess(env, options.execArgv ?? []);
}

export const forkEngine: EngineLauncher = nodeEngineLauncher();

function forkEngineProcess(env: NodeJS.ProcessEnv, execArgv: string[]): EngineProcess {
  const child = fork(engineEntry(), [], {
    env,
    execArgv,
    serialization: 'advanced',
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const stderr = new TailBuffer();
  child.stdout?.on('data', (chunk: Buffer) => log.debug(chunk.toString().trimEnd()));
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr.push(chunk.toString());
    log.debug(chunk.toString().trimEnd());
  });
  let spawnError: Error | undefined;
  child.on('error', (err) => {
    spawnError = err;
    log.warn(`engine process: ${err.message}`);
  });
  return {
    get pid() {
      return child.pid;
    },
    send: (command) => {
      if (child.connected) child.send(command);
    },
    onMessage: (handler) => child.on('message', (m) => handler(m as EngineMessage)),
    onExit: (handler) =>
      child.on('exit', (code, signal) => {
        const tail = stderr.toString();
        handler({
          code,
          ...(signal !== null && { signal }),
          reason:
            spawnError && child.pid === undefined
              ? 'launch-failed'
              : classifyNodeExit(code, signal, tail),
          stderrTail: tail,
        });
      }),
    kill: () => child.kill('SIGKILL'),
  };
}
