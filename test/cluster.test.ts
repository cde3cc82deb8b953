// Runs sent to a real Slurm: a one-node cluster started for this file (test/slurm-cluster.ts),
// jobs submitted through sbatch from the CLI and the studio's run manager, followed into the
// run store, cancelled, killed at the time limit, resumed, and a job array; and profiles that
// cannot work refused before anything is submitted.
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterProfiles, parseProfile } from '../engine/cluster/profile.js';
import { submitRuns } from '../engine/cluster/submit.js';
import { jobState } from '../engine/cluster/slurm.js';
import { transportFor } from '../engine/cluster/transport.js';
import { forkEngine } from '../main/hosting/node-process.js';
import { RunManager } from '../main/training/run-manager.js';
import { RunStore } from '../main/training/run-store.js';
import type { RunEvent, RunStreamMessage } from '../main/contract.js';
import { runCli } from './cli.js';
import { SweepManager } from '../main/training/sweep-manager.js';
import { fixturePath, writeSentencesJsonl } from './fixtures.js';
import {
  slurmSkipNote,
  sshSkipNote,
  startCluster,
  startSshd,
  type TestCluster,
} from './slurm-cluster.js';

const skip = slurmSkipNote();
const bin = join(import.meta.dirname, '..', 'bin', 'whetstone.js');

let cluster: TestCluster;
let work: string;
let shared: string;
let data: string;
let env: Record<string, string>;
let profiles: ClusterProfiles;

/** The run's shape: tiny model, small steps, one CPU's worth. */
const trainFlags = (steps: number, extra: string[] = []) => [
  '--model',
  fixturePath('llama'),
  '--data',
  data,
  '--method',
  'lomo',
  '--lr',
  '0.1',
  '--batch',
  '2',
  '--seq',
  '16',
  '--seed',
  '3',
  '--backend',
  'wasm',
  '--steps',
  String(steps),
  ...extra,
];

const trainSpec = (steps: number, extra: Record<string, unknown> = {}) => ({
  model: fixturePath('llama'),
  data,
  method: 'lomo',
  lr: 0.1,
  batch: 2,
  seq: 16,
  seed: 3,
  backend: 'wasm',
  steps,
  ...extra,
});

const stepLosses = (events: RunEvent[] | Record<string, unknown>[]) =>
  new Map(events.filter((e) => e.type === 'step').map((e) => [e.step as number, e.loss as number]));

function jobIds(): string[] {
  const out = spawnSync('squeue', ['--noheader', '--states=all', '--format=%i'], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
  });
  return out.stdout.split('\n').filter((l) => l.trim() !== '');
}

/** Resolves when `predicate` holds for the events a watcher of `id` has seen. */
function watchUntil(
  runs: RunManager,
  id: string,
  predicate: (events: RunEvent[], message: RunStreamMessage) => boolean,
): Promise<RunEvent[]> {
  return new Promise((resolve, reject) => {
    const seen: RunEvent[] = [];
    const stop = runs.watch(id, (message) => {
      if (message.kind === 'error') return reject(new Error(message.error.message));
      seen.push(...message.events);
      if (predicate(seen, message)) {
        queueMicrotask(() => stop());
        resolve(seen);
      }
    });
  });
}

async function localRun(name: string, steps: number) {
  const out = join(work, name);
  const run = await runCli([
    'train',
    ...trainFlags(steps),
    '--checkpoint-every',
    '2',
    '--out',
    out,
    '--json',
  ]);
  expect(run.code, run.stderr).toBe(0);
  return { out, losses: stepLosses(run.events) };
}

const finalWeights = async (runDir: string) => {
  const pointer = JSON.parse(
    await readFile(join(runDir, 'checkpoints', 'latest.json'), 'utf8'),
  ) as {
    dir: string;
  };
  return readFile(join(runDir, 'checkpoints', pointer.dir, 'model.safetensors'));
};

describe.skipIf(skip !== undefined)('runs on a Slurm cluster', () => {
  beforeAll(async () => {
    cluster = await startCluster();
    env = cluster.env;
    for (const [k, v] of Object.entries(env)) process.env[k] = v;
    work = await mkdtemp(join(tmpdir(), 'whetstone-cluster-'));
    shared = join(work, 'shared');
    await mkdir(shared);
    data = await writeSentencesJsonl(work);
    env.WHETSTONE_CONFIG_DIR = join(work, 'config');
    profiles = new ClusterProfiles(env.WHETSTONE_CONFIG_DIR);
    const add = await runCli(
      [
        'cluster',
        'add',
        'local',
        '--shared-dir',
        shared,
        '--partition',
        cluster.partition,
        '--engine',
        bin,
        '--time',
        '10',
        '--json',
      ],
      env,
    );
    expect(add.code, JSON.stringify(add.events) + add.stderr).toBe(0);
  });

  afterAll(async () => {
    await cluster?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('refuses a bad host, a missing partition or an unreachable shared folder before submitting', async () => {
    const before = jobIds();
    const base = { name: 'bad', sharedDir: shared, engine: bin };
    const cases: [object, RegExp][] = [
      [{ ...base, partition: 'nope' }, /no partition "nope"/],
      [{ ...base, sharedDir: join(work, 'missing') }, /shared folder .*missing does not exist/],
      [
        { ...base, ssh: { host: 'no-such-host.invalid', port: 22 } },
        /Could not reach no-such-host\.invalid over ssh/,
      ],
    ];
    for (const [input, message] of cases) {
      await expect(
        submitRuns(parseProfile(input), 'r', [{ key: 'r', spec: trainSpec(2) }]),
      ).rejects.toMatchObject({
        code: 'CLUSTER_UNAVAILABLE',
        message: expect.stringMatching(message) as string,
      });
    }
    // A run folder outside the profile's shared folder is refused, whatever the path's spelling.
    for (const out of ['/etc/cron.d/x', '../escape', `${shared}/../escape`]) {
      const refused = await runCli(
        ['submit', '--cluster', 'local', ...trainFlags(2), '--out', out, '--json'],
        env,
      );
      expect(refused.last).toMatchObject({ type: 'error', code: 'PATH_NOT_ALLOWED' });
    }
    const missing = await runCli(['cluster', 'check', 'nowhere', '--json'], env);
    expect(missing.last).toMatchObject({
      type: 'error',
      message: expect.stringMatching(/no cluster profile "nowhere"/) as string,
    });
    expect(jobIds()).toEqual(before);
  });

  it('a CLI-submitted run trains on the node, reaches the run store live, with the local losses', async () => {
    // 40 steps: long enough that the follower's polls (squeue, then the file) see it mid-run.
    const local = await localRun('local-cli', 40);
    const submitted = await runCli(
      [
        'submit',
        '--cluster',
        'local',
        ...trainFlags(40),
        '--checkpoint-every',
        '2',
        '--out',
        'cli-run',
        '--json',
      ],
      env,
    );
    expect(submitted.code, JSON.stringify(submitted.events) + submitted.stderr).toBe(0);
    const { runs: cells } = submitted.last as { runs: { dir: string; jobId: string }[] };
    expect(cells[0]!.dir).toBe(join(shared, 'cli-run'));
    // The script quotes its values and asks for one CPU, and memory from the run's estimate.
    const options = JSON.parse(
      await readFile(join(shared, 'cli-run', 'sbatch-options.json'), 'utf8'),
    ) as string[];
    expect(options).toEqual(
      expect.arrayContaining(['--cpus-per-task=1', '--requeue', '--partition=debug']),
    );
    expect(options.find((o) => o.startsWith('--mem='))).toMatch(/^--mem=\d+M$/);

    const runs = new RunManager(new RunStore(join(work, 'store')), forkEngine, {
      clusterIntervalMs: 200,
      clusters: profiles,
    });
    const summary = await runs.adopt('local', 'cli-run');
    expect(summary.cluster).toMatchObject({ name: 'local', jobId: cells[0]!.jobId });
    // Live: a step arrives in a batch of its own, before the run's end.
    let liveStep = false;
    await watchUntil(runs, summary.id, (events, message) => {
      if (
        message.kind === 'events' &&
        !message.catchUp &&
        message.events.some((e) => e.type === 'step') &&
        !events.some((e) => e.type === 'done')
      )
        liveStep = true;
      return events.some((e) => e.type === 'done');
    });
    await runs.settled(summary.id);
    expect(liveStep).toBe(true);
    const after = await runs.summary(summary.id);
    expect(after).toMatchObject({ status: 'finished', step: 40, method: 'lomo' });
    const stored = await runs.store.read(summary.id);
    expect(stepLosses(stored.events)).toEqual(local.losses);
    expect(await finalWeights(join(shared, 'cli-run'))).toEqual(await finalWeights(local.out));
  });

  it('cancel leaves a checkpoint; resume resubmits and ends on the uninterrupted run’s weights', async () => {
    const steps = 40;
    const local = await localRun('local-40', steps);
    const runs = new RunManager(new RunStore(join(work, 'store')), forkEngine, {
      clusterIntervalMs: 200,
      clusters: profiles,
    });
    const started = await runs.submit(
      { kind: 'train', ...trainSpec(steps, { checkpointEvery: 2 }) },
      'local',
    );
    await watchUntil(runs, started.id, (events) =>
      events.some((e) => e.type === 'step' && (e.step as number) >= 3),
    );
    await runs.cancel(started.id);
    await runs.settled(started.id);
    const cancelled = await runs.summary(started.id);
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.cluster?.state).toBe('CANCELLED');
    const remote = cancelled.cluster && join(shared, started.id);
    const pointer = JSON.parse(
      await readFile(join(remote!, 'checkpoints', 'latest.json'), 'utf8'),
    ) as { step: number };
    expect(pointer.step).toBeGreaterThanOrEqual(3);
    expect(pointer.step).toBeLessThan(steps);
    // The studio offers Resume from that step (read from the run's copied events).
    expect(cancelled.checkpointStep).toBe(pointer.step);

    const resumed = await runs.resume(started.id);
    expect(resumed.cluster?.jobId).not.toBe(cancelled.cluster?.jobId);
    await watchUntil(
      runs,
      started.id,
      (events) => events.at(-1)?.type === 'done' && events.some((e) => e.type === 'resume'),
    );
    await runs.settled(started.id);
    expect((await runs.summary(started.id)).status).toBe('finished');
    const stored = await runs.store.read(started.id);
    expect(stored.events.find((e) => e.type === 'resume')).toMatchObject({ step: pointer.step });
    expect(stepLosses(stored.events)).toEqual(local.losses);
    expect(await finalWeights(remote!)).toEqual(await finalWeights(local.out));
  });

  it('a job Slurm requeues (as on preemption) resumes from its checkpoint to the same weights', async () => {
    const steps = 40;
    const local = await localRun('local-requeue', steps);
    const runs = new RunManager(new RunStore(join(work, 'store')), forkEngine, {
      clusterIntervalMs: 200,
      clusters: profiles,
    });
    const started = await runs.submit(
      { kind: 'train', ...trainSpec(steps, { checkpointEvery: 2 }) },
      'local',
    );
    await watchUntil(runs, started.id, (events) =>
      events.some((e) => e.type === 'step' && (e.step as number) >= 3),
    );
    const requeue = spawnSync('scontrol', ['requeue', started.cluster!.jobId], {
      env: { ...process.env, ...env },
      encoding: 'utf8',
    });
    expect(requeue.status, requeue.stderr).toBe(0);
    // Slurm holds a requeued job for about two minutes (BeginTime); an admin may release it now.
    const jobId = started.cluster!.jobId;
    for (let i = 0; i < 300; i++) {
      const queued = await jobState(transportFor(await profiles.get('local')), jobId);
      if (queued.state === 'PENDING') break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const release = spawnSync('scontrol', ['update', `JobId=${jobId}`, 'StartTime=now'], {
      env: { ...process.env, ...env },
      encoding: 'utf8',
    });
    expect(release.status, release.stderr).toBe(0);
    await runs.settled(started.id);
    const after = await runs.summary(started.id);
    expect(after).toMatchObject({
      status: 'finished',
      step: steps,
      cluster: { state: 'COMPLETED' },
    });
    // One job id throughout: Slurm ran the same job again, and the script resumed.
    expect(after.cluster?.jobId).toBe(started.cluster?.jobId);
    const stored = await runs.store.read(started.id);
    expect(stored.events.some((e) => e.type === 'resume')).toBe(true);
    expect(stepLosses(stored.events)).toEqual(local.losses);
    expect(await finalWeights(join(shared, started.id))).toEqual(await finalWeights(local.out));
  });

  it('a job killed at its time limit says so, and resumes from its checkpoint', async () => {
    // One minute, and no warning signal: Slurm's own SIGTERM at the limit is what the engine gets.
    await profiles.save({
      name: 'short',
      sharedDir: shared,
      engine: bin,
      time: '1',
      signalSeconds: 0,
    });
    const runs = new RunManager(new RunStore(join(work, 'store')), forkEngine, {
      clusterIntervalMs: 500,
      clusters: profiles,
    });
    const started = await runs.submit(
      { kind: 'train', ...trainSpec(1_000_000, { checkpointEvery: 20 }) },
      'short',
    );
    await runs.settled(started.id);
    const ended = await runs.summary(started.id);
    expect(ended).toMatchObject({
      status: 'failed',
      cluster: { state: 'TIMEOUT' },
      error: { code: 'CLUSTER_JOB_ENDED', message: expect.stringMatching(/time limit/) as string },
    });
    const pointer = JSON.parse(
      await readFile(join(shared, started.id, 'checkpoints', 'latest.json'), 'utf8'),
    ) as { step: number };
    expect(pointer.step).toBeGreaterThan(0);
    await runs.resume(started.id);
    const seen = await watchUntil(runs, started.id, (events) =>
      events.some((e) => e.type === 'resume'),
    );
    expect(seen.find((e) => e.type === 'resume')).toMatchObject({ step: pointer.step });
    await runs.cancel(started.id);
    await runs.settled(started.id);
    expect((await runs.summary(started.id)).status).toBe('cancelled');
  });

  it('goes through ssh with a key: submit, follow and finish', async (ctx) => {
    const note = sshSkipNote();
    if (note !== undefined) return ctx.skip(note);
    const sshd = await startSshd(cluster.dir, cluster.env);
    try {
      const add = await runCli(
        [
          'cluster',
          'add',
          'remote',
          '--host',
          '127.0.0.1',
          '--port',
          String(sshd.port),
          '--key',
          sshd.key,
          '--known-hosts',
          sshd.knownHosts,
          '--shared-dir',
          shared,
          '--engine',
          bin,
          '--json',
        ],
        env,
      );
      expect(add.code, JSON.stringify(add.events)).toBe(0);
      const runs = new RunManager(new RunStore(join(work, 'ssh-store')), forkEngine, {
        clusterIntervalMs: 300,
        clusters: profiles,
      });
      const started = await runs.submit({ kind: 'train', ...trainSpec(4) }, 'remote');
      await runs.settled(started.id);
      expect(await runs.summary(started.id)).toMatchObject({
        status: 'finished',
        step: 4,
        cluster: { name: 'remote', state: 'COMPLETED' },
      });
      // The profile holds the key's path, never a secret.
      const saved = await readFile(profiles.file, 'utf8');
      expect(saved).not.toContain('PRIVATE KEY');
      // A wrong key is refused before anything is submitted, saying why.
      const wrong = parseProfile({
        name: 'wrong',
        ssh: {
          host: '127.0.0.1',
          port: sshd.port,
          key: `${sshd.key}.pub`,
          knownHosts: sshd.knownHosts,
        },
        sharedDir: shared,
      });
      await expect(
        submitRuns(wrong, 'w', [{ key: 'w', spec: trainSpec(2) }]),
      ).rejects.toMatchObject({
        message: expect.stringMatching(/Could not reach 127\.0\.0\.1 over ssh/) as string,
      });
    } finally {
      await sshd.stop();
    }
  });

  it('runs a list of 2×2 run specs as one job array, one task per cell', async () => {
    const cells = [0.1, 0.05].flatMap((lr) =>
      ['lomo', 'fo-sgd'].map((method) => ({
        key: `method=${method},lr=${lr}`,
        spec: { ...trainSpec(4), method, lr },
      })),
    );
    const file = join(work, 'cells.json');
    await writeFile(file, JSON.stringify(cells));
    const submitted = await runCli(
      ['submit', '--cluster', 'local', '--specs', file, '--out', 'sweep', '--json'],
      env,
    );
    expect(submitted.code, JSON.stringify(submitted.events)).toBe(0);
    const { runs: tasks, jobId } = submitted.last as {
      jobId: string;
      runs: { key: string; dir: string; jobId: string }[];
    };
    expect(tasks.map((t) => t.jobId)).toEqual([0, 1, 2, 3].map((i) => `${jobId}_${i}`));
    const runs = new RunManager(new RunStore(join(work, 'sweep-store')), forkEngine, {
      clusterIntervalMs: 200,
      clusters: profiles,
    });
    const table = new Map<string, number | undefined>();
    for (const task of tasks) {
      const summary = await runs.adopt('local', task.dir);
      await runs.settled(summary.id);
      const done = await runs.summary(summary.id);
      expect(done).toMatchObject({ status: 'finished', step: 4, cluster: { state: 'COMPLETED' } });
      table.set(task.key, done.lastLoss);
    }
    expect([...table.keys()]).toEqual(cells.map((c) => c.key));
    for (const loss of table.values()) expect(loss).toBeGreaterThan(0);

    // The same cells from the run manager (what the studio's sweep calls): one array, a run each.
    const studioCells = cells.map((c) => ({ key: c.key, spec: { kind: 'train', ...c.spec } }));
    const started = await runs.submitArray(studioCells, 'local', 'studio-sweep');
    expect(started.map((r) => r.key)).toEqual(cells.map((c) => c.key));
    expect(new Set(started.map((r) => r.cluster?.jobId.split('_')[0])).size).toBe(1);
    for (const [i, run] of started.entries()) {
      await runs.settled(run.id);
      const done = await runs.summary(run.id);
      expect(done).toMatchObject({ status: 'finished', step: 4 });
      // Same settings, same seed: the same losses as the CLI's array.
      expect(done.lastLoss).toBe(table.get(cells[i]!.key));
    }
    // Each cell trained its own settings.
    const spec = JSON.parse(await readFile(join(tasks[1]!.dir, 'spec.json'), 'utf8')) as {
      method: string;
      lr: number;
    };
    expect(spec).toMatchObject({ method: 'fo-sgd', lr: 0.1 });
  });

  it('a comparison sweep goes as one job array; the same command again writes its tables', async () => {
    const sweep = [
      'sweep',
      '--cluster',
      'local',
      '--model',
      fixturePath('llama'),
      '--data',
      data,
      '--methods',
      'zo-sgd',
      '--peft',
      'full,lora',
      '--steps',
      '3',
      '--batch',
      '2',
      '--seq',
      '16',
      '--backend',
      'wasm',
      '--out',
      join(shared, 'compare'),
      '--json',
    ];
    const submitted = await runCli(sweep, env);
    expect(submitted.code, submitted.stderr).toBe(0);
    const { runs: tasks } = submitted.last as { runs: { key: string; dir: string }[] };
    expect(tasks.map((t) => t.key)).toEqual(['zo-sgd.full.seed0', 'zo-sgd.lora.seed0']);
    expect(tasks[0]!.dir).toBe(join(shared, 'compare', 'runs', 'zo-sgd.full.seed0'));
    const runs = new RunManager(new RunStore(join(work, 'compare-store')), forkEngine, {
      clusterIntervalMs: 200,
      clusters: profiles,
    });
    for (const task of tasks) {
      const summary = await runs.adopt('local', task.dir);
      await runs.settled(summary.id);
      expect(await runs.summary(summary.id)).toMatchObject({ status: 'finished', step: 3 });
    }
    const tables = await runCli(sweep, env);
    expect(tables.code, tables.stderr).toBe(0);
    const result = JSON.parse(await readFile(join(shared, 'compare', 'results.json'), 'utf8')) as {
      cells: { key: string; status: string }[];
    };
    expect(result.cells.map((c) => [c.key, c.status])).toEqual([
      ['zo-sgd.full.seed0', 'finished'],
      ['zo-sgd.lora.seed0', 'finished'],
    ]);
    expect(await readFile(join(shared, 'compare', 'README.md'), 'utf8')).toMatch(/zo-sgd/i);

    // The studio's comparison on the cluster: one array, the table filled from the followed runs.
    const sweeps = new SweepManager(join(work, 'comparisons'), runs, () =>
      Promise.resolve(undefined),
    );
    const started = await sweeps.start({
      model: fixturePath('llama'),
      data,
      methods: ['zo-sgd'],
      schemes: ['full', 'lora'],
      seeds: 1,
      ablateTemplate: false,
      steps: { 'zo-sgd': 3 },
      batch: 2,
      seq: 16,
      backend: 'wasm',
      cluster: 'local',
    });
    const arrays = new Set(
      await Promise.all(
        started.cells.map(async (c) => (await runs.summary(c.runId!)).cluster?.jobId.split('_')[0]),
      ),
    );
    expect(arrays.size).toBe(1);
    let report = await sweeps.report(started.id);
    while (report.status === 'running') {
      await new Promise((r) => setTimeout(r, 200));
      report = await sweeps.report(started.id);
    }
    expect(report.status).toBe('done');
    expect(report.records.map((r) => [r.key, r.status])).toEqual(
      result.cells.map((c) => [c.key, 'finished']),
    );
    // Same grid, same seeds: the same losses as the CLI's array.
    const cliLosses = JSON.parse(
      await readFile(join(shared, 'compare', 'results.json'), 'utf8'),
    ) as { cells: { losses: number[][] }[] };
    expect(report.records.map((r) => r.losses.length)).toEqual([3, 3]);
    expect(report.records.map((r) => r.losses)).toEqual(cliLosses.cells.map((c) => c.losses));
    // A sweep folder outside the profile's shared folder is refused before anything is submitted.
    const outside = sweep.map((a) => (a === join(shared, 'compare') ? join(work, 'elsewhere') : a));
    const refused = await runCli(outside, env);
    expect(refused.code).not.toBe(0);
    expect(JSON.stringify(refused.events) + refused.stderr).toMatch(/outside the shared folder/);
  });
});

if (skip !== undefined) {
  it('runs on a Slurm cluster', (ctx) => ctx.skip(skip));
}
