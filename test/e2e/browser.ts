// Whether the e2e tests have their browser. Without Chromium they skip, saying why and how to
// install it, unless WHETSTONE_REQUIRE_BROWSER=1 or CI is set: there a missing browser fails.
import { accessSync, constants } from 'node:fs';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** CI services set CI to "true" or "1"; "false" and "0" say it is not one. */
const isCi = (value: string | undefined) =>
  value !== undefined && !['', '0', 'false'].includes(value.toLowerCase());

/**
 * The skip note when `path` is not an executable browser (undefined when it is); throws instead
 * where a browser is required.
 */
export function browserSkipNote(
  path: string,
  executable: boolean,
  env: NodeJS.ProcessEnv,
): string | undefined {
  if (executable) return undefined;
  const reason = `no Chromium at ${path} (apt-get install chromium, or set CHROMIUM_PATH)`;
  if (env.WHETSTONE_REQUIRE_BROWSER === '1' || isCi(env.CI)) {
    const why = env.WHETSTONE_REQUIRE_BROWSER === '1' ? 'WHETSTONE_REQUIRE_BROWSER=1' : 'CI is set';
    throw new Error(`A browser is required (${why}) but there is ${reason}`);
  }
  return reason;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** This machine's answer: the skip note, or undefined when Chromium is there. */
export const missingBrowser = (): string | undefined =>
  browserSkipNote(CHROMIUM, isExecutable(CHROMIUM), process.env);
