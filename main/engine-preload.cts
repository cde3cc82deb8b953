// Preload of the hidden engine window (WebGPU through Chromium, as Dawn's Node addon does not
// load inside Electron): takes the MessagePort main sends, then starts the engine entry on it.
import electron = require('electron');

/** Where main's window launcher put the engine entry (file URL) and the port's channel. */
const ENTRY_ARG = '--whetstone-engine-entry=';

const entryArg = process.argv.find((a) => a.startsWith(ENTRY_ARG));

electron.ipcRenderer.once('engine-port', (event) => {
  // The page's (DOM) MessagePort; main's tsconfig has Node's types only.
  const port = (event.ports as unknown[])[0];
  if (!port || !entryArg) return;
  // engine/host/child.ts looks for this global before Electron's parentPort or Node's IPC.
  (globalThis as { whetstoneEnginePort?: unknown }).whetstoneEnginePort = port;
  void import(entryArg.slice(ENTRY_ARG.length));
});
