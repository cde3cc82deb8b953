// A real one-node Slurm cluster for tests, run as the current user in a temporary folder: a
// generated munge key and munged on its own socket, a generated slurm.conf (SLURM_CONF points at
// it), slurmctld and slurmd on free ports; and, for the ssh path, a private sshd on a high port
// that accepts a generated key. Where Slurm is not installed the tests skip with a note, unless
// WHETSTONE_REQUIRE_SLURM=1 (CI): there a missing Slurm fails.
import { execFileSync, spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { hostname, tmpdir, totalmem, userInfo } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

const PROGRAMS = ['munged', 'slurmctld', 'slurmd', 'sbatch', 'squeue', 'scancel', 'sinfo'];
const SBIN = ['/usr/sbin', '/usr/bin', '/sbin', '/bin'];

function which(program: string): string | undefined {
  for (const dir of [...(process.env.PATH ?? '').split(':'), ...SBIN]) {
    try {
      accessSync(join(dir, program), constants.X_OK);
      return join(dir, program);
    } catch {
      // not here
    }
  }
  return undefined;
}

/** The skip note when Slurm is missing (undefined when it is there); throws where it is required. */
export function slurmSkipNote(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const missing = PROGRAMS.filter((p) => which(p) === undefined);
  if (missing.length === 0) return undefined;
  const reason = `no ${missing.join(', ')} (apt-get install slurm-wlm munge)`;
  if (env.WHETSTONE_REQUIRE_SLURM === '1') {
    throw new Error(`Slurm is required (WHETSTONE_REQUIRE_SLURM=1) but there is ${reason}`);
  }
  return reason;
}

export function sshSkipNote(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const missing = ['sshd', 'ssh', 'ssh-keygen'].filter((p) => which(p) === undefined);
  if (missing.length === 0) return undefined;
  const reason = `no ${missing.join(', ')} (apt-get install openssh-server openssh-client)`;
  if (env.WHETSTONE_REQUIRE_SLURM === '1') {
    throw new Error(`ssh is required (WHETSTONE_REQUIRE_SLURM=1) but there is ${reason}`);
  }
  return reason;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

export interface TestCluster {
  dir: string;
  /** Environment for anything that talks to this cluster (SLURM_CONF). */
  env: Record<string, string>;
  partition: string;
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Start munged, slurmctld and slurmd; resolves once the node is idle. */
export async function startCluster(): Promise<TestCluster> {
  const dir = await mkdtemp(join(tmpdir(), 'whetstone-slurm-'));
  for (const sub of ['munge', 'state', 'spool', 'log']) await mkdir(join(dir, sub));
  // munged refuses a key or folders others can read.
  await chmod(dir, 0o700);
  await chmod(join(dir, 'munge'), 0o700);
  const key = join(dir, 'munge', 'munge.key');
  await writeFile(key, randomBytes(1024), { mode: 0o600 });
  const socket = join(dir, 'munge', 'munge.socket');
  execFileSync(which('munged')!, [
    '--force',
    `--socket=${socket}`,
    `--key-file=${key}`,
    `--log-file=${join(dir, 'log', 'munged.log')}`,
    `--pid-file=${join(dir, 'munge', 'munged.pid')}`,
    `--seed-file=${join(dir, 'munge', 'munged.seed')}`,
  ]);
  const node = hostname().split('.')[0]!;
  const user = userInfo().username;
  // Half the machine's memory, in MiB: slurmd drains a node that claims more than it has.
  const memory = Math.floor(totalmem() / 1024 ** 2 / 2);
  const [ctldPort, dPort] = [await freePort(), await freePort()];
  const conf = join(dir, 'slurm.conf');
  await writeFile(
    conf,
    [
      'ClusterName=whetstone-test',
      `SlurmctldHost=${node}(127.0.0.1)`,
      `SlurmUser=${user}`,
      `SlurmdUser=${user}`,
      `SlurmctldPort=${ctldPort}`,
      `SlurmdPort=${dPort}`,
      'AuthType=auth/munge',
      'CredType=cred/munge',
      `AuthInfo=socket=${socket}`,
      'ProctrackType=proctrack/linuxproc',
      'TaskPlugin=task/none',
      'SelectType=select/cons_tres',
      'SelectTypeParameters=CR_Core_Memory',
      'MpiDefault=none',
      'SchedulerType=sched/backfill',
      'JobAcctGatherType=jobacct_gather/none',
      'AccountingStorageType=accounting_storage/none',
      `StateSaveLocation=${join(dir, 'state')}`,
      `SlurmdSpoolDir=${join(dir, 'spool')}`,
      `SlurmctldPidFile=${join(dir, 'slurmctld.pid')}`,
      `SlurmdPidFile=${join(dir, 'slurmd.pid')}`,
      `SlurmctldLogFile=${join(dir, 'log', 'slurmctld.log')}`,
      `SlurmdLogFile=${join(dir, 'log', 'slurmd.log')}`,
      // Ended jobs stay in squeue this long (there is no accounting database for sacct here).
      'MinJobAge=120',
      // The engine's grace between SIGTERM and SIGKILL: time enough to write a checkpoint.
      'KillWait=30',
      'ReturnToService=2',
      `NodeName=${node} NodeAddr=127.0.0.1 CPUs=2 RealMemory=${memory} State=UNKNOWN`,
      `PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP`,
      '',
    ].join('\n'),
  );
  const env = { SLURM_CONF: conf };
  const spawnEnv = { ...process.env, ...env };
  execFileSync(which('slurmctld')!, ['-i'], { env: spawnEnv });
  execFileSync(which('slurmd')!, [], { env: spawnEnv });
  const cluster: TestCluster = {
    dir,
    env,
    partition: 'debug',
    stop: async () => {
      // Jobs first (their engines get SIGTERM, then SIGKILL after KillWait), then the daemons.
      spawnSync('scancel', ['--full', '--signal=KILL', `--user=${user}`], { env: spawnEnv });
      for (let i = 0; i < 100; i++) {
        const left = spawnSync('squeue', ['--noheader', '--states=RUNNING,COMPLETING,PENDING'], {
          env: spawnEnv,
          encoding: 'utf8',
        });
        if (left.stdout.trim() === '') break;
        await sleep(200);
      }
      for (const pidFile of ['slurmd.pid', 'slurmctld.pid', join('munge', 'munged.pid')]) {
        const pid = Number(await readFile(join(dir, pidFile), 'utf8').catch(() => ''));
        if (pid > 0) await killAndWait(pid);
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
  for (let i = 0; ; i++) {
    const state = spawnSync('sinfo', ['--noheader', '--format=%t'], {
      env: spawnEnv,
      encoding: 'utf8',
    });
    if (state.stdout.trim() === 'idle') return cluster;
    if (i > 100) {
      const log = await readFile(join(dir, 'log', 'slurmctld.log'), 'utf8').catch(() => '');
      await cluster.stop();
      throw new Error(
        `the test cluster did not come up (sinfo: ${state.stdout}${state.stderr})\n${log.slice(-2000)}`,
      );
    }
    await sleep(200);
  }
}

async function killAndWait(pid: number): Promise<void> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  for (let i = 0; i < 100; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await sleep(100);
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone
  }
}

export interface TestSshd {
  port: number;
  key: string;
  knownHosts: string;
  stop(): Promise<void>;
}

/** A private sshd on a free port accepting a generated key for the current user. */
export async function startSshd(dir: string, env: Record<string, string>): Promise<TestSshd> {
  const sshDir = join(dir, 'ssh');
  await mkdir(sshDir, { mode: 0o700 });
  const hostKey = join(sshDir, 'host_ed25519');
  const key = join(sshDir, 'client_ed25519');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey]);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
  const authorized = join(sshDir, 'authorized_keys');
  await writeFile(authorized, await readFile(`${key}.pub`), { mode: 0o600 });
  const port = await freePort();
  const knownHosts = join(sshDir, 'known_hosts');
  const hostPub = (await readFile(`${hostKey}.pub`, 'utf8'))
    .trim()
    .split(' ')
    .slice(0, 2)
    .join(' ');
  await writeFile(knownHosts, `[127.0.0.1]:${port} ${hostPub}\n`);
  const pidFile = join(sshDir, 'sshd.pid');
  const config = join(sshDir, 'sshd_config');
  await writeFile(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKey}`,
      `AuthorizedKeysFile ${authorized}`,
      `PidFile ${pidFile}`,
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PubkeyAuthentication yes',
      'PermitRootLogin prohibit-password',
      'StrictModes no',
      'UsePAM no',
      // What a login on a real login node has: Slurm's config and a PATH with node on it.
      `SetEnv ${Object.entries({ PATH: process.env.PATH ?? '', ...env })
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')}`,
      '',
    ].join('\n'),
  );
  await mkdir('/run/sshd', { recursive: true }).catch(() => undefined);
  execFileSync(which('sshd')!, ['-f', config]);
  return {
    port,
    key,
    knownHosts,
    stop: async () => {
      const pid = Number(await readFile(pidFile, 'utf8').catch(() => ''));
      if (pid > 0) await killAndWait(pid);
    },
  };
}
