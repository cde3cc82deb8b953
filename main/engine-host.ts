// Hosts the engine outside the main process: an Electron utility process when running in
// Electron, a Node child process otherwise. Both speak engine/host/child.ts's protocol.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { EngineEvent } from '../engine/protocol.js';

type HostMessage = { type: 'ready' } | { type: 'events'; events: EngineEvent[] };

interface ChildLike {
  postMessage(message: unknown): void;
  onMessage(handler: (message: HostMessage) => void): void;
  onExit(handler: (code: number | null) => void): void;
  kill(): void;
}

const childEntry = fileURLToPath(new URL('../engine/host/child.js', import.meta.url));

async function startChild(env: NodeJS.ProcessEnv): Promise<ChildLike> {
  if (process.versions.electron) {
    const { utilityProcess } = await import('electron');
    const child = utilityProcess.fork(childEntry, [], { env, serviceName: 'Whetstone engine' });
    return {
      postMessage: (m) => child.postMessage(m),
      onMessage: (h) => child.on('message', (m: HostMessage) => h(m)),
      onExit: (h) => child.on('exit', (code) => h(code)),
      kill: () => child.kill(),
    };
  }
  const child = fork(childEntry, [], { env, serialization: 'advanced' });
  return {
    postMessage: (m) => child.send(m as object),
    onMessage: (h) => child.on('message', (m) => h(m as HostMessage)),
    onExit: (h) => child.on('exit', (code) => h(code)),
    kill: () => child.kill(),
  };
}

/** Run one job in a fresh engine process and resolve with its final event. */
export async function runEngineJob(
  job: unknown,
  onEvent?: (event: EngineEvent) => void,
): Promise<EngineEvent> {
  // tfjs-node-gpu has no allow-growth API; without this it grabs the whole GPU at start.
  const child = await startChild({ ...process.env, TF_FORCE_GPU_ALLOW_GROWTH: 'true' });
  return new Promise((resolve) => {
    let settled = false;
    child.onMessage((message) => {
      if (message.type === 'ready') child.postMessage({ type: 'run', job });
      if (message.type !== 'events') return;
      for (const event of message.events) {
        onEvent?.(event);
        if ((event.type === 'done' || event.type === 'error') && !settled) {
          settled = true;
          child.postMessage({ type: 'shutdown' });
          resolve(event);
        }
      }
    });
    child.onExit((code) => {
      if (settled) return;
      settled = true;
      resolve({
        type: 'error',
        code: 'INTERNAL',
        message: `The engine process exited (code ${code}) before finishing.`,
        hint: 'See the log; try again with a smaller job.',
      });
    });
  });
}
