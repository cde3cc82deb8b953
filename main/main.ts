// Electron main process: one window with secure defaults, IPC from the contract, each engine job
// in its own utility process, runs kept under the user's data directory. Run with `npm start`.
import { app, BrowserWindow, dialog, session, shell } from 'electron';
import { fileURLToPath } from 'node:url';
import { WhetstoneError } from '../engine/errors.js';
import { createLogger } from '../engine/log.js';
import { wantsWebGpu, type EngineLauncher } from './hosting/engine-process.js';
import { windowEngine } from './hosting/engine-window.js';
import { utilityEngine } from './hosting/utility-process.js';
import { webgpuLauncher } from './hosting/webgpu-host.js';
import { registerIpc } from './ipc.js';
import { createServices, type MainServices, type PathPicker } from './services.js';
import { defaultUserDataDir } from './user-data.js';
import { CSP } from './serve/static-files.js';
import { createMainWindow } from './window.js';

const log = createLogger('main');

// The same folder web mode uses, so both see the same runs.
app.setPath('userData', defaultUserDataDir());
// Not app.enableSandbox(): it would also sandbox the hidden WebGPU engine window, which needs
// Node. The app's own window sets sandbox: true itself (window.ts).

const picker: PathPicker = async (kind) => {
  const parent = BrowserWindow.getFocusedWindow() ?? BrowserWindow.getAllWindows()[0];
  const options: Electron.OpenDialogOptions =
    kind === 'model'
      ? { title: 'Choose a model folder (with config.json)', properties: ['openDirectory'] }
      : kind === 'export'
        ? {
            title: 'Choose the folder to export into',
            properties: ['openDirectory', 'createDirectory'],
          }
        : {
            title: 'Choose a dataset',
            properties: ['openFile'],
            filters: [
              { name: 'Datasets', extensions: ['jsonl', 'json', 'csv', 'tsv', 'parquet', 'txt'] },
            ],
          };
  const result = parent
    ? await dialog.showOpenDialog(parent, options)
    : await dialog.showOpenDialog(options);
  return result.canceled ? undefined : result.filePaths[0];
};

/**
 * Every job in a utility process; WebGPU there through Dawn, with the hidden window (Chromium's
 * WebGPU) as its fallback (hosting/webgpu-host.ts).
 */
const webgpuEngine = webgpuLauncher(utilityEngine, windowEngine);
const launch: EngineLauncher = (env, job) =>
  wantsWebGpu(job, env) ? webgpuEngine(env, job) : utilityEngine(env, job);

let services: MainServices | undefined;
let quitting = false;

async function start(): Promise<void> {
  // file:// pages take their policy from the page's meta tag; this covers anything served.
  session.defaultSession.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CSP] } });
  });
  session.defaultSession.setPermissionRequestHandler((_contents, _permission, callback) =>
    callback(false),
  );
  services = await createServices({
    userDataDir: app.getPath('userData'),
    launch,
    appVersion: app.getVersion(),
    picker,
    assetsDir: fileURLToPath(new URL('../../assets', import.meta.url)),
    openFolder: async (dir) => {
      const failure = await shell.openPath(dir);
      if (failure !== '') throw new WhetstoneError('INTERNAL', failure, `Open ${dir} by hand.`);
    },
  });
  registerIpc(services, () => BrowserWindow.getAllWindows().map((w) => w.webContents));
  createMainWindow();
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) createMainWindow();
  });
}

if (!app.requestSingleInstanceLock()) {
  // One app per user: two would both host the same runs.
  app.quit();
} else {
  app.on('second-instance', () => {
    const win = BrowserWindow.getAllWindows()[0];
    if (win?.isMinimized()) win.restore();
    win?.focus();
  });
  // Every web contents, not just the main window's: no webviews, no popups, no navigation away.
  app.on('web-contents-created', (_event, contents) => {
    contents.on('will-attach-webview', (e) => e.preventDefault());
    contents.setWindowOpenHandler(() => ({ action: 'deny' }));
  });
  app.on('child-process-gone', (_event, details) => {
    if (details.type === 'Utility')
      log.warn(
        `utility process ${details.serviceName ?? details.name ?? ''} gone: ${details.reason}`,
      );
  });
  app.whenReady().then(start, (err: Error) => log.error(`start-up failed: ${err.message}`));
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });
  // Running jobs get to stop at a step boundary with a checkpoint before the app exits.
  app.on('before-quit', (event) => {
    if (quitting || !services) return;
    event.preventDefault();
    quitting = true;
    void services.shutdown().finally(() => app.quit());
  });
}
