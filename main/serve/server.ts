// Web mode's server: the renderer build over HTTP and the WebSocket bridge on one port, loopback
// unless asked otherwise. Returns the address to open, token included (in the URL fragment, which
// browsers never send to a server or a log).
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { createLogger } from '../../engine/log.js';
import type { Services } from '../contract.js';
import { BRIDGE_PATH } from './bridge-protocol.js';
import { serveStatic } from './static-files.js';
import { handleConnection } from './ws-bridge.js';

const log = createLogger('serve');

export interface ServerOptions {
  services: Services;
  /** The renderer build (vite's outDir). */
  staticDir: string;
  host?: string;
  port?: number;
  /** Fixed token (tests); default: a fresh random one per launch. */
  token?: string;
}

export interface RunningServer {
  url: string;
  port: number;
  token: string;
  close(): Promise<void>;
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1';
  const token = options.token ?? randomBytes(24).toString('base64url');
  const http = createServer((req, res) => {
    serveStatic(options.staticDir, req, res).catch((err: Error) => {
      log.error(`serving ${req.url}: ${err.message}`);
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1024 * 1024 });
  http.on('upgrade', (req, socket, head) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path !== BRIDGE_PATH) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    // Accepted first and refused with a close frame: a browser can read its reason, whereas a
    // refused upgrade reaches page code only as "connection failed".
    wss.handleUpgrade(req, socket, head, (ws) =>
      handleConnection(ws, req, token, options.services),
    );
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port ?? 0, host, () => resolve());
  });
  const port = (http.address() as AddressInfo).port;
  const shown = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shown}:${port}/#token=${token}`,
    port,
    token,
    close: async () => {
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
