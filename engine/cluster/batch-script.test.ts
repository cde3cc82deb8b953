// The batch script, run by bash with a recording engine in place of whetstone: it starts the
// engine with exactly the run's train flags (hostile values included), resumes once a
// checkpoint exists, and picks its own cell in an array.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseCommandLine } from '../cli/parse.js';
import { renderBatchScript, trainArgs } from './batch-script.js';
import { parseProfile, runDirIn } from './profile.js';
import { sbatchOptions } from './slurm.js';
import { cellFolder } from './submit.js';

const dir = mkdtempSync(join(tmpdir(), 'whetstone-batch-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// A stand-in for the engine that writes the arguments it was given, one per line of a NUL list.
const recorder = join(dir, 'record-args');
writeFileSync(recorder, `#!/bin/bash\nprintf '%s\\0' "$@" > "${dir}/args"\n`);
chmodSync(recorder, 0o755);

const hostile = {
  model: "/models/it's $(touch /tmp/pwned) `id`",
  data: '/data/a b;c|d&e.jsonl',
  method: 'lomo',
  steps: 7,
  lr: 0.05,
  recompute: true,
  promptInitText: 'line one\nline "two" $HOME',
};

function runScript(script: string, env: Record<string, string> = {}): string[] {
  const path = join(dir, 'job.sh');
  writeFileSync(path, script);
  const result = spawnSync('bash', [path], { env: { ...process.env, ...env }, encoding: 'utf8' });
  expect(result.status, result.stderr).toBe(0);
  return readFileSync(join(dir, 'args'), 'utf8').split('\0').slice(0, -1);
}

describe('batch script', () => {
  const profile = parseProfile({ name: 'p', sharedDir: dir, engine: recorder });

  it('train flags give the spec back through the CLI parser', () => {
    const parsed = parseCommandLine(['train', ...trainArgs(hostile)]);
    expect(parsed.job).toEqual({ kind: 'train', ...hostile });
    expect(() => trainArgs({ ...hostile, secretToken: 'x' })).toThrow(/secretToken.*no train flag/);
  });

  it('starts train with exactly those flags, then resume once a checkpoint exists', () => {
    const run = join(dir, "run 'one' $x");
    mkdirSync(join(run, 'checkpoints'), { recursive: true });
    const script = renderBatchScript(profile, [{ dir: run, spec: hostile }], false);
    expect(runScript(script)).toEqual(['train', ...trainArgs(hostile), '--out', run]);
    writeFileSync(join(run, 'checkpoints', 'latest.json'), '{"dir":"step-2"}');
    expect(runScript(script)).toEqual(['resume', '--run', run]);
  });

  it('an array task runs its own cell', () => {
    const runs = ['a', 'b'].map((k) => ({
      dir: join(dir, 'sweep', k),
      spec: { ...hostile, seed: k === 'a' ? 1 : 2 },
    }));
    const script = renderBatchScript(profile, runs, true);
    expect(runScript(script, { SLURM_ARRAY_TASK_ID: '1' })).toEqual([
      'train',
      ...trainArgs(runs[1]!.spec),
      '--out',
      runs[1]!.dir,
    ]);
  });

  it('asks Slurm for the profile’s resources, requeue and the warning signal', () => {
    const p = parseProfile({
      name: 'g',
      sharedDir: '/s',
      partition: 'gpu',
      account: 'lab',
      gpus: 2,
      cpus: 8,
      time: '2-00:00:00',
    });
    expect(
      sbatchOptions(p, { name: 'whetstone-r', memoryMb: 900, output: '/s/r/slurm-%j.out' }),
    ).toEqual([
      '--job-name=whetstone-r',
      '--partition=gpu',
      '--account=lab',
      '--time=2-00:00:00',
      '--nodes=1',
      '--ntasks=1',
      '--cpus-per-task=8',
      '--mem=900M',
      '--gres=gpu:2',
      '--requeue',
      '--signal=B:USR1@120',
      '--open-mode=append',
      '--output=/s/r/slurm-%j.out',
    ]);
  });
});

describe('profiles', () => {
  it('refuse values that could reach a shell or Slurm unquoted', () => {
    expect(() => parseProfile({ name: 'a b', sharedDir: '/s' })).toThrow(/name/);
    expect(() => parseProfile({ name: 'a', sharedDir: 'relative' })).toThrow(/sharedDir/);
    expect(() => parseProfile({ name: 'a', sharedDir: '/s', partition: 'x;rm' })).toThrow(
      /partition/,
    );
    expect(() =>
      parseProfile({ name: 'a', sharedDir: '/s', ssh: { host: '-oProxyCommand=x' } }),
    ).toThrow(/ssh.host/);
    expect(() => parseProfile({ name: 'a', sharedDir: '/s', setup: 'a\nb' })).toThrow(/setup/);
    expect(() => parseProfile({ name: 'a', sharedDir: '/s', time: 'forever' })).toThrow(/time/);
  });

  it('keep runs inside the shared folder', () => {
    const p = parseProfile({ name: 'a', sharedDir: '/shared/runs/' });
    expect(runDirIn(p, 'r1')).toBe('/shared/runs/r1');
    expect(runDirIn(p, '/shared/runs/x/y')).toBe('/shared/runs/x/y');
    for (const bad of [
      '../r',
      '/shared/runs',
      '/shared/runs/../other',
      '/etc',
      '/shared/runsx/r',
    ]) {
      expect(() => runDirIn(p, bad)).toThrow(/outside the shared folder/);
    }
  });

  it('name a cell’s folder after its key, safely and uniquely', () => {
    const taken = new Set<string>();
    expect(cellFolder('method=lomo,lr=0.1', taken)).toBe('method=lomo_lr=0.1');
    expect(cellFolder('method=lomo;lr=0.1', taken)).toBe('method=lomo_lr=0.1-2');
    expect(cellFolder('../..', taken)).toBe('cell');
  });
});
