// Engine entry for a Node child process (child_process.fork) or an Electron utility process:
// receives {type: 'run', job} messages, runs each job, and posts engine events back in batches.
import { setLogSink } from '../log.js';
import { releaseBackend } from '../backend/select.js';
import { runJob } from '../jobs/run-job.js';
import type { EngineEvent } from '../protocol.js';
import { PauseGate } from '../train/pause-gate.js';
import { EventBatcher } from './event-batcher.js';
import { handleStrayErrors } from './stray-errors.js';

export type HostCommand =
  | { type: 'run'; job: unknown }
  | { type: 'cancel' }
  | { type: 'pause' }
  | { type: 'continue' }
  | { type: 'shutdown' };

interface Port {
  post(message: unknown): void;
  onMessage(handler: (message: unknown) => void): void;
}

/** A DOM MessagePort, as a hidden Electron engine window's preload hands it over. */
interface WindowPort {
  postMessage(m: unknown): void;
  onmessage: ((e: { data: unknown }) => void) | null;
}

/**
 * The transport of whichever host started us: a hidden window's MessagePort (WebGPU through
 * Chromium), Electron's parentPort, or Node's IPC channel.
 */
function parentPort(): Port {
  const windowPort = (globalThis as { whetstoneEnginePort?: WindowPort }).whetstoneEnginePort;
  if (windowPort) {
    return {
      post: (m) => windowPort.postMessage(m),
      onMessage: (h) => {
        windowPort.onmessage = (e) => h(e.data);
      },
    };
  }
  const electronPort = (
    process as {
      parentPort?: {
        postMessage(m: unknown): void;
        on(e: 'message', h: (e: { data: unknown }) => void): void;
      };
    }
  ).parentPort;
  if (electronPort) {
    return {
      post: (m) => electronPort.postMessage(m),
      onMessage: (h) => electronPort.on('message', (e) => h(e.data)),
    };
  }
  if (process.send) {
    // A host that went away (main crashed or restarted) must not take the job with it: the run
    // folder still records every event, and a new host reattaches from there.
    return {
      post: (m) => {
        if (process.connected) process.send!(m);
      },
      onMessage: (h) => process.on('message', h),
    };
  }
  throw new Error(
    'engine/host/child must be started with an IPC channel (fork or utilityProcess.fork).',
  );
}

const port = parentPort();
const batcher = new EventBatcher((events: EngineEvent[]) => port.post({ type: 'events', events }));
setLogSink((level, scope, message) => batcher.push({ type: 'log', level, scope, message }));

let queue = Promise.resolve();
let current: AbortController | undefined;
let gate = new PauseGate();
port.onMessage((message) => {
  const command = message as HostCommand;
  if (command.type === 'cancel') {
    // The running job stops at its next safe point (a training step boundary).
    current?.abort();
    return;
  }
  if (command.type === 'pause' || command.type === 'continue') {
    // Training holds at its next step boundary, keeping its memory, until asked to continue.
    if (command.type === 'pause') gate.pause();
    else gate.continue();
    return;
  }
  if (command.type === 'shutdown') {
    queue = queue.then(async () => {
      batcher.flush();
      await releaseBackend();
      process.exit(0);
    });
    return;
  }
  if (command.type === 'run') {
    // Jobs run one after another: the tfjs engine is process-global.
    queue = queue.then(async () => {
      current = new AbortController();
      gate = new PauseGate();
      await runJob(command.job, (event) => batcher.push(event), current.signal, gate);
      current = undefined;
      batcher.flush();
    });
  }
});
// SIGINT (a host without a channel to this process, or Ctrl-C in the terminal that started the
// host) stops the job at its next safe point, with a checkpoint, like the CLI does; when idle, or
// asked twice, it exits.
process.on('SIGINT', () => {
  if (current === undefined || current.signal.aborted) process.exit(130);
  current.abort();
});
// A stray error ends the running job with an error event; the host sees it before the exit
// (the delay lets the IPC channel deliver it).
handleStrayErrors(
  (info) => {
    batcher.push(
      current
        ? { type: 'error', ...info }
        : { type: 'log', level: 'error', scope: 'engine', message: info.message },
    );
    batcher.flush();
  },
  (code) => setTimeout(() => process.exit(code), 200),
);
port.post({ type: 'ready' });
