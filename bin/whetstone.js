#!/usr/bin/env node
// `whetstone` entry: runs the compiled CLI (built by `npm install` through the prepare script).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const cli = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'engine', 'cli.js');
if (!existsSync(cli)) {
  process.stderr.write(
    'whetstone is not built yet: run `npm install` (or `npm run build`) in the project folder.\n',
  );
  process.exit(2);
}
const { main } = await import(pathToFileURL(cli).href);
process.exitCode = await main(process.argv.slice(2));
