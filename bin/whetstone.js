#!/usr/bin/env node
// `whetstone` entry: runs the compiled CLI (built by `npm install` through the prepare script).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

// `serve` is main's web mode, not an engine job: the engine layer may not import main, so the
// dispatch happens here, above both.
const serve = process.argv[2] === 'serve';
const cli = serve
  ? join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'main', 'serve', 'serve-cli.js')
  : join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'engine', 'cli.js');
if (!existsSync(cli)) {
  process.stderr.write(
    'whetstone is not built yet: run `npm install` (or `npm run build`) in the project folder.\n',
  );
  process.exit(2);
}
const { main } = await import(pathToFileURL(cli).href);
process.exitCode = await main(process.argv.slice(serve ? 3 : 2));
