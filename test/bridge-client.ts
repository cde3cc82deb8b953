// A test client for web mode's WebSocket bridge: invoke channels, watch runs, record every stream
// message with its arrival time (to check batching), and see how a connection was refused.
import WebSocket from 'ws';
import type { ErrorInfo } from '../engine/errors.js';
import type { IpcResult, RunEvent, RunStreamMessage } from '../main/contract.js';
import type { ServerMessage } from '../main/serve/bridge-protocol.js';

export interface Received {
  at: number;
  message: RunStreamMessage;
}

export class BridgeClient {
  private nextId = 1;
  private readonly pending = new Map<number, (r: IpcResult<unknown>) => void>();
  /** Stream messages per watch id, in arrival order. */
  readonly streams = new Map<number, Received[]>();
  /** Messages without an id (unreadable frames, refusals). */
  readonly errors: ErrorInfo[] = [];
  closed: { code: number; reason: string } | undefined;

  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data: Buffer) => {
      const message = JSON.parse(data.toString('utf8')) as ServerMessage;
      if (message.type === 'result') {
        this.pending.get(message.id)?.(message.result);
        this.pending.delete(message.id);
      } else if (message.type === 'run') {
        this.streams.get(message.id)?.push({ at: performance.now(), message: message.message });
      } else {
        this.errors.push(message.error);
      }
    });
    socket.on('close', (code, reason) => {
      this.closed = { code, reason: reason.toString() };
    });
  }

  /** Connect to `ws://host:port/api` with `token` (none when undefined). */
  static async connect(port: number, token: string | undefined): Promise<BridgeClient> {
    const query = token === undefined ? '' : `?token=${encodeURIComponent(token)}`;
    const socket = new WebSocket(`ws://127.0.0.1:${port}/api${query}`);
    const client = new BridgeClient(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    return client;
  }

  /** Wait until the server closes the connection. */
  async whenClosed(): Promise<{ code: number; reason: string }> {
    await until(() => this.closed !== undefined);
    return this.closed!;
  }

  sendRaw(text: string): void {
    this.socket.send(text);
  }

  /** Send a framed message and wait for the answer with its id. */
  request(message: Record<string, unknown>): Promise<IpcResult<unknown>> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.socket.send(JSON.stringify({ ...message, id }));
    });
  }

  invoke(channel: string, input: unknown): Promise<IpcResult<unknown>> {
    return this.request({ type: 'invoke', channel, input });
  }

  /** Invoke and return the data, failing the test on an error result. */
  async call<T>(channel: string, input: unknown): Promise<T> {
    const result = await this.invoke(channel, input);
    if (!result.ok) throw new Error(`${channel}: ${result.error.code} ${result.error.message}`);
    return result.data as T;
  }

  /** Watch a run; returns the list its stream messages are recorded into. */
  watch(runId: string): Received[] {
    const id = this.nextId++;
    const received: Received[] = [];
    this.streams.set(id, received);
    this.socket.send(JSON.stringify({ type: 'watch', id, runId }));
    return received;
  }

  close(): void {
    this.socket.close();
  }
}

/** Every event a watch received, in order. */
export function streamEvents(received: Received[]): RunEvent[] {
  return received.flatMap((r) => (r.message.kind === 'events' ? r.message.events : []));
}

/** The status in a watch's latest message. */
export function streamStatus(received: Received[]): string | undefined {
  const last = received.at(-1)?.message;
  return last?.kind === 'events' ? last.status : undefined;
}

export function until(predicate: () => boolean, timeoutMs = 120_000): Promise<void> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const poll = setInterval(() => {
      if (predicate()) {
        clearInterval(poll);
        resolve();
      } else if (Date.now() - started > timeoutMs) {
        clearInterval(poll);
        reject(new Error(`condition not met within ${timeoutMs} ms`));
      }
    }, 10);
  });
}
