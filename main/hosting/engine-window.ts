// The engine in a hidden Electron window, for the WebGPU backend: Chromium's own WebGPU works
// where Dawn's Node addon cannot load. The window runs no web content: an empty local page and a
// preload that starts the engine on a MessagePort. Electron-only.
import { app, BrowserWindow, MessageChannelMain } from 'electron';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createLogger } from '../../engine/log.js';
import {
  engineEntry,
  type EngineExit,
  type EngineLauncher,
  type EngineMessage,
} from './engine-process.js';

const log = createLogger('engine-window');
const preload = fileURLToPath(new URL('../engine-preload.cjs', import.meta.url));
/** After `shutdown`, the engine gets this long to release the device before the window closes. */
const SHUTDOWN_GRACE_MS = 3000;

/**
 * A local page: WebGPU needs a secure context, which file:// is and data: or about:blank are
 * not. Written once to the user data folder because the build copies no HTML into dist/main.
 */
function enginePage(): string {
  const page = join(app.getPath('userData'), 'engine-window.html');
  writeFileSync(
    page,
    `<!doctype html><meta http-equiv="Content-Security-Policy" content="default-src 'none'"><title>Whetstone engine</title>\n`,
  );
  return page;
}

export const windowEngine: EngineLauncher = (env) => {
  const win = new BrowserWindow({
    show: false,
    webPreferences: {
      preload,
      // The engine needs Node (files, the tokenizer) and the page's navigator.gpu together.
      // Safe here: the page is an empty local file and navigation is refused.
      nodeIntegration: true,
      contextIsolation: false,
      sandbox: false,
      backgroundThrottling: false,
      additionalArguments: [`--whetstone-engine-entry=${pathToFileURL(engineEntry()).href}`],
    },
  });
  win.webContents.on('will-navigate', (event) => event.preventDefault());
  // A renderer's environment comes from main's; the variables the engine reads are set there.
  for (const key of ['TF_FORCE_GPU_ALLOW_GROWTH', 'WHETSTONE_BACKEND', 'WHETSTONE_LOG_LEVEL']) {
    if (env[key] !== undefined) process.env[key] = env[key];
  }
  const { port1, port2 } = new MessageChannelMain();
  const exitHandlers: ((exit: EngineExit) => void)[] = [];
  let exited = false;
  const exit = (info: EngineExit) => {
    if (exited) return;
    exited = true;
    port1.close();
    if (!win.isDestroyed()) win.destroy();
    for (const handler of exitHandlers) handler(info);
  };
  win.webContents.on('render-process-gone', (_event, details) => {
    const reason = details.reason === 'memory-eviction' ? 'oom' : details.reason;
    exit({
      code: details.exitCode,
      reason: reason === 'integrity-failure' ? 'crashed' : reason,
      stderrTail: '',
    });
  });
  win.on('closed', () => exit({ code: 0, reason: 'clean-exit', stderrTail: '' }));
  win.webContents.once('did-finish-load', () => {
    win.webContents.postMessage('engine-port', null, [port2]);
  });
  void win.loadFile(enginePage()).catch((err: Error) => {
    log.error(`engine window: ${err.message}`);
    exit({ code: null, reason: 'launch-failed', stderrTail: err.message });
  });
  port1.start();
  return {
    get pid() {
      return win.isDestroyed() ? undefined : win.webContents.getOSProcessId();
    },
    send: (command) => {
      if (exited) return;
      port1.postMessage(command);
      if (command.type === 'shutdown') {
        setTimeout(
          () => exit({ code: 0, reason: 'clean-exit', stderrTail: '' }),
          SHUTDOWN_GRACE_MS,
        );
      }
    },
    onMessage: (handler) => port1.on('message', (event) => handler(event.data as EngineMessage)),
    onExit: (handler) => exitHandlers.push(handler),
    kill: () => {
      if (!win.isDestroyed()) win.webContents.forcefullyCrashRenderer();
    },
  };
};
