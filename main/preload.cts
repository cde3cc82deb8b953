// Preload (sandboxed, so CommonJS): exposes `window.whetstone`, one function per contract channel,
// `watchRun` (a MessagePort per watch, its other end in main) and the path of a dropped file.
import electron = require('electron');
import type { Channel, DesktopExtras, RunStreamMessage, WhetstoneApi } from './contract.js';

// Listed by hand because a sandboxed preload cannot import the contract's runtime module; the
// `satisfies` check makes a missing or extra channel a compile error.
const channels = {
  'system:info': true,
  'runs:list': true,
  'runs:get': true,
  'runs:start': true,
  'runs:resume': true,
  'runs:cancel': true,
  'paths:pick': true,
  'paths:add': true,
  'models:recent': true,
  'models:hf-cache': true,
  'models:info': true,
  'models:estimate': true,
  'models:generate': true,
  'data:inspect': true,
  'runs:export': true,
  'runs:export-progress': true,
  'runs:pause': true,
  'runs:open-folder': true,
  'app:examples': true,
  'datasets:upload': true,
  'sweeps:start': true,
  'sweeps:list': true,
  'sweeps:get': true,
  'sweeps:cancel': true,
  'runs:submit': true,
  'clusters:list': true,
  'clusters:save': true,
  'clusters:remove': true,
} satisfies Record<Channel, true>;

type InvokeApi = Omit<WhetstoneApi, 'watchRun'>;

/** The page's (DOM) MessagePort; main's tsconfig has Node's types, whose port differs. */
interface PagePort {
  onmessage: ((event: { data: unknown }) => void) | null;
  close(): void;
}

const invoke = Object.fromEntries(
  Object.keys(channels).map((channel) => [
    channel,
    (input: unknown) => electron.ipcRenderer.invoke(channel, input),
  ]),
) as InvokeApi;

const api: WhetstoneApi & DesktopExtras = {
  ...invoke,
  watchRun(runId, listener) {
    const channel = new MessageChannel();
    const port1 = channel.port1 as unknown as PagePort;
    port1.onmessage = (event) => listener(event.data as RunStreamMessage);
    electron.ipcRenderer.postMessage('runs:watch', { runId }, [channel.port2]);
    return () => port1.close();
  },
  // Dropped files carry no path in the page (Electron 32+); the preload can ask for it.
  pathForFile: (file) => electron.webUtils.getPathForFile(file as File),
};

electron.contextBridge.exposeInMainWorld('whetstone', api);
