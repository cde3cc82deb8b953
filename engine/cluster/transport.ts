// How commands reach the cluster: run here (a login node), or through the system ssh with the
// profile's host, user and key. Every word of a remote command is quoted (shell-quote.ts), so
// paths and names cannot run anything; ssh never prompts (BatchMode), so a missing key fails
// instead of hanging.
import { spawn } from 'node:child_process';
import { WhetstoneError } from '../errors.js';
import type { ClusterProfile } from './profile.js';
import { quoteCommand } from './shell-quote.js';

export interface CommandResult {
  code: number;
  stdout: string;
  /** stdout as bytes, for reading a file from an offset (a character may be cut there). */
  stdoutBytes: Buffer;
  stderr: string;
}

export interface Transport {
  /** Where commands run, for messages: "this machine" or "user@host". */
  readonly where: string;
  run(
    argv: readonly string[],
    options?: { input?: string; timeoutMs?: number },
  ): Promise<CommandResult>;
}

/** ssh's exit code when it could not connect or authenticate (the command's own codes differ). */
export const SSH_FAILED = 255;

export function transportFor(profile: ClusterProfile): Transport {
  const ssh = profile.ssh;
  if (!ssh) return { where: 'this machine', run: (argv, options) => spawnCommand(argv, options) };
  const target = ssh.user ? `${ssh.user}@${ssh.host}` : ssh.host;
  const sshArgs = [
    '-o',
    'BatchMode=yes',
    '-o',
    'ConnectTimeout=15',
    '-o',
    'StrictHostKeyChecking=accept-new',
    ...(ssh.knownHosts ? ['-o', `UserKnownHostsFile=${ssh.knownHosts}`] : []),
    ...(ssh.key ? ['-i', ssh.key, '-o', 'IdentitiesOnly=yes'] : []),
    ...(ssh.port ? ['-p', String(ssh.port)] : []),
    target,
    '--',
  ];
  return {
    where: target,
    run: (argv, options) => spawnCommand(['ssh', ...sshArgs, quoteCommand(argv)], options),
  };
}

function spawnCommand(
  argv: readonly string[],
  options: { input?: string; timeoutMs?: number } = {},
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(
        e.code === 'ENOENT'
          ? new WhetstoneError(
              'CLUSTER_UNAVAILABLE',
              `${argv[0]} is not installed on this machine.`,
              argv[0] === 'ssh'
                ? 'Install the OpenSSH client (apt-get install openssh-client).'
                : 'Run Whetstone on a Slurm login node, or give the profile an ssh host.',
            )
          : e,
      );
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const bytes = Buffer.concat(out);
      resolve({
        code: code ?? 1,
        stdout: bytes.toString('utf8'),
        stdoutBytes: bytes,
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
    child.stdin.on('error', () => {}); // a command that exits without reading its input
    child.stdin.end(options.input ?? '');
  });
}

/** Run a command that must succeed; its failure becomes a CLUSTER_UNAVAILABLE error. */
export async function runChecked(
  transport: Transport,
  argv: readonly string[],
  what: string,
  options?: { input?: string; timeoutMs?: number },
): Promise<string> {
  const result = await transport.run(argv, options);
  if (result.code === 0) return result.stdout;
  const detail = result.stderr.trim().split('\n').slice(-3).join(' ') || `exit code ${result.code}`;
  if (transport.where !== 'this machine' && result.code === SSH_FAILED) {
    throw new WhetstoneError(
      'CLUSTER_UNAVAILABLE',
      `Could not reach ${transport.where} over ssh: ${detail}`,
      "Check the profile's host, user, port and key (ssh must log in without a password prompt).",
    );
  }
  throw new WhetstoneError(
    'CLUSTER_UNAVAILABLE',
    `${what} failed on ${transport.where}: ${detail}`,
  );
}
