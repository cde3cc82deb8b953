// The preload API, typed from main's contract.
import type { WhetstoneApi } from '../main/contract.js';

declare global {
  interface Window {
    whetstone: WhetstoneApi;
  }
}
