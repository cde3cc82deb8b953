// The profile form becomes exactly the profile the contract checks: empty fields left out.
import { describe, expect, it } from 'vitest';
import { toProfile } from './ClustersPanel.js';

const blank = {
  name: '',
  sharedDir: '',
  host: '',
  user: '',
  key: '',
  partition: '',
  account: '',
  time: '',
  cpus: '',
  gpus: '',
  engine: '',
};

describe('cluster profile form', () => {
  it('gives a local profile with only what was filled in', () => {
    const profile = toProfile({ ...blank, name: 'here', sharedDir: '/shared/runs', cpus: '1' });
    expect(profile).toEqual({ name: 'here', sharedDir: '/shared/runs', cpus: 1 });
  });

  it('gives an ssh profile from a host, user and key', () => {
    const profile = toProfile({
      ...blank,
      name: 'gpu',
      sharedDir: '/s',
      host: 'login1',
      user: 'ada',
      key: '/home/ada/.ssh/id',
      gpus: '2',
      partition: 'gpu',
    });
    expect(profile).toMatchObject({
      ssh: { host: 'login1', user: 'ada', key: '/home/ada/.ssh/id' },
      gpus: 2,
      partition: 'gpu',
    });
  });
});
