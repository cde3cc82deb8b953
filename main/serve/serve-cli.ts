// `whetstone serve [--port P] [--host H] [--allow-remote] [--data-dir DIR]`: main's services
// without Electron, the renderer over HTTP and the WebSocket bridge. bin/whetstone.js sends
// `serve` here rather than to engine/cli.ts, because the engine layer may not import main.
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { toErrorInfo, WhetstoneError } from '../../engine/errors.js';
import { setLogLevel, type LogLevel } from '../../engine/log.js';
import { forkEngine } from '../hosting/node-process.js';
import { createServices } from '../services.js';
import { defaultUserDataDir } from '../user-data.js';
import { isLoopback, startServer } from './server.js';

export const DEFAULT_PORT = 7433;
const USAGE =
  'whetstone serve [--port P] [--host 127.0.0.1] [--allow-remote] [--data-dir DIR] [--log-level L]';

/**
 * SIGINT/SIGTERM from the call on. Listening before the first output and before any await means
 * Ctrl-C at any moment of start-up goes through this, never the signal's default (death).
 */
function listenForStop() {
  let requested = false;
  let resolve!: () => void;
  const stopped = new Promise<void>((r) => (resolve = r));
  const stop = () => {
    // Once: a second Ctrl-C during shutdown ends the process the usual way.
    dispose();
    requested = true;
    resolve();
  };
  const dispose = () => {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  return { stopped, requested: () => requested, dispose };
}

export async function main(argv: string[]): Promise<number> {
  const stop = listenForStop();
  try {
    const { values } = (() => {
      try {
        return parseArgs({
          args: argv,
          strict: true,
          options: {
            port: { type: 'string' },
            host: { type: 'string' },
            'allow-remote': { type: 'boolean' },
            'data-dir': { type: 'string' },
            'log-level': { type: 'string' },
            help: { type: 'boolean', short: 'h' },
          },
        });
      } catch (err) {
        throw new WhetstoneError('BAD_ARGUMENT', (err as Error).message, `Usage: ${USAGE}`);
      }
    })();
    if (values.help) {
      process.stdout.write(
        `Serve the studio to a browser: the UI and its API, on loopback by default.\n\nUsage: ${USAGE}\n`,
      );
      return 0;
    }
    if (values['log-level']) setLogLevel(values['log-level'] as LogLevel);
    const host = values.host ?? '127.0.0.1';
    if (!isLoopback(host) && !values['allow-remote']) {
      throw new WhetstoneError(
        'BAD_ARGUMENT',
        `--host ${host} would let other machines reach the studio.`,
        'Add --allow-remote if that is what you want (the token still guards every connection).',
      );
    }
    const port = values.port === undefined ? DEFAULT_PORT : Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new WhetstoneError('BAD_ARGUMENT', `--port expects 0-65535, got "${values.port}".`);
    }
    const pkg = createRequire(import.meta.url)('../../../package.json') as { version: string };
    const userDataDir = values['data-dir'] ?? defaultUserDataDir();
    // The terminal is this command's UI: these lines are output, not logging.
    process.stdout.write(`Whetstone is starting; runs are kept in ${userDataDir}\n`);
    const services = await createServices({
      userDataDir,
      launch: forkEngine,
      appVersion: pkg.version,
      assetsDir: fileURLToPath(new URL('../../../assets', import.meta.url)),
    });
    const server = stop.requested()
      ? undefined
      : await startServer({
          services,
          staticDir: fileURLToPath(new URL('../../renderer', import.meta.url)),
          host,
          port,
        }).catch((err: NodeJS.ErrnoException) => {
          if (err.code === 'EADDRINUSE')
            throw new WhetstoneError(
              'BAD_ARGUMENT',
              `Port ${port} is in use.`,
              'Pass --port with another number (0: any free port).',
            );
          throw err;
        });
    if (server && !stop.requested()) {
      if (!isLoopback(host)) {
        process.stderr.write(
          `Warning: serving on ${host}, reachable from other machines. Anyone with the token can act as you: train, read the models and datasets you pick, and run commands through cluster profiles (their engine and setup lines); prefer an SSH tunnel to 127.0.0.1.\n`,
        );
      }
      process.stdout.write(`Open ${server.url}\n`);
      await stop.stopped;
    }
    process.stdout.write('Stopping: running jobs checkpoint and stop…\n');
    await services.shutdown();
    await server?.close();
    return 0;
  } catch (err) {
    const error = toErrorInfo(err);
    process.stderr.write(`error: ${error.message}\n${error.hint ? `hint: ${error.hint}\n` : ''}`);
    return error.code === 'BAD_ARGUMENT' ? 2 : 1;
  } finally {
    stop.dispose();
  }
}
