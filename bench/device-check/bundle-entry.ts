// The carried bundle's one JS file (scripts/device-bundle.js builds it with esbuild): the
// `whetstone` CLI and the device check together. `node whetstone.mjs device-check OUT_DIR ...`
// runs the check, whose jobs start this same file again as the CLI; any other arguments are a
// CLI command.
import { dirname, join } from 'node:path';
import { main as cli } from '../../engine/cli.js';
import { main as deviceCheck } from './main.js';

const self = process.argv[1]!;
process.env.WHETSTONE_CLI_SCRIPT ??= self;
process.env.WHETSTONE_PYTHON_DIR ??= join(dirname(self), 'bench');

process.exitCode =
  process.argv[2] === 'device-check'
    ? await deviceCheck(process.argv.slice(3))
    : await cli(process.argv.slice(2));
