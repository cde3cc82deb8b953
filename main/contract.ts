// The renderer <-> main contract: one entry per channel with its input schema and output type.
// The preload API and main's handlers are both derived from this object, so a channel without a
// handler or a preload entry fails to compile.
import { z } from 'zod';
import type { ErrorInfo } from '../engine/errors.js';

export interface SystemInfo {
  appVersion: string;
  platform: string;
  backend: string;
  device: string;
  skipped: { backend: string; reason: string }[];
  hostMemoryBytes: number;
}

export const contract = {
  'system:info': { input: z.object({}), output: undefined as unknown as SystemInfo },
} as const;

export type Channel = keyof typeof contract;
export type ChannelInput<C extends Channel> = z.infer<(typeof contract)[C]['input']>;
export type ChannelOutput<C extends Channel> = (typeof contract)[C]['output'];

/** What crosses IPC: Electron passes only `message` of a thrown error, so errors are values. */
export type IpcResult<T> = { ok: true; data: T } | { ok: false; error: ErrorInfo };

/** The API the preload script exposes on `window.whetstone`. */
export type WhetstoneApi = {
  [C in Channel]: (input: ChannelInput<C>) => Promise<IpcResult<ChannelOutput<C>>>;
};
