// `npm run device-check -- OUT_DIR [--allow-software] [--quick]` from the checkout (main.ts says what
// it checks; the carried bundle starts it through bundle-entry.ts instead).
import { main } from './main.js';

process.exitCode = await main(process.argv.slice(2));
