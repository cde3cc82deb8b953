// One name per concept across the layers: a JobSpec field (engine/protocol.ts) is the CLI flag of
// the same name in kebab-case (engine/cli/commands.ts), the field of main's channels that run the
// job (main/contract.ts) and the studio setting of the same name.
// A test may read the engine's tables to compare; the studio itself never imports them.
/* eslint-disable no-restricted-imports */
import { describe, expect, it } from 'vitest';
import { commands } from '../../../engine/cli/commands.js';
import { jobSpecSchema, peftKinds, trainFields } from '../../../engine/protocol.js';
import { contract } from '../../../main/contract.js';
import { defaultAdapterSettings, startFields } from './adapters.js';
import { defaultSettings } from './methods-store.js';

const kebab = (field: string) => field.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** Protocol fields the CLI leaves out on purpose, by job. */
const withoutFlag: Record<string, string[]> = {
  // These jobs read files only and never start a tensor backend (estimate takes one to judge
  // the fit against).
  info: ['backend'],
  inspect: ['backend', 'pack', 'dedup'],
  fixture: ['backend'],
  // Packing and dedup shape training batches; eval scores every row as it is.
  eval: ['pack', 'dedup'],
};

const jobs = jobSpecSchema.options.map((schema) => ({
  kind: schema.shape.kind.value,
  fields: Object.keys(schema.shape).filter((f) => f !== 'kind'),
}));

describe('the CLI and the protocol', () => {
  it.each(jobs)('$kind: each field is exactly one flag, its name in kebab-case', (job) => {
    const def = commands[job.kind];
    const flagsOf = (field: string) =>
      Object.entries(def.options)
        .filter(([, [f]]) => f === field)
        .map(([flag]) => flag);
    const expected = job.fields
      .filter((f) => !(withoutFlag[job.kind] ?? []).includes(f))
      .map((f) => [f, [kebab(f)]]);
    const found = job.fields.map((f) => [f, flagsOf(f)] as const);
    expect(found.filter(([, flags]) => flags.length > 0)).toEqual(expected);
  });

  it.each(jobs)('$kind: every flag sets a field of the job, aliases name a flag', (job) => {
    const def = commands[job.kind];
    for (const [flag, [field]] of Object.entries(def.options))
      expect(job.fields, `--${flag}`).toContain(field);
    for (const [alias, flag] of Object.entries(def.aliases ?? {})) {
      expect(def.options, `--${alias}`).toHaveProperty([flag]);
      expect(def.options, `--${alias}`).not.toHaveProperty([alias]);
    }
  });
});

describe("main's channels and the protocol", () => {
  // Channels that run one engine job take that job's fields, by the job's names.
  const channelJobs = {
    'runs:start': 'train',
    'models:info': 'info',
    'models:estimate': 'estimate',
    'data:inspect': 'inspect',
  } as const;
  it.each(Object.entries(channelJobs))('%s takes %s fields', (channel, kind) => {
    const fields = jobs.find((j) => j.kind === kind)!.fields;
    for (const key of Object.keys(contract[channel as keyof typeof channelJobs].input.shape))
      expect(fields, `${channel} ${key}`).toContain(key);
  });
});

describe('the studio and the protocol', () => {
  // What the studio holds and sends: the method's settings and every adapter kind's fields.
  const adapter = {
    ...defaultAdapterSettings(),
    adaloraTinit: 1,
    adaloraTfinal: 1,
    virtualTokens: 4,
    loraTargets: 'q_proj',
    promptInitText: 'x',
  };
  const studioKeys = new Set([
    ...Object.keys(defaultSettings('lomo')),
    ...Object.keys(defaultAdapterSettings()),
    ...peftKinds.flatMap((kind) => Object.keys(startFields(kind, adapter))),
  ]);

  it('every setting is a training field of the same name, and the train flag of that name', () => {
    for (const key of studioKeys) {
      expect(Object.keys(trainFields), key).toContain(key);
      expect(commands.train.options[kebab(key)]?.[0], key).toBe(key);
    }
  });

  it('the settings that shape a step are the ones estimate takes', () => {
    for (const key of ['method', 'batch', 'seq', 'recompute', 'peft', 'pagedOptim'])
      expect(commands.estimate.options[kebab(key)]?.[0], key).toBe(key);
  });
});
