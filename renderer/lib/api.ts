// The typed API for stores: a call either resolves with the channel's data or throws an ApiError
// carrying the contract's {code, message, hint}, which screens show as is.
import type { ErrorInfo } from '../../engine/errors.js';
import type {
  Channel,
  ChannelInput,
  ChannelOutput,
  IpcResult,
  RunListener,
  WhetstoneApi,
} from '../../main/contract.js';
import { whetstoneApi } from '../api-client.js';

export class ApiError extends Error {
  constructor(readonly info: ErrorInfo) {
    super(info.message);
  }
}

let current: WhetstoneApi | undefined;

/** The API in use; tests put their own in with `setApi`. */
export function getApi(): WhetstoneApi {
  current ??= whetstoneApi();
  return current;
}

export function setApi(api: WhetstoneApi): void {
  current = api;
}

export async function call<C extends Channel>(
  channel: C,
  input: ChannelInput<C>,
): Promise<ChannelOutput<C>> {
  // Indexing the API by a generic channel loses the pairing of input and output types.
  const fn = getApi()[channel] as (i: ChannelInput<C>) => Promise<IpcResult<ChannelOutput<C>>>;
  const result = await fn(input);
  if (!result.ok) throw new ApiError(result.error);
  return result.data;
}

export function watchRun(runId: string, listener: RunListener): () => void {
  return getApi().watchRun(runId, listener);
}

/** Any thrown value as the error a screen shows. */
export function errorInfo(err: unknown): ErrorInfo {
  if (err instanceof ApiError) return err.info;
  return { code: 'INTERNAL', message: err instanceof Error ? err.message : String(err) };
}
