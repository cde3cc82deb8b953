// Collects engine events and delivers them in batches at a bounded rate, so a fast training loop
// never floods the host or the UI. `done` and `error` flush at once: nothing final waits.
import type { EngineEvent } from '../protocol.js';

export class EventBatcher {
  private pending: EngineEvent[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly deliver: (events: EngineEvent[]) => void,
    /** At most one delivery per interval (50 ms: 20 batches a second). */
    private readonly intervalMs = 50,
  ) {}

  push(event: EngineEvent): void {
    this.pending.push(event);
    if (event.type === 'done' || event.type === 'error') {
      this.flush();
      return;
    }
    this.timer ??= setTimeout(() => this.flush(), this.intervalMs);
  }

  flush(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0) return;
    const events = this.pending;
    this.pending = [];
    this.deliver(events);
  }
}
