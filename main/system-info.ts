// System information for the UI: the backend the engine would use and its device (asked of a
// short-lived engine process, since main never loads tfjs), device memory, and host memory.
import { freemem, totalmem } from 'node:os';
import { WhetstoneError } from '../engine/errors.js';
import type { SystemInfo } from './contract.js';
import { runEngineJob } from './hosting/engine-job.js';
import type { EngineLauncher } from './hosting/engine-process.js';

type EngineReport = Omit<SystemInfo, 'appVersion' | 'platform' | 'hostMemory'>;

export class SystemInfoSource {
  /** Backend selection is stable for a session; device free memory is refreshed on request. */
  private report: Promise<EngineReport> | undefined;

  constructor(
    private readonly launch: EngineLauncher,
    private readonly appVersion: string,
  ) {}

  async get(refresh = false): Promise<SystemInfo> {
    if (refresh || this.report === undefined) this.report = this.ask();
    const report = await this.report.catch((err: unknown) => {
      this.report = undefined; // a failed probe is retried next time
      throw err;
    });
    return {
      appVersion: this.appVersion,
      platform: `${process.platform} ${process.arch}`,
      ...report,
      hostMemory: { totalBytes: totalmem(), freeBytes: freemem() },
    };
  }

  private async ask(): Promise<EngineReport> {
    const final = await runEngineJob(this.launch, { kind: 'backends' });
    if (final.type === 'error') throw new WhetstoneError(final.code, final.message, final.hint);
    const memory = final.deviceMemory;
    return {
      backend: final.backend,
      device: final.device,
      gpu: final.gpu,
      software: final.software,
      skipped: final.skipped,
      deviceMemory: {
        source: memory.source,
        ...(memory.totalBytes !== undefined && { totalBytes: memory.totalBytes }),
        ...(memory.freeBytes !== undefined && { freeBytes: memory.freeBytes }),
      },
    };
  }
}
