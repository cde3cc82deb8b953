// Main's services, independent of any transport: the handler for every contract channel and the
// run stream. Electron's IPC and web mode's WebSocket bridge both serve exactly this object.
import { parseProfile } from '../engine/cluster/profile.js';
import { checkProfile } from '../engine/cluster/submit.js';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { WhetstoneError } from '../engine/errors.js';
import type { ExportProgress, Handlers, PickKind, Services } from './contract.js';
import type { DoneEvent, EngineEvent, JobInput } from '../engine/protocol.js';
import { backendNames } from '../engine/protocol.js';
import { listExamples } from './examples.js';
import { runEngineJob } from './hosting/engine-job.js';
import type { EngineLauncher } from './hosting/engine-process.js';
import { scanHfCache } from './paths/hf-cache.js';
import { describeExportFolder, describePath, PathGuard } from './paths/path-guard.js';
import { RecentModels } from './paths/recent-models.js';
import { RunManager } from './training/run-manager.js';
import { EXPORTS_DIR, RunStore } from './training/run-store.js';
import { SweepManager } from './training/sweep-manager.js';
import { SystemInfoSource } from './system-info.js';

/** Native file dialogs where there are any (Electron); web mode has none. */
export type PathPicker = (kind: PickKind) => Promise<string | undefined>;

export interface ServiceOptions {
  /** The user's data directory: runs/ and recent-models.json live here. */
  userDataDir: string;
  launch: EngineLauncher;
  appVersion: string;
  picker?: PathPicker;
  /** Hugging Face hub cache folder (default: HF_HUB_CACHE / HF_HOME / ~/.cache). */
  hfHubDir?: string;
  followIntervalMs?: number;
  /** Show a folder in the desktop's file manager (Electron's shell.openPath); web mode has none. */
  openFolder?: (dir: string) => Promise<void>;
  /** The app's assets folder: example models and sample datasets. */
  assetsDir?: string;
}

export interface MainServices extends Services {
  runs: RunManager;
  guard: PathGuard;
  shutdown(): Promise<void>;
}

export async function createServices(options: ServiceOptions): Promise<MainServices> {
  const runs = new RunManager(new RunStore(join(options.userDataDir, 'runs')), options.launch, {
    ...(options.followIntervalMs !== undefined && { followIntervalMs: options.followIntervalMs }),
  });
  await runs.recover();
  const guard = new PathGuard();
  const recent = new RecentModels(join(options.userDataDir, 'recent-models.json'));
  // Models used before were picked before: they stay allowed across restarts.
  for (const entry of await recent.list()) await guard.allow('model', entry.path).catch(() => {});
  const system = new SystemInfoSource(options.launch, options.appVersion);

  const add = async (kind: PickKind, path: string) => {
    if (kind === 'export') await describeExportFolder(path);
    else await describePath(kind, path);
    const real = await guard.allow(kind, path);
    if (kind === 'model') await recent.add(real);
    return { kind, path: real };
  };

  /** Exports under way, by run: the latest progress event, for the export screen's bar. */
  const exporting = new Map<string, ExportProgress>();

  /** Run one engine job to its end: its `done` event (the job's fields), or its error thrown. */
  const job = async <S extends JobInput>(
    spec: S,
    onEvents?: (events: EngineEvent[]) => void,
  ): Promise<DoneEvent<S['kind']>> => {
    const final = await runEngineJob<S['kind']>(options.launch, spec, onEvents);
    if (final.type === 'error') throw new WhetstoneError(final.code, final.message, final.hint);
    return final;
  };

  /** The backend a job would get: the one system:info reports, when the engine knows it. */
  const backendNow = async () => {
    const { backend } = await system.get().catch(() => ({ backend: undefined }));
    return backendNames.find((name) => name === backend);
  };

  // A comparison's cell that will not fit is judged by its estimate and never started.
  const sweeps = new SweepManager(join(options.userDataDir, 'sweeps'), runs, async (spec) => {
    const { model, method, batch, seq, recompute, peft, pagedOptim } = spec;
    const backend = spec.backend ?? (await backendNow());
    const { fit } = await job({
      kind: 'estimate',
      ...{ model, method, batch, seq, recompute, peft, pagedOptim },
      ...(backend && { backend }),
    });
    // Unforced, a later backend that holds it would be chosen: that fits.
    if (!fit || fit.fits || (spec.backend === undefined && fit.fallback)) return undefined;
    return fit.message ?? `${method} + ${peft} does not fit ${fit.backend}`;
  });

  const handlers: Handlers = {
    'system:info': (input) => system.get(input.refresh === true),
    'runs:list': () => runs.list(),
    'runs:get': (input) => runs.summary(input.runId),
    'runs:start': async (input) => {
      const model = await guard.check('model', input.model);
      const data = await guard.check('dataset', input.data);
      await recent.add(model);
      return runs.start({ ...input, model, data });
    },
    // A cluster's paths are the cluster's own, not this machine's: no allow-list applies.
    'runs:submit': ({ cluster, ...spec }) => runs.submit(spec, cluster),
    'clusters:list': () => runs.clusters.list(),
    'clusters:save': async ({ profile }) => {
      await checkProfile(parseProfile(profile));
      return runs.clusters.save(profile);
    },
    'clusters:remove': async ({ name }) => {
      await runs.clusters.remove(name);
      return runs.clusters.list();
    },
    'runs:resume': (input) => runs.resume(input.runId, input.steps),
    'runs:cancel': (input) => runs.cancel(input.runId),
    'runs:pause': (input) => runs.pause(input.runId, input.paused),
    'paths:pick': async (input) => {
      if (!options.picker) {
        throw new WhetstoneError(
          'BAD_ARGUMENT',
          'There is no file dialog in web mode.',
          input.kind === 'export'
            ? "Leave the destination empty to export into the run's exports folder, or type a folder inside it."
            : 'Type or paste the path instead (it is on the machine running `whetstone serve`).',
        );
      }
      const path = await options.picker(input.kind);
      return path === undefined ? null : add(input.kind, path);
    },
    'paths:add': (input) => add(input.kind, input.path),
    'models:recent': () => recent.list(),
    'models:hf-cache': async () => {
      const found = await scanHfCache(options.hfHubDir);
      // Listed by the app itself, so the user may pick them without a dialog.
      for (const entry of found) await guard.allow('model', entry.path).catch(() => {});
      return found;
    },
    'models:info': async (input) => {
      const model = await guard.check('model', input.model);
      return job({ kind: 'info', model });
    },
    'models:estimate': async (input) => {
      const model = await guard.check('model', input.model);
      // Judged against the backend a run would get, so the badge and Start follow the run's rule.
      const known = await backendNow();
      return job({ kind: 'estimate', ...input, model, ...(known && { backend: known }) });
    },
    'models:generate': async ({ runId, ...input }) => {
      // A run generates over its own base: the model it trained, recorded in its spec.
      const run = runId === undefined ? undefined : await runs.summary(runId);
      const model = run?.model ?? (await guard.check('model', input.model));
      const spec = { kind: 'generate' as const, ...input, model, ...(run && { run: run.dir }) };
      return job(spec);
    },
    'data:inspect': async (input) => {
      const { data: path, ...rest } = input;
      const data = await guard.check('dataset', path);
      const model = rest.model === undefined ? undefined : await guard.check('model', rest.model);
      return job({ kind: 'inspect', ...rest, data, ...(model && { model }) });
    },
    'app:examples': async () => {
      if (options.assetsDir === undefined) return { models: [], datasets: [] };
      const found = await listExamples(options.assetsDir);
      for (const m of found.models) await guard.allow('model', m.path).catch(() => {});
      for (const d of found.datasets) await guard.allow('dataset', d.path).catch(() => {});
      return found;
    },
    'datasets:upload': async (input) => {
      const dir = join(options.userDataDir, 'uploads', new Date().toISOString().replace(/:/g, '-'));
      await mkdir(dir, { recursive: true });
      const path = join(dir, input.name);
      await writeFile(path, Buffer.from(input.base64, 'base64'));
      return add('dataset', path);
    },
    'runs:open-folder': async (input) => {
      const run = await runs.summary(input.runId);
      if (!options.openFolder) {
        throw new WhetstoneError(
          'BAD_ARGUMENT',
          'Web mode cannot open a folder on the desktop of the machine that trains.',
          `Its path: ${run.dir}`,
        );
      }
      await options.openFolder(run.dir);
      return { dir: run.dir };
    },
    'runs:export': async (input) => {
      const run = await runs.summary(input.runId);
      const exportsDir = join(run.dir, EXPORTS_DIR);
      const format = input.format ?? 'merged';
      // The default folder names the checkpoint it holds, so exporting it again replaces it.
      const out =
        input.out === undefined
          ? join(exportsDir, `${format}-step-${run.checkpointStep ?? 0}`)
          : await guard.checkExport(input.out, [exportsDir], options.picker !== undefined);
      if (exporting.has(input.runId)) {
        throw new WhetstoneError(
          'BAD_ARGUMENT',
          `Run ${input.runId} is being exported already.`,
          'Wait for that export to finish.',
        );
      }
      exporting.set(input.runId, { phase: 'load', done: 0 });
      // GGUF: the file and its Ollama Modelfile go into the export folder.
      const quant = input.quant ?? 'f16';
      const target = format === 'gguf' ? join(out, `model-${quant}.gguf`) : out;
      try {
        const result = await job(
          {
            kind: 'export',
            format,
            run: run.dir,
            out: target,
            force: input.out === undefined,
            ...(format === 'gguf' && { quant }),
          },
          (events) => {
            for (const e of events) {
              if (e.type === 'progress' && (e.phase === 'load' || e.phase === 'write')) {
                exporting.set(input.runId, {
                  phase: e.phase,
                  done: e.done,
                  ...(e.total !== undefined && { total: e.total }),
                });
              }
            }
          },
        );
        // A tuned model the user made: the playground may load it.
        if (format === 'merged') await guard.allow('model', out);
        return result;
      } finally {
        exporting.delete(input.runId);
      }
    },
    'sweeps:start': async (input) => {
      const model = await guard.check('model', input.model);
      const data = await guard.check('dataset', input.data);
      await recent.add(model);
      return sweeps.start({ ...input, model, data });
    },
    'sweeps:list': () => sweeps.list(),
    'sweeps:get': (input) => sweeps.report(input.sweepId),
    'sweeps:cancel': (input) => sweeps.cancel(input.sweepId),
    'runs:export-progress': (input) => Promise.resolve(exporting.get(input.runId) ?? null),
  };

  return {
    handlers,
    watchRun: (runId, listener) => runs.watch(runId, listener),
    runs,
    guard,
    shutdown: () => runs.shutdown(),
  };
}
