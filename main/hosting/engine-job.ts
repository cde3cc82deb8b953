// One job in one fresh engine process: a crash, an out-of-memory or a kill ends only this job,
// and always ends it with exactly one final event (the engine's own, or one made from the exit).
import type { ErrorInfo } from '../../engine/errors.js';
import type { DoneEvent, EngineEvent, JobKind } from '../../engine/protocol.js';
import {
  engineEnv,
  type EngineExit,
  type EngineLauncher,
  type EngineProcess,
} from './engine-process.js';
import { exitError } from './exit-error.js';

export type FinalEvent = Extract<EngineEvent, { type: 'done' | 'error' }>;
export type ErrorEvent = Extract<EngineEvent, { type: 'error' }>;

/** How long a finished engine may take to exit before it is killed. */
const SHUTDOWN_GRACE_MS = 10_000;

export interface JobCallbacks {
  /** Each batch the engine posts (it batches at 10–30 per second). */
  onEvents?: (events: EngineEvent[]) => void;
  /** Called when the process ends before the job: the error to record (may add run context). */
  describeExit?: (exit: EngineExit) => ErrorInfo | Promise<ErrorInfo>;
}

export class EngineJob {
  private process: EngineProcess | undefined;
  private exited = false;

  constructor(private readonly launch: EngineLauncher) {}

  get pid(): number | undefined {
    return this.process?.pid;
  }

  /** Start `job` (a JobSpec, validated by the engine) and resolve with its final event. */
  run(job: unknown, callbacks: JobCallbacks = {}): Promise<FinalEvent> {
    const child = this.launch(engineEnv(), job);
    this.process = child;
    return new Promise((resolve) => {
      let final: FinalEvent | undefined;
      child.onMessage((message) => {
        if (message.type === 'ready') child.send({ type: 'run', job });
        if (message.type !== 'events') return;
        callbacks.onEvents?.(message.events);
        if (final) return; // late lines (logs) after the final event change nothing
        final = message.events.find(
          (e): e is FinalEvent => e.type === 'done' || e.type === 'error',
        );
        if (final) {
          child.send({ type: 'shutdown' });
          setTimeout(() => {
            if (!this.exited) child.kill();
          }, SHUTDOWN_GRACE_MS).unref();
          resolve(final);
        }
      });
      child.onExit((exit) => {
        this.exited = true;
        if (final) return;
        const described = Promise.resolve()
          .then(() => callbacks.describeExit?.(exit) ?? exitError(exit))
          .catch(() => exitError(exit));
        void described.then((error) => {
          final = { type: 'error', ...error };
          callbacks.onEvents?.([final]);
          resolve(final);
        });
      });
    });
  }

  /** Ask the job to stop at its next safe point (training: a step boundary, with a checkpoint). */
  cancel(): void {
    this.process?.send({ type: 'cancel' });
  }

  /** Hold the job at its next safe point (training: a step boundary), its memory kept. */
  pause(): void {
    this.process?.send({ type: 'pause' });
  }

  /** Let a paused job go on. */
  continue(): void {
    this.process?.send({ type: 'continue' });
  }

  /** End the engine process at once. */
  kill(): void {
    if (!this.exited) this.process?.kill();
  }
}

/** The engine's answer to a `kind` job: its done event names the kind it ran. */
const isDoneOf = <K extends JobKind>(e: FinalEvent, kind: K): e is FinalEvent & DoneEvent<K> =>
  e.type === 'done' && e.job === kind;

/** Run one job to its end in a fresh engine process: its `done` event (typed by kind) or error. */
export async function runEngineJob<K extends JobKind>(
  launch: EngineLauncher,
  job: { kind: K },
  onEvents?: (events: EngineEvent[]) => void,
): Promise<DoneEvent<K> | ErrorEvent> {
  const final = await new EngineJob(launch).run(job, onEvents ? { onEvents } : {});
  if (final.type === 'error' || isDoneOf(final, job.kind)) return final;
  return {
    type: 'error',
    code: 'INTERNAL',
    message: `The engine answered a ${job.kind} job with the result of a ${final.job} job.`,
  };
}
