// Pause and continue for a long job: the host flips the gate, the training loop waits on it at a
// step boundary with everything it holds (weights, optimizer state, data position) kept alive.
export class PauseGate {
  private paused = false;
  private release: (() => void)[] = [];

  get isPaused(): boolean {
    return this.paused;
  }

  pause(): void {
    this.paused = true;
  }

  continue(): void {
    this.paused = false;
    for (const r of this.release.splice(0)) r();
  }

  /** Resolves once the gate is open again, or at once when `signal` aborts (cancel wins). */
  wait(signal?: AbortSignal): Promise<void> {
    if (!this.paused || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        signal?.removeEventListener('abort', done);
        resolve();
      };
      this.release.push(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }
}
