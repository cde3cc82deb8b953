// Whether a recorded engine pid is still an engine: signal 0 tests existence; on Linux the
// command line is checked too, so a pid reused by another program is not mistaken for one.
import { readFile } from 'node:fs/promises';

export async function engineAlive(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch {
    // ESRCH: gone. EPERM: it exists but belongs to another user, so it is not our engine.
    return false;
  }
  if (process.platform !== 'linux') return true;
  const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => undefined);
  // Unreadable: existence is all we know.
  if (cmdline === undefined) return true;
  return /host[\\/]child\.js|--type=utility/.test(cmdline);
}
