// The engine in an Electron utility process (the desktop app): Node without the renderer's
// limits, crash-isolated from main. Electron-only; plain Node hosts use node-process.ts.
import { utilityProcess } from 'electron';
import { createLogger } from '../../engine/log.js';
import {
  engineEntry,
  TailBuffer,
  type EngineExit,
  type EngineLauncher,
  type EngineMessage,
} from './engine-process.js';
import { classifyNodeExit } from './node-process.js';

const log = createLogger('engine-process');
export const ENGINE_SERVICE_NAME = 'Whetstone engine';

export const utilityEngine: EngineLauncher = (env) => {
  // Must run after app 'ready' (utilityProcess.fork's rule); main creates services after it.
  const child = utilityProcess.fork(engineEntry(), [], {
    env,
    serviceName: ENGINE_SERVICE_NAME,
    stdio: 'pipe',
  });
  const stderr = new TailBuffer();
  child.stdout?.on('data', (chunk: Buffer) => log.debug(chunk.toString().trimEnd()));
  child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
  let killed = false;
  let fatal = '';
  // A V8 fatal error (heap exhaustion among them) arrives here before 'exit'.
  child.on('error', (type, location) => {
    fatal = `${type} at ${location}`;
    stderr.push(`\n${fatal}\n`);
  });
  return {
    get pid() {
      return child.pid;
    },
    send: (command) => child.postMessage(command),
    onMessage: (handler) => child.on('message', (m: EngineMessage) => handler(m)),
    onExit: (handler) =>
      child.on('exit', (code) => {
        const tail = stderr.toString();
        let reason: EngineExit['reason'] = classifyNodeExit(code, null, tail);
        if (reason !== 'oom' && killed) reason = 'killed';
        else if (reason === 'abnormal-exit' && fatal !== '') reason = 'crashed';
        handler({ code, reason, stderrTail: tail });
      }),
    kill: () => {
      killed = true;
      child.kill();
    },
  };
};
