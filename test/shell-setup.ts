// A web-mode server over a fresh data folder, for the shell's integration tests: real services,
// real engine processes (child_process.fork), the bridge on a random loopback port.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { forkEngine } from '../main/hosting/node-process.js';
import { startServer, type RunningServer } from '../main/serve/server.js';
import { createServices, type MainServices, type ServiceOptions } from '../main/services.js';

export interface Shell {
  work: string;
  dataDir: string;
  /** A small JSONL text dataset. */
  dataset: string;
  services: MainServices;
  server: RunningServer;
  stop(): Promise<void>;
}

const sentences = [
  'The stone is flat and the blade is sharp.',
  'Water keeps the stone clean while you sharpen.',
  'Hold the blade at a steady angle on the stone.',
  'Wipe the blade and the stone when you are done.',
];

export async function startShell(extra: Partial<ServiceOptions> = {}): Promise<Shell> {
  const work = await mkdtemp(join(tmpdir(), 'whetstone-shell-'));
  const dataDir = join(work, 'user-data');
  const dataset = join(work, 'texts.jsonl');
  const rows = Array.from({ length: 16 }, (_, i) => JSON.stringify({ text: sentences[i % 4] }));
  await writeFile(dataset, `${rows.join('\n')}\n`);
  const staticDir = join(work, 'renderer');
  await mkdir(staticDir);
  await writeFile(join(staticDir, 'index.html'), '<!doctype html><title>Whetstone</title>');
  const services = await createServices({
    userDataDir: dataDir,
    launch: forkEngine,
    appVersion: 'test',
    hfHubDir: join(work, 'hub'),
    followIntervalMs: 50,
    ...extra,
  });
  const server = await startServer({ services, staticDir, port: 0 });
  return {
    work,
    dataDir,
    dataset,
    services,
    server,
    stop: async () => {
      // Any run still going is cancelled (and its engine killed after the grace period).
      await services.shutdown();
      await server.close();
      await rm(work, { recursive: true, force: true });
    },
  };
}
