// How a job's end reads in the run: Slurm's own reasons become an error event; a finish, our own
// cancel or an engine error already say it.
import { describe, expect, it } from 'vitest';
import { jobEndedEvent } from './follow-cluster.js';

const done = { type: 'done', summary: { cancelled: true } };

describe('jobEndedEvent', () => {
  it('says why Slurm ended a job, with its state and reason', () => {
    const timeout = jobEndedEvent(
      '7',
      { state: 'TIMEOUT', reason: 'TimeLimit', ended: true },
      done,
    );
    expect(timeout).toMatchObject({
      type: 'error',
      code: 'CLUSTER_JOB_ENDED',
      message: 'Slurm stopped the job at its time limit (job 7, TIMEOUT, TimeLimit).',
      slurmState: 'TIMEOUT',
      slurmReason: 'TimeLimit',
    });
    const oom = jobEndedEvent('8_1', { state: 'OUT_OF_MEMORY', ended: true }, undefined);
    expect(oom?.message).toMatch(/ran out of the memory it asked for \(job 8_1, OUT_OF_MEMORY\)/);
    expect(jobEndedEvent('9', { state: 'NODE_FAIL', ended: true }, done)?.message).toMatch(/node/);
  });

  it('adds nothing when the run’s own events tell its end', () => {
    expect(
      jobEndedEvent('1', { state: 'COMPLETED', ended: true }, { type: 'done', summary: {} }),
    ).toBeUndefined();
    expect(jobEndedEvent('1', { state: 'CANCELLED', ended: true }, done)).toBeUndefined();
    expect(
      jobEndedEvent('1', { state: 'FAILED', ended: true }, { type: 'error', code: 'ENGINE_OOM' }),
    ).toBeUndefined();
  });
});
