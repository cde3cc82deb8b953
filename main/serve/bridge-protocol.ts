// The WebSocket bridge's messages (web mode): the same contract as Electron's IPC, framed as
// JSON. Client -> server messages are validated with zod; the renderer's client imports the types.
import { z } from 'zod';
import type { ErrorInfo } from '../../engine/errors.js';
import type { IpcResult, RunStreamMessage } from '../contract.js';

export const clientMessageSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('invoke'),
    id: z.number().int(),
    channel: z.string(),
    input: z.unknown().optional(),
  }),
  z.object({ type: z.literal('watch'), id: z.number().int(), runId: z.string() }),
  z.object({ type: z.literal('unwatch'), id: z.number().int() }),
]);
export type ClientMessage = z.infer<typeof clientMessageSchema>;

export type ServerMessage =
  | { type: 'result'; id: number; result: IpcResult<unknown> }
  /** A watch's stream: `id` is the watch request's id. */
  | { type: 'run'; id: number; message: RunStreamMessage }
  /** A message that could not be read at all (not JSON, no type): it has no id to answer. */
  | { type: 'error'; error: ErrorInfo };

/** Close codes: the connection did not present the launch token. */
export const CLOSE_UNAUTHORIZED = 4401;
/** The path of the bridge; the token travels as `?token=`. */
export const BRIDGE_PATH = '/api';
