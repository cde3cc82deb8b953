// One entry point for every transport (Electron IPC, the WebSocket bridge): an unknown channel or
// an input that fails its schema is refused before any handler runs, and every outcome is a value.
import { toErrorInfo, WhetstoneError } from '../engine/errors.js';
import { createLogger } from '../engine/log.js';
import { contract, type Channel, type Handlers, type IpcResult } from './contract.js';

const log = createLogger('dispatch');

export function isChannel(name: unknown): name is Channel {
  return typeof name === 'string' && Object.hasOwn(contract, name);
}

/** Validate `raw` against the channel's schema and run its handler. Never throws. */
export async function dispatch(
  handlers: Handlers,
  channel: unknown,
  raw: unknown,
): Promise<IpcResult<unknown>> {
  try {
    if (!isChannel(channel)) {
      throw new WhetstoneError(
        'UNKNOWN_CHANNEL',
        `There is no channel named ${JSON.stringify(channel)}.`,
        'The app and its window may be from different versions: reload the window.',
      );
    }
    const parsed = contract[channel].input.safeParse(raw ?? {});
    if (!parsed.success) {
      const problems = parsed.error.issues.map(
        (i) => `${i.path.join('.') || 'input'}: ${i.message}`,
      );
      throw new WhetstoneError(
        'BAD_ARGUMENT',
        `Invalid input for ${channel}: ${problems.join('; ')}`,
      );
    }
    // The schema and the handler are paired by channel; TypeScript cannot follow the pairing
    // through a union, so the call goes through a widened signature.
    const handler = handlers[channel] as (input: unknown) => Promise<unknown>;
    return { ok: true, data: await handler(parsed.data) };
  } catch (err) {
    const error = toErrorInfo(err);
    if (error.code === 'INTERNAL') log.error(`${String(channel)}: ${error.message}`);
    return { ok: false, error };
  }
}
