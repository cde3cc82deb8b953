// Preload (sandboxed, so CommonJS): exposes `window.whetstone`, one function per contract channel.
import electron = require('electron');
import type { Channel, WhetstoneApi } from './contract.js';

// Listed by hand because a sandboxed preload cannot import the contract's runtime module; the
// `satisfies` check makes a missing or extra channel a compile error.
const channels = { 'system:info': true } satisfies Record<Channel, true>;

const api = Object.fromEntries(
  Object.keys(channels).map((channel) => [
    channel,
    (input: unknown) => electron.ipcRenderer.invoke(channel, input),
  ]),
) as WhetstoneApi;

electron.contextBridge.exposeInMainWorld('whetstone', api);
