// Starting the backend for a job that knows its memory needs. Chosen automatically: the best
// backend whose ceilings hold the estimate. Forced (--backend, WHETSTONE_BACKEND): that one, or
// DEVICE_LIMIT before any weight is loaded, saying the estimate, the limit and what would fit.
// Either way the started backend's ceilings are then enforced allocation by allocation.
import { WhetstoneError } from '../errors.js';
import { createLogger } from '../log.js';
import {
  fitCheckEnabled,
  fitProblems,
  formatBytes,
  limitsOf,
  refusalMessage,
  staticLimitsOf,
  type BackendLimits,
  type FitNeeds,
  type HostMemory,
} from './fit.js';
import { assertBackendUsable } from './heap-fault.js';
import { readHostMemory } from './host-memory.js';
import { memory, nvidiaMemory, sampleDeviceMemory } from './memory.js';
import { probeWebGpu } from './webgpu.js';
import {
  backendFromEnv,
  backendNames,
  initBackend,
  type BackendReport,
  type InitOptions,
  type LoadedBackend,
} from './select.js';

const log = createLogger('fit');

/** A job's memory needs and, for the refusal, the settings of it that would fit instead. */
export interface FitRequest {
  needs: FitNeeds;
  /** Variants of the job (another method, an adapter, a shorter sequence) that `fits` accepts. */
  alternatives?: (fits: (needs: FitNeeds) => boolean) => Promise<string[]>;
}

/** Start a backend for a job: one that fits `request` when given, then guard its ceilings. */
export async function startBackendFor(
  opts: InitOptions,
  request?: FitRequest,
): Promise<BackendReport> {
  assertBackendUsable();
  const host = readHostMemory();
  const check = request !== undefined && fitCheckEnabled();
  const limitsByName = new Map<string, BackendLimits>();
  const limitsFor = async (name: string, loaded: LoadedBackend) => {
    // A GPU's free memory only where the driver tells (nvidia-smi, for tfjs-node-gpu or an
    // NVIDIA WebGPU adapter).
    const device: { freeBytes?: number } =
      loaded.gpu && !loaded.software && (name === 'tensorflow' || name === 'webgpu')
        ? await sampleDeviceMemory(name)
        : {};
    const limits = limitsOf(name, loaded, host, { deviceFreeBytes: device.freeBytes });
    limitsByName.set(name, limits);
    return limits;
  };
  const auto = (opts.backend ?? backendFromEnv()) === undefined;
  let report: BackendReport;
  try {
    report = await initBackend({
      ...opts,
      ...(check &&
        auto && {
          accept: async (name, loaded) => {
            const problems = fitProblems(request.needs, await limitsFor(name, loaded));
            return problems.length > 0 ? `does not fit: ${problems.join('; ')}` : undefined;
          },
        }),
    });
  } catch (err) {
    // Every backend started but none could hold the job: that is a memory refusal.
    const first = [...limitsByName.values()][0];
    if (check && first && err instanceof WhetstoneError && err.code === 'BACKEND_UNAVAILABLE')
      throw await refusal(request, first, host, [...limitsByName.values()]);
    throw err;
  }
  const limits = limitsByName.get(report.backend) ?? (await limitsFor(report.backend, report));
  if (check) {
    if (!auto && fitProblems(request.needs, limits).length > 0)
      throw await refusal(request, limits, host, [limits]);
    const passed = report.skipped.filter((s) => s.reason.startsWith('does not fit'));
    if (passed.length > 0) {
      const names = passed.map((s) => s.backend).join(', ');
      log.info(
        `${request.needs.what} (${formatBytes(request.needs.peakBytes)} at peak) does not fit ${names}: using ${report.backend}, which holds it.`,
      );
    }
  }
  memory.setLimits({
    ...(limits.live && { live: limits.live }),
    ...(limits.tensor && { tensor: limits.tensor }),
  });
  return report;
}

/**
 * A backend's ceilings without starting it, for the estimate's fit badge: host backends' from
 * the host, WebGPU's from its adapter (binding limit) and, on NVIDIA, the driver's free memory.
 * Undefined where they are unknown (tensorflow, or no adapter).
 */
export async function limitsBeforeStart(
  backend: string,
  host: HostMemory,
): Promise<BackendLimits | undefined> {
  const known = staticLimitsOf(backend, host);
  if (known !== undefined || backend !== 'webgpu') return known;
  const adapter = await probeWebGpu();
  if (adapter === undefined) return undefined;
  const driver =
    adapter.gpu && adapter.vendor.toLowerCase() === 'nvidia' ? await nvidiaMemory() : undefined;
  return limitsOf(backend, adapter, host, { deviceFreeBytes: driver?.freeBytes });
}

/** DEVICE_LIMIT for `limits`, listing the backends and job variants that would fit. */
async function refusal(
  request: FitRequest,
  limits: BackendLimits,
  host: HostMemory,
  tried: BackendLimits[],
): Promise<WhetstoneError> {
  const { message, hint } = await describeRefusal(request, limits, host, tried);
  return new WhetstoneError('DEVICE_LIMIT', message, hint);
}

/**
 * The refusal's text for `limits`: the estimate, the limit, and what would fit instead: host
 * backends not `tried` (their ceilings are known without starting them) and job variants that
 * fit one of the `tried` backends.
 */
export async function describeRefusal(
  request: FitRequest,
  limits: BackendLimits,
  host: HostMemory,
  tried: BackendLimits[],
): Promise<{ message: string; hint: string }> {
  const problems = fitProblems(request.needs, limits);
  const triedNames = new Set(tried.map((t) => t.backend));
  const fitsSomewhere = (needs: FitNeeds) => tried.some((t) => fitProblems(needs, t).length === 0);
  const otherBackends = (backendNames as readonly string[])
    .filter((name) => !triedNames.has(name))
    .map((name) => staticLimitsOf(name, host))
    .filter((l): l is BackendLimits => l !== undefined)
    .filter((l) => fitProblems(request.needs, l).length === 0)
    .map(
      (l) =>
        `--backend ${l.backend} (${l.live?.what ?? l.host.what}, ${formatBytes((l.live ?? l.host).bytes)})`,
    );
  const variants = (await request.alternatives?.(fitsSomewhere)) ?? [];
  return refusalMessage(request.needs, limits, problems, [...otherBackends, ...variants]);
}
