// The WebSocket bridge: every connection must present the per-launch token, then speaks the
// contract (invoke, watch, unwatch) over JSON. Bad frames get errors; nothing reaches a handler
// unvalidated.
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { WebSocket } from 'ws';
import type { ErrorInfo } from '../../engine/errors.js';
import { createLogger } from '../../engine/log.js';
import type { Services } from '../contract.js';
import { dispatch } from '../dispatch.js';
import { CLOSE_UNAUTHORIZED, clientMessageSchema, type ServerMessage } from './bridge-protocol.js';

const log = createLogger('bridge');

/** Why a connection may not use the bridge, or undefined when its token is right. */
export function tokenProblem(request: IncomingMessage, token: string): ErrorInfo | undefined {
  const given = new URL(request.url ?? '/', 'http://localhost').searchParams.get('token');
  if (given === null || given === '') {
    return {
      code: 'UNAUTHORIZED',
      message: 'This connection did not present a token.',
      hint: 'Open the address `whetstone serve` printed, which carries the token.',
    };
  }
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  if (a.length !== b.length || !timingSafeEqual(a, b)) {
    return {
      code: 'UNAUTHORIZED',
      message: 'The token is wrong (each start of `whetstone serve` makes a new one).',
      hint: 'Open the address the running `whetstone serve` printed.',
    };
  }
  return undefined;
}

export function handleConnection(
  socket: WebSocket,
  request: IncomingMessage,
  token: string,
  services: Services,
): void {
  const send = (message: ServerMessage) => {
    if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(message));
  };
  const problem = tokenProblem(request, token);
  if (problem) {
    log.warn(`refused a connection from ${request.socket.remoteAddress}: ${problem.message}`);
    send({ type: 'error', error: problem });
    socket.close(CLOSE_UNAUTHORIZED, problem.message);
    return;
  }
  const watches = new Map<number, () => void>();
  socket.on('close', () => {
    for (const stop of watches.values()) stop();
    watches.clear();
  });
  socket.on('message', (data, isBinary) => {
    let raw: unknown;
    try {
      // ws hands text frames over as Buffers (or fragments of one).
      const text = Buffer.isBuffer(data)
        ? data.toString('utf8')
        : Array.isArray(data)
          ? Buffer.concat(data).toString('utf8')
          : Buffer.from(data).toString('utf8');
      raw = isBinary ? undefined : JSON.parse(text);
    } catch {
      raw = undefined;
    }
    const parsed = clientMessageSchema.safeParse(raw);
    if (!parsed.success) {
      const id = (raw as { id?: unknown } | undefined)?.id;
      const error: ErrorInfo = {
        code: 'BAD_ARGUMENT',
        message: `Unreadable bridge message: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'message'}: ${i.message}`).join('; ')}`,
        hint: 'Send JSON {type: "invoke" | "watch" | "unwatch", id, ...}.',
      };
      if (typeof id === 'number') send({ type: 'result', id, result: { ok: false, error } });
      else send({ type: 'error', error });
      return;
    }
    const message = parsed.data;
    if (message.type === 'invoke') {
      void dispatch(services.handlers, message.channel, message.input).then((result) =>
        send({ type: 'result', id: message.id, result }),
      );
    } else if (message.type === 'watch') {
      watches.get(message.id)?.();
      // The answer first, then the stream (whose first message is the run's history).
      send({ type: 'result', id: message.id, result: { ok: true, data: null } });
      const stop = services.watchRun(message.runId, (m) =>
        send({ type: 'run', id: message.id, message: m }),
      );
      watches.set(message.id, stop);
    } else {
      watches.get(message.id)?.();
      watches.delete(message.id);
      send({ type: 'result', id: message.id, result: { ok: true, data: null } });
    }
  });
}
