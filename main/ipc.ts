// Electron's side of the contract: one ipcMain handler per channel (through dispatch, which
// validates with zod) and run streams over MessagePorts. Only the app's own windows, showing the
// app's own page, may call.
import { ipcMain, type IpcMainEvent, type IpcMainInvokeEvent, type WebContents } from 'electron';
import { z } from 'zod';
import type { ErrorInfo } from '../engine/errors.js';
import { createLogger } from '../engine/log.js';
import { channels, type IpcResult, type Services } from './contract.js';
import { dispatch } from './dispatch.js';
import { senderRefusal } from './sender-check.js';

const log = createLogger('ipc');

/** The channel the preload uses to hand main one end of a run stream's MessagePort. */
export const WATCH_CHANNEL = 'runs:watch';
const watchInput = z.object({ runId: z.string().min(1) }).strict();

/** The app's windows' web contents ids, asked at each message (windows come and go). */
export type OwnContents = () => WebContents[];

function refusal(
  event: IpcMainEvent | IpcMainInvokeEvent,
  ownContents: OwnContents,
): ErrorInfo | undefined {
  const refused = senderRefusal(
    event.sender.id,
    event.senderFrame?.url,
    ownContents().map((c) => c.id),
  );
  if (refused) log.warn(refused.message);
  return refused;
}

export function registerIpc(services: Services, ownContents: OwnContents): void {
  for (const channel of channels) {
    ipcMain.handle(channel, async (event, raw: unknown): Promise<IpcResult<unknown>> => {
      const refused = refusal(event, ownContents);
      if (refused) return { ok: false, error: refused };
      return dispatch(services.handlers, channel, raw);
    });
  }
  ipcMain.on(WATCH_CHANNEL, (event, raw: unknown) => {
    const [port] = event.ports;
    if (!port) return;
    const parsed = watchInput.safeParse(raw);
    if (refusal(event, ownContents) || !parsed.success) {
      port.close();
      return;
    }
    // Batches go straight down the port: the engine already sends at most ~20 a second.
    const stop = services.watchRun(parsed.data.runId, (message) => port.postMessage(message));
    port.on('close', stop);
    port.start();
  });
}
