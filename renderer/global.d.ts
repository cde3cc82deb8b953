// The preload API, typed from main's contract; absent in a browser (web mode uses the bridge).
import type { DesktopExtras, WhetstoneApi } from '../main/contract.js';

declare global {
  interface Window {
    whetstone?: WhetstoneApi & DesktopExtras;
  }
}
