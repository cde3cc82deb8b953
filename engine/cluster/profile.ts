// Cluster profiles: how to reach a Slurm cluster (its own commands here, or the same over the
// system ssh), what each job asks for, the shared folder runs are written to, and how the engine
// starts on a node. Kept in clusters.json in the config folder, which the CLI and the studio share.
// A profile holds no secrets: ssh authenticates with the user's key file, never a password.
import { mkdir, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { isAbsolute, join, posix } from 'node:path';
import { z } from 'zod';
import { WhetstoneError } from '../errors.js';
import { writeFileAtomic } from '../train/run-dir.js';

/** Names Slurm and ssh see unquoted in error messages: letters, digits and . _ - only. */
const word = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const noLineBreak = (v: string) => !/[\n\r\0]/.test(v);

export const clusterProfileSchema = z.object({
  name: z.string().regex(word, 'a name is letters, digits, . _ -'),
  /** Absent: sbatch, squeue and scancel run here (the studio is on a login node). */
  ssh: z
    .object({
      host: z.string().regex(word, 'a host name or address'),
      user: z.string().regex(word, 'a user name').optional(),
      /** Private key file (its passphrase, if any, is ssh-agent's business, not ours). */
      key: z.string().refine(isAbsolute, 'an absolute path').optional(),
      port: z.number().int().min(1).max(65535).optional(),
      /** known_hosts file to check the host against (default: ssh's own). */
      knownHosts: z.string().refine(isAbsolute, 'an absolute path').optional(),
    })
    .strict()
    .optional(),
  partition: z.string().regex(word, 'a partition name').optional(),
  account: z.string().regex(word, 'an account name').optional(),
  /** Slurm's time format: minutes, HH:MM:SS or D-HH:MM:SS. */
  time: z
    .string()
    .regex(/^(\d+-)?\d+(:\d{1,2}){0,2}$/, 'minutes, HH:MM:SS or D-HH:MM:SS')
    .default('01:00:00'),
  cpus: z.number().int().min(1).default(1),
  gpus: z.number().int().min(0).default(0),
  /** The most host memory a job may ask for (MiB); the run's estimate sets what it asks. */
  memoryMb: z.number().int().min(1).optional(),
  /** Runs are written under this folder, which the nodes and the login node both see. */
  sharedDir: z.string().refine((v) => posix.isAbsolute(v) && noLineBreak(v), 'an absolute path'),
  /** How the engine starts on a node: the whetstone command (a path, or on PATH)... */
  engine: z.string().min(1).refine(noLineBreak, 'one line').default('whetstone'),
  /** ...inside this container image (apptainer exec --nv IMAGE whetstone ...)... */
  container: z.string().refine(noLineBreak, 'one line').optional(),
  /** ...after this line (e.g. `module load nodejs/20`): the profile owner's own shell line. */
  setup: z.string().refine(noLineBreak, 'one line').optional(),
  /** Seconds before the time limit Slurm warns the job (it checkpoints and requeues); 0: no warning. */
  signalSeconds: z.number().int().min(0).default(120),
});

export type ClusterProfile = z.output<typeof clusterProfileSchema>;
export type ClusterProfileInput = z.input<typeof clusterProfileSchema>;

/** The folder clusters.json lives in: WHETSTONE_CONFIG_DIR, else ~/.config/whetstone. */
export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  return (
    env.WHETSTONE_CONFIG_DIR ?? join(env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'whetstone')
  );
}

export function parseProfile(input: unknown): ClusterProfile {
  const result = clusterProfileSchema.safeParse(input);
  if (result.success) return { ...result.data, sharedDir: posix.normalize(result.data.sharedDir) };
  const issue = result.error.issues[0]!;
  throw new WhetstoneError(
    'BAD_ARGUMENT',
    `Cluster profile: ${issue.path.join('.') || 'value'}: ${issue.message}.`,
    'See docs/cluster.md for every field of a profile.',
  );
}

export class ClusterProfiles {
  constructor(readonly dir: string = configDir()) {}

  get file(): string {
    return join(this.dir, 'clusters.json');
  }

  async list(): Promise<ClusterProfile[]> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch {
      return [];
    }
    try {
      const stored = JSON.parse(text) as { clusters?: unknown[] };
      return (stored.clusters ?? []).map(parseProfile);
    } catch (err) {
      throw new WhetstoneError(
        'CONFIG_INVALID',
        `${this.file} is damaged: ${(err as Error).message}`,
        'Fix or remove the file, then add the profiles again.',
      );
    }
  }

  async get(name: string): Promise<ClusterProfile> {
    const found = (await this.list()).find((p) => p.name === name);
    if (!found) {
      const names = (await this.list()).map((p) => p.name);
      throw new WhetstoneError(
        'BAD_ARGUMENT',
        `There is no cluster profile "${name}".`,
        names.length > 0
          ? `Profiles: ${names.join(', ')}.`
          : 'Add one with: whetstone cluster add --name NAME --shared-dir DIR ...',
      );
    }
    return found;
  }

  /** Add a profile, or replace the one with its name. */
  async save(input: unknown): Promise<ClusterProfile> {
    const profile = parseProfile(input);
    const others = (await this.list()).filter((p) => p.name !== profile.name);
    await this.write([...others, profile]);
    return profile;
  }

  async remove(name: string): Promise<void> {
    await this.get(name);
    await this.write((await this.list()).filter((p) => p.name !== name));
  }

  private async write(profiles: ClusterProfile[]): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await writeFileAtomic(this.file, `${JSON.stringify({ clusters: profiles }, null, 2)}\n`);
  }
}

/**
 * A run folder for `name` inside the profile's shared folder. `name` may be a plain name or an
 * absolute path; a path outside the shared folder is refused (a job could otherwise be pointed
 * at any folder the cluster account can write).
 */
export function runDirIn(profile: ClusterProfile, name: string): string {
  const dir = posix.normalize(posix.isAbsolute(name) ? name : posix.join(profile.sharedDir, name));
  const root = profile.sharedDir.replace(/\/+$/, '');
  if (!dir.startsWith(`${root}/`) || !noLineBreak(dir)) {
    throw new WhetstoneError(
      'PATH_NOT_ALLOWED',
      `${name} is outside the shared folder ${profile.sharedDir} of cluster "${profile.name}".`,
      'Give a run name, or a folder inside the shared folder.',
    );
  }
  return dir;
}
