// Whether the native addon is built here, for tests: they skip with the reason when it is not,
// unless WHETSTONE_REQUIRE_NATIVE=1 (CI), where a missing addon is a failure.
import { loadAddon } from './addon.js';

export function nativeAvailability(): { available: boolean; note: string } {
  try {
    loadAddon();
    return { available: true, note: '' };
  } catch (err) {
    const reason = (err as Error).message;
    if (process.env.WHETSTONE_REQUIRE_NATIVE === '1') {
      throw new Error(`the native backend is required (WHETSTONE_REQUIRE_NATIVE=1): ${reason}`, {
        cause: err,
      });
    }
    return { available: false, note: `(skipped: ${reason}; run npm run build:native)` };
  }
}
