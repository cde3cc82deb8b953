// A run's status from its events: the run manager in main, a cold read of a run folder and the
// studio's live view all fold the same events the same way.

export const runStatuses = [
  'starting',
  'running',
  'paused',
  'finished',
  'cancelled',
  'failed',
] as const;
export type RunStatus = (typeof runStatuses)[number];

/** An event as the status reads it: its type, and a done event's summary. */
export interface StatusEvent {
  type: string;
  summary?: unknown;
  [field: string]: unknown;
}

/** The status one event moves a run to, or undefined for events that do not move it. */
export function statusOf(e: StatusEvent): RunStatus | undefined {
  switch (e.type) {
    case 'start':
    case 'resume':
    case 'step':
    case 'continue':
      return 'running';
    case 'pause':
      return 'paused';
    case 'done':
      return (e.summary as { cancelled?: unknown } | undefined)?.cancelled === true
        ? 'cancelled'
        : 'finished';
    case 'error':
      return 'failed';
  }
  return undefined;
}

/** The status a batch of events implies after `status` (a final event ends the run). */
export function statusAfter(status: RunStatus, events: readonly StatusEvent[]): RunStatus {
  return events.reduce<RunStatus>((s, e) => statusOf(e) ?? s, status);
}

/** The status a run's whole history implies; `live` (an engine works on it) decides between
 * running and interrupted. */
export function runStatus(events: readonly StatusEvent[], live: boolean): RunStatus {
  const status = statusAfter('starting', events);
  if (status === 'starting' || status === 'running' || status === 'paused') {
    if (!live) return 'failed';
    // An engine working on a run that had ended before is a resume that has not reported yet.
    return status;
  }
  return live ? 'starting' : status;
}
