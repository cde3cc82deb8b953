// The renderer's one way to reach main: `window.whetstone` in the desktop app (preload), or the
// WebSocket bridge in a browser (web mode, token from the address's #token=). Same typed API.
import type { Channel, IpcResult, RunListener, WhetstoneApi } from '../main/contract.js';
import type { ClientMessage, ServerMessage } from '../main/serve/bridge-protocol.js';

// Types only from main; these two values are the bridge's, repeated because the renderer may not
// import main's runtime code (serve/bridge-protocol.ts holds the originals).
const BRIDGE_PATH = '/api';
const CLOSE_UNAUTHORIZED = 4401;

type Pending = (result: IpcResult<unknown>) => void;

/** A WebSocket client with the preload's API. */
export function connectBridge(location: Location): WhetstoneApi {
  const token = new URLSearchParams(location.hash.slice(1)).get('token') ?? '';
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const url = `${scheme}//${location.host}${BRIDGE_PATH}?token=${encodeURIComponent(token)}`;
  const socket = new WebSocket(url);
  const opened = new Promise<void>((resolve) => socket.addEventListener('open', () => resolve()));
  const pending = new Map<number, Pending>();
  const watchers = new Map<number, RunListener>();
  let nextId = 1;
  let closedReason: string | undefined;

  socket.addEventListener('message', (event: MessageEvent<string>) => {
    const message = JSON.parse(event.data) as ServerMessage;
    if (message.type === 'result') {
      pending.get(message.id)?.(message.result);
      pending.delete(message.id);
    } else if (message.type === 'run') {
      watchers.get(message.id)?.(message.message);
    } else {
      closedReason = message.error.message;
    }
  });
  socket.addEventListener('close', (event) => {
    const reason =
      event.code === CLOSE_UNAUTHORIZED
        ? `${event.reason} Open the address \`whetstone serve\` printed.`
        : (closedReason ?? 'The connection to whetstone serve closed.');
    for (const resolve of pending.values())
      resolve({ ok: false, error: { code: 'UNAUTHORIZED', message: reason } });
    pending.clear();
  });

  const send = async (message: ClientMessage): Promise<IpcResult<unknown>> => {
    await opened;
    return new Promise((resolve) => {
      pending.set(message.id, resolve);
      socket.send(JSON.stringify(message));
    });
  };

  const invoke = (channel: Channel) => (input: unknown) =>
    send({ type: 'invoke', id: nextId++, channel, input });

  return new Proxy({} as WhetstoneApi, {
    get(_target, name) {
      // Not a thenable, and no symbol keys: only channel names and watchRun are the API.
      if (typeof name !== 'string' || name === 'then') return undefined;
      if (name === 'watchRun') {
        return (runId: string, listener: RunListener) => {
          const id = nextId++;
          watchers.set(id, listener);
          void send({ type: 'watch', id, runId });
          return () => {
            watchers.delete(id);
            void send({ type: 'unwatch', id });
          };
        };
      }
      return invoke(name as Channel);
    },
  });
}

/** The preload's API in the desktop app, the bridge in a browser. */
export function whetstoneApi(): WhetstoneApi {
  return window.whetstone ?? connectBridge(window.location);
}
