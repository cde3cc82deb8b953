// Where runs and settings live: the same folder Electron's app.getPath('userData') gives, so the
// desktop app and web mode share runs. WHETSTONE_DATA_DIR overrides it (tests, a training box).
import { homedir } from 'node:os';
import { join } from 'node:path';

export const PRODUCT_NAME = 'Whetstone';

export function defaultUserDataDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.WHETSTONE_DATA_DIR) return env.WHETSTONE_DATA_DIR;
  if (process.platform === 'darwin')
    return join(homedir(), 'Library', 'Application Support', PRODUCT_NAME);
  if (process.platform === 'win32')
    return join(env.APPDATA ?? join(homedir(), 'AppData', 'Roaming'), PRODUCT_NAME);
  return join(env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), PRODUCT_NAME);
}
