// The one host interface: whatever runs the engine (Electron utility process, Node child process)
// is an EngineProcess that speaks engine/host/child.ts's messages and reports how it ended.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HostCommand } from '../../engine/host/child.js';
import type { EngineEvent } from '../../engine/protocol.js';

/** What the engine process posts to its host. */
export type EngineMessage = { type: 'ready' } | { type: 'events'; events: EngineEvent[] };

/** How an engine process ended, in the host's own terms. */
export interface EngineExit {
  code: number | null;
  signal?: string;
  /** Electron's child-process-gone reason, or one inferred from signal and stderr. */
  reason: 'clean-exit' | 'abnormal-exit' | 'killed' | 'crashed' | 'oom' | 'launch-failed';
  /** The end of the process's stderr: a native crash or V8's out-of-memory note is there. */
  stderrTail: string;
}

export interface EngineProcess {
  readonly pid: number | undefined;
  send(command: HostCommand): void;
  onMessage(handler: (message: EngineMessage) => void): void;
  onExit(handler: (exit: EngineExit) => void): void;
  kill(): void;
}

/** Starts one engine process for `job` (a host may pick its kind by the job's backend). */
export type EngineLauncher = (env: NodeJS.ProcessEnv, job: unknown) => EngineProcess;

/** Whether `job` asks for the WebGPU backend, itself or through WHETSTONE_BACKEND. */
export function wantsWebGpu(job: unknown, env: NodeJS.ProcessEnv = process.env): boolean {
  const backend = (job as { backend?: unknown } | null)?.backend;
  return backend === 'webgpu' || (backend === undefined && env.WHETSTONE_BACKEND === 'webgpu');
}

/**
 * The compiled engine entry. From dist/ it sits beside main; when main runs from source (tests),
 * it is the build in dist/.
 */
export function engineEntry(): string {
  const sibling = fileURLToPath(new URL('../../engine/host/child.js', import.meta.url));
  if (existsSync(sibling)) return sibling;
  const root = fileURLToPath(new URL('../..', import.meta.url));
  return join(root, 'dist', 'engine', 'host', 'child.js');
}

/** Environment for an engine: tfjs-node-gpu has no allow-growth API, so it is set here. */
export function engineEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { ...process.env, TF_FORCE_GPU_ALLOW_GROWTH: 'true', ...extra };
}

/** Keeps the last `limit` characters of a stream (crash notes are at the end). */
export class TailBuffer {
  private text = '';
  constructor(private readonly limit = 4096) {}
  push(chunk: string): void {
    this.text = (this.text + chunk).slice(-this.limit);
  }
  toString(): string {
    return this.text;
  }
}
