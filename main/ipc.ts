// Main's IPC handlers, typed from the contract. Every input is validated with zod, and only the
// app's own windows may call.
import { ipcMain, type BrowserWindow } from 'electron';
import { toErrorInfo, WhetstoneError } from '../engine/errors.js';
import {
  contract,
  type Channel,
  type ChannelInput,
  type ChannelOutput,
  type IpcResult,
} from './contract.js';

export type Handlers = { [C in Channel]: (input: ChannelInput<C>) => Promise<ChannelOutput<C>> };

export function registerIpc(handlers: Handlers, ownWindows: () => BrowserWindow[]): void {
  for (const channel of Object.keys(contract) as Channel[]) {
    ipcMain.handle(channel, async (event, raw: unknown): Promise<IpcResult<unknown>> => {
      try {
        if (!ownWindows().some((w) => w.webContents.id === event.sender.id)) {
          throw new WhetstoneError(
            'BAD_ARGUMENT',
            `IPC from an unknown sender refused (${channel}).`,
          );
        }
        const parsed = contract[channel].input.safeParse(raw);
        if (!parsed.success)
          throw new WhetstoneError(
            'BAD_ARGUMENT',
            `Invalid input for ${channel}: ${parsed.error.message}`,
          );
        return { ok: true, data: await handlers[channel](parsed.data) };
      } catch (err) {
        return { ok: false, error: toErrorInfo(err) };
      }
    });
  }
}
