// Type-level tests of the contract, compiled by `tsc -b` (main's tsconfig includes this file):
// each @ts-expect-error must meet an error, or the build fails. So a channel whose handler or
// preload entry is missing, or whose types drift, cannot compile.
import type {
  Channel,
  ChannelInput,
  ChannelOutput,
  Handlers,
  RunSummary,
  WhetstoneApi,
} from './contract.js';
import type { DoneEvent, JobResults } from '../engine/protocol.js';

/** A handler table without one channel's handler is not main's Handlers. */
export function missingHandler(partial: Omit<Handlers, 'runs:list'>): Handlers {
  // @ts-expect-error 'runs:list' has no handler
  return partial;
}

/** The preload's channel list must name every channel (preload.cts uses this same check). */
export const missingPreloadEntry = {
  'system:info': true,
  // @ts-expect-error 'runs:list' and the others are missing from the preload's list
} satisfies Record<Channel, true>;

/** ...and nothing the contract does not have. */
export function unknownPreloadEntry(all: Record<Channel, true>) {
  // @ts-expect-error 'runs:delete' is not a channel
  return { ...all, 'runs:delete': true } satisfies Record<Channel, true>;
}

/** A handler must return the channel's output type. */
// @ts-expect-error runs:list returns RunSummary[], not a number
export const wrongOutput: Handlers['runs:list'] = () => Promise.resolve(42);

/** Inputs are the schemas' types: runs:get needs a runId string. */
export function wrongInput(api: WhetstoneApi) {
  // @ts-expect-error runId is required
  void api['runs:get']({});
  // @ts-expect-error runId is a string
  void api['runs:get']({ runId: 7 });
  // @ts-expect-error not a channel of the API
  const missing: unknown = api['runs:delete'];
  return missing;
}

/** The renderer's API answers with IpcResult of the channel's output. */
export async function resultTypes(api: WhetstoneApi): Promise<RunSummary[] | undefined> {
  const result = await api['runs:list']({});
  // @ts-expect-error data exists only on ok results
  void result.data;
  return result.ok ? result.data : undefined;
}

/** runs:start takes the engine's training fields (method is one of the engine's methods). */
// @ts-expect-error not a training method
export const badMethod: ChannelInput<'runs:start'>['method'] = 'gradient-ascent';

export type SystemInfoOutput = ChannelOutput<'system:info'>;

/** The channels that run a job answer with that job's result (engine/job-results.ts), typed. */
export function jobOutputs(info: ChannelOutput<'models:info'>, done: DoneEvent<'info'>) {
  const layers: number = info.layers;
  // @ts-expect-error a model's info has no loss
  void info.loss;
  // @ts-expect-error the engine's done event of another job is not this channel's output
  const wrong: ChannelOutput<'models:estimate'> = done;
  return [layers, wrong] as const;
}

/** A job's result is the fields its kind declares: an estimate result is not an export's. */
export function crossed(exported: JobResults['export']): JobResults['estimate'] {
  // @ts-expect-error an ExportResult lacks the estimate's fields
  return exported;
}
