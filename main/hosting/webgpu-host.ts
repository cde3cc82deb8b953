// Where a WebGPU engine runs in the desktop app. First choice: the utility process, like every
// other job, with Dawn (the `webgpu` package's dawn.node, a Node-API addon that loads in Node and
// in Electron alike) over Vulkan on Linux, D3D12 on Windows and Metal on macOS. Fallback: the
// hidden window (engine-window.ts), Chromium's own WebGPU, used when this platform has no
// dawn.node, when WHETSTONE_WEBGPU_HOST=window asks for it, or when Dawn fails to start in the
// utility process: it reports WebGPU unavailable, or the process dies before the engine said
// hello (its backend start is what comes before). The job then runs again in the window, unseen
// by the caller.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { createLogger } from '../../engine/log.js';
import type { EngineEvent } from '../../engine/protocol.js';
import type { EngineExit, EngineLauncher, EngineMessage, EngineProcess } from './engine-process.js';

const log = createLogger('engine-process');

export type WebGpuHost = 'utility' | 'window';
export const WEBGPU_HOST_ENV = 'WHETSTONE_WEBGPU_HOST';

/** The `webgpu` package's addon for a platform (its own layout: dist/<platform>-<arch>/). */
export function dawnAddonPath(platform: string = process.platform, arch: string = process.arch) {
  let root: string;
  try {
    root = dirname(createRequire(import.meta.url).resolve('webgpu/package.json'));
  } catch {
    return undefined;
  }
  const folder = `${platform}-${platform === 'darwin' ? 'universal' : arch}`;
  return join(root, 'dist', folder, 'dawn.node');
}

/** Which host a WebGPU job starts in here. */
export function webgpuHost(
  env: NodeJS.ProcessEnv = process.env,
  addon: string | undefined = dawnAddonPath(),
): WebGpuHost {
  const asked = env[WEBGPU_HOST_ENV]?.trim().toLowerCase();
  if (asked === 'window' || asked === 'utility') return asked;
  return addon !== undefined && existsSync(addon) ? 'utility' : 'window';
}

/** The engine's answer when Dawn could not give it a WebGPU device (not when the job failed). */
export function isWebGpuStartFailure(event: EngineEvent): boolean {
  return (
    event.type === 'error' &&
    event.code === 'BACKEND_UNAVAILABLE' &&
    event.message.startsWith('The webgpu backend is unavailable')
  );
}

/**
 * A launcher that starts `primary` and, if its engine answers that WebGPU cannot start there,
 * ends it and runs the same job in `fallback` instead; the caller sees one engine process (the
 * `ready` of the fallback makes it send the job again).
 */
export function withFallback(primary: EngineLauncher, fallback: EngineLauncher): EngineLauncher {
  return (env, job) => {
    const messageHandlers: ((m: EngineMessage) => void)[] = [];
    const exitHandlers: ((e: EngineExit) => void)[] = [];
    let current: EngineProcess;
    let switched = false;
    let started = false; // the primary's engine said hello: its backend is up
    let killed = false;
    const switchOver = (child: EngineProcess, why: string) => {
      switched = true;
      log.info(
        `WebGPU did not start in the utility process (${why}); running the job in the hidden window`,
      );
      child.kill();
      current = fallback(env, job);
      attach(current, false);
    };
    const attach = (child: EngineProcess, isPrimary: boolean) => {
      child.onMessage((message) => {
        if (isPrimary && switched) return;
        if (isPrimary && message.type === 'events') {
          const failure = message.events.find(isWebGpuStartFailure);
          if (failure?.type === 'error') return switchOver(child, failure.message);
          if (message.events.some((e) => e.type === 'hello')) started = true;
        }
        for (const handler of messageHandlers) handler(message);
      });
      child.onExit((exit) => {
        if (isPrimary && switched) return;
        if (isPrimary && !started && !killed && exit.reason !== 'clean-exit')
          return switchOver(child, `the process ended (${exit.reason}) before the engine started`);
        for (const handler of exitHandlers) handler(exit);
      });
    };
    current = primary(env, job);
    attach(current, true);
    return {
      get pid() {
        return current.pid;
      },
      send: (command) => current.send(command),
      onMessage: (handler) => messageHandlers.push(handler),
      onExit: (handler) => exitHandlers.push(handler),
      kill: () => {
        killed = true;
        current.kill();
      },
    };
  };
}

/** The launcher for WebGPU jobs: the utility process with the window as fallback, or the window. */
export function webgpuLauncher(
  utility: EngineLauncher,
  window: EngineLauncher,
  env: NodeJS.ProcessEnv = process.env,
): EngineLauncher {
  return webgpuHost(env) === 'utility' ? withFallback(utility, window) : window;
}
