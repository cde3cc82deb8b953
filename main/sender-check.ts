// Who may call main over IPC: one of the app's own windows, showing the app's own page. Kept free
// of Electron imports so the rule is tested in plain Node.
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ErrorInfo } from '../engine/errors.js';

export const rendererHtml = fileURLToPath(new URL('../renderer/index.html', import.meta.url));

/** Whether `url` is the app's page (the renderer build, loaded from disk), ignoring hash/query. */
export function isAppUrl(url: string, page = rendererHtml): boolean {
  try {
    const u = new URL(url);
    return u.protocol === 'file:' && u.pathname === pathToFileURL(page).pathname;
  } catch {
    return false;
  }
}

/** Why a message from `senderId` (frame at `frameUrl`) is refused, or undefined to accept it. */
export function senderRefusal(
  senderId: number,
  frameUrl: string | undefined,
  ownIds: number[],
  page = rendererHtml,
): ErrorInfo | undefined {
  if (!ownIds.includes(senderId)) {
    return {
      code: 'UNAUTHORIZED',
      message: 'IPC from a window that is not the app’s was refused.',
    };
  }
  if (frameUrl === undefined || !isAppUrl(frameUrl, page)) {
    return {
      code: 'UNAUTHORIZED',
      message: `IPC from a page that is not the app was refused (${frameUrl ?? 'no frame'}).`,
    };
  }
  return undefined;
}
