// The tensorflow backend: libtensorflow through @tensorflow/tfjs-node-gpu (CUDA) or
// @tensorflow/tfjs-node (native CPU). Both are optional dependencies whose install downloads
// libtensorflow, so they are often absent, or present without their native addon.
import { execFile } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { registerTensorflowKernels } from './tensorflow-kernels.js';
import { tf } from './tf.js';
import { BackendUnavailable, type BackendLoader } from './types.js';

export const tensorflowPackages = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const;
export type TensorflowPackage = (typeof tensorflowPackages)[number];

const NOT_INSTALLED = 'not installed (optional dependency; needs libtensorflow)';

/** What the loader needs from the outside world; tests replace these. */
export interface TensorflowDeps {
  /** Load the package so it registers the 'tensorflow' backend; BackendUnavailable if absent. */
  importPackage(name: TensorflowPackage): Promise<void>;
  /** The CUDA device's name, where the driver tells. */
  gpuName(): Promise<string | undefined>;
}

/** The parts of tfjs-node's NodeJSKernelBackend read here. */
interface NodeBackend {
  isGPUPackage?: boolean;
  isUsingGpuDevice?: boolean;
}

/**
 * Import a tfjs-node package after checking that it and its native addon exist: a failed import
 * has already registered its kernels, and the next package's import then warns ~200 times.
 */
async function importInstalled(name: TensorflowPackage): Promise<void> {
  let packageDir: string;
  try {
    packageDir = dirname(createRequire(import.meta.url).resolve(`${name}/package.json`));
  } catch {
    throw new BackendUnavailable(NOT_INSTALLED);
  }
  const lib = join(packageDir, 'lib');
  const addons = existsSync(lib)
    ? readdirSync(lib).filter((d) => existsSync(join(lib, d, 'tfjs_binding.node')))
    : [];
  if (addons.length === 0) {
    throw new BackendUnavailable(
      NOT_INSTALLED,
      `${name} is present without its native addon: run \`npm rebuild ${name}\` with internet access.`,
    );
  }
  await import(/* @vite-ignore */ name);
}

const execFileAsync = promisify(execFile);

async function nvidiaGpuName(): Promise<string | undefined> {
  try {
    const { stdout } = await execFileAsync(
      'nvidia-smi',
      ['--query-gpu=name', '--format=csv,noheader'],
      { timeout: 2000 },
    );
    return stdout.split('\n')[0]!.trim() || undefined;
  } catch {
    return undefined;
  }
}

const defaultDeps: TensorflowDeps = { importPackage: importInstalled, gpuName: nvidiaGpuName };

function reasonOf(err: unknown): string {
  if (err instanceof BackendUnavailable) return err.reason;
  return (err instanceof Error ? err.message : String(err)).split('\n')[0]!;
}

/** A loader for the tensorflow backend: tfjs-node-gpu first, then tfjs-node. */
export function tensorflowLoader(deps: Partial<TensorflowDeps> = {}): BackendLoader {
  const { importPackage, gpuName } = { ...defaultDeps, ...deps };
  return async () => {
    // libtensorflow otherwise reserves nearly all GPU memory up front, hiding the real usage.
    process.env.TF_FORCE_GPU_ALLOW_GROWTH ??= 'true';
    const failures: { name: TensorflowPackage; reason: string; hint?: string }[] = [];
    for (const name of tensorflowPackages) {
      try {
        await importPackage(name);
        if (tf.findBackendFactory('tensorflow') === null) {
          throw new BackendUnavailable(
            `${name} registered no 'tensorflow' backend on this tfjs-core (version mismatch?)`,
          );
        }
        if (!(await tf.setBackend('tensorflow')))
          throw new BackendUnavailable(`${name} failed to initialise libtensorflow`);
      } catch (err) {
        failures.push({
          name,
          reason: reasonOf(err),
          hint: err instanceof BackendUnavailable ? err.hint : undefined,
        });
        continue;
      }
      registerTensorflowKernels();
      const backend = tf.backend() as NodeBackend;
      if (backend.isUsingGpuDevice === true) {
        return { device: `${(await gpuName()) ?? 'CUDA GPU'} (CUDA)`, gpu: true, software: false };
      }
      // tfjs-node-gpu silently runs on the CPU without CUDA 11.2 / cuDNN 8.1: say so.
      const gpuPackage = backend.isGPUPackage ?? name === '@tensorflow/tfjs-node-gpu';
      const device = gpuPackage
        ? 'CPU (tfjs-node-gpu found no CUDA device)'
        : 'CPU (libtensorflow)';
      return { device, gpu: false, software: false };
    }
    const reasons = new Set(failures.map((f) => f.reason));
    const reason =
      reasons.size === 1
        ? failures[0]!.reason
        : failures.map((f) => `${f.name}: ${f.reason}`).join('; ');
    throw new BackendUnavailable(reason, failures.find((f) => f.hint !== undefined)?.hint);
  };
}
