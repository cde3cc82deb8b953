// The run store: one folder per run under the user's data directory, in the engine's own layout
// (engine/train/run-dir.ts: spec.json, events.jsonl, log.txt, checkpoints/) plus exports/ and
// host.json (which engine process works on it). Everything is on disk, so it survives restarts.
import { appendFile, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { WhetstoneError } from '../../engine/errors.js';
import { RUN_FILES } from '../../engine/train/run-dir.js';
import type { EngineEvent } from '../../engine/protocol.js';
import { CLUSTER_FILE, type ClusterRecord } from '../../engine/cluster/submit.js';
import type { RunEvent } from '../contract.js';
import { readEvents } from './events-file.js';

export const EXPORTS_DIR = 'exports';
const HOST_FILE = 'host.json';
const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** The engine process working on a run, so a restarted host can find it again. */
export interface HostRecord {
  pid: number;
  startedAt: string;
}

export interface StoredRun {
  id: string;
  dir: string;
  spec: unknown;
  events: RunEvent[];
  createdAt: string;
}

export class RunStore {
  constructor(readonly root: string) {}

  /** The folder of run `id`; refuses ids that could name anything outside the store. */
  dir(id: string): string {
    if (!ID_PATTERN.test(id) || id.includes('..')) {
      throw new WhetstoneError('RUN_NOT_FOUND', `"${id}" is not a run id.`);
    }
    return join(this.root, id);
  }

  /** A new, empty run folder named after the time and method. */
  async create(method: string): Promise<{ id: string; dir: string }> {
    await mkdir(this.root, { recursive: true });
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    for (let n = 0; ; n++) {
      const id = `${stamp}-${method}${n === 0 ? '' : `-${n}`}`;
      const dir = this.dir(id);
      try {
        await mkdir(dir);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue;
        throw err;
      }
      await mkdir(join(dir, EXPORTS_DIR));
      return { id, dir };
    }
  }

  /** Every run id, newest first. */
  async ids(): Promise<string[]> {
    const entries = await readdir(this.root, { withFileTypes: true }).catch(() => []);
    return entries
      .filter((e) => e.isDirectory() && ID_PATTERN.test(e.name))
      .map((e) => e.name)
      .sort()
      .reverse();
  }

  async read(id: string): Promise<StoredRun> {
    const dir = this.dir(id);
    const info = await stat(dir).catch(() => undefined);
    if (!info?.isDirectory()) {
      throw new WhetstoneError(
        'RUN_NOT_FOUND',
        `There is no run "${id}".`,
        'Refresh the list of runs.',
      );
    }
    const spec = await readFile(join(dir, RUN_FILES.spec), 'utf8')
      .then((t) => JSON.parse(t) as unknown)
      .catch(() => undefined);
    const events = await readEvents(join(dir, RUN_FILES.events));
    return { id, dir, spec, events, createdAt: info.birthtime.toISOString() };
  }

  eventsPath(id: string): string {
    return join(this.dir(id), RUN_FILES.events);
  }

  /** Append an event the engine could not write itself (it crashed), in its own line format. */
  async append(id: string, event: RunEvent | EngineEvent): Promise<void> {
    const line = `${JSON.stringify({ ...event, time: new Date().toISOString() })}\n`;
    await appendFile(join(this.dir(id), RUN_FILES.events), line);
  }

  /** Step of the newest complete checkpoint (checkpoints/latest.json points at `step-N`). */
  async checkpointStep(id: string): Promise<number | undefined> {
    try {
      const text = await readFile(join(this.dir(id), RUN_FILES.checkpoints, 'latest.json'), 'utf8');
      const match = /^step-(\d+)$/.exec(String((JSON.parse(text) as { dir?: unknown }).dir));
      return match ? Number(match[1]) : undefined;
    } catch {
      return undefined;
    }
  }

  /** Events read from a cluster run's own events.jsonl, copied as they are (times included). */
  async appendCopied(id: string, events: RunEvent[]): Promise<void> {
    const text = events.map((e) => `${JSON.stringify(e)}\n`).join('');
    await appendFile(join(this.dir(id), RUN_FILES.events), text);
  }

  /** A cluster run's record: its profile, its folder on the cluster and its job ids. */
  async readCluster(id: string): Promise<ClusterRecord | undefined> {
    try {
      return JSON.parse(await readFile(join(this.dir(id), CLUSTER_FILE), 'utf8')) as ClusterRecord;
    } catch {
      return undefined;
    }
  }

  async writeCluster(id: string, record: ClusterRecord): Promise<void> {
    await writeFile(join(this.dir(id), CLUSTER_FILE), `${JSON.stringify(record, null, 2)}\n`);
  }

  /** Remove a run folder (one whose submission failed before anything ran). */
  async remove(id: string): Promise<void> {
    await rm(this.dir(id), { recursive: true, force: true });
  }

  async writeHost(id: string, record: HostRecord): Promise<void> {
    await writeFile(join(this.dir(id), HOST_FILE), `${JSON.stringify(record)}\n`);
  }

  async readHost(id: string): Promise<HostRecord | undefined> {
    try {
      const record = JSON.parse(
        await readFile(join(this.dir(id), HOST_FILE), 'utf8'),
      ) as Partial<HostRecord>;
      return typeof record.pid === 'number' && typeof record.startedAt === 'string'
        ? { pid: record.pid, startedAt: record.startedAt }
        : undefined;
    } catch {
      return undefined;
    }
  }

  async clearHost(id: string): Promise<void> {
    await rm(join(this.dir(id), HOST_FILE), { force: true });
  }
}
