// Electron main process: one window with secure defaults, IPC from the contract, the engine in a
// utility process. Run with `npm start`.
import { app, BrowserWindow, session, shell } from 'electron';
import { totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { WhetstoneError } from '../engine/errors.js';
import { runEngineJob } from './engine-host.js';
import { registerIpc } from './ipc.js';

const windows: BrowserWindow[] = [];
const rendererHtml = fileURLToPath(new URL('../renderer/index.html', import.meta.url));
const preload = fileURLToPath(new URL('./preload.cjs', import.meta.url));

const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'";

function createWindow(): void {
  const win = new BrowserWindow({
    width: 1280,
    height: 800,
    minWidth: 960,
    minHeight: 640,
    title: 'Whetstone',
    webPreferences: { preload, contextIsolation: true, sandbox: true, nodeIntegration: false },
  });
  windows.push(win);
  win.on('closed', () => windows.splice(windows.indexOf(win), 1));
  // Links open in the user's browser; the app window never navigates away or opens popups.
  win.webContents.setWindowOpenHandler(({ url }) => {
    if (url.startsWith('https://')) void shell.openExternal(url);
    return { action: 'deny' };
  });
  win.webContents.on('will-navigate', (event) => event.preventDefault());
  void win.loadFile(rendererHtml);
}

void app.whenReady().then(() => {
  session.defaultSession.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CSP] } });
  });
  registerIpc(
    {
      'system:info': async () => {
        const result = await runEngineJob({ kind: 'backends' });
        if (result.type === 'error')
          throw new WhetstoneError(result.code, result.message, result.hint);
        const done = result as unknown as {
          backend: string;
          device: string;
          skipped: { backend: string; reason: string }[];
        };
        return {
          appVersion: app.getVersion(),
          platform: `${process.platform} ${process.arch}`,
          backend: done.backend,
          device: done.device,
          skipped: done.skipped,
          hostMemoryBytes: totalmem(),
        };
      },
    },
    () => windows,
  );
  createWindow();
  app.on('activate', () => {
    if (windows.length === 0) createWindow();
  });
});

app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit();
});
