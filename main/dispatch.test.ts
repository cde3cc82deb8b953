// dispatch refuses unknown channels and inputs that fail their schema before any handler runs.
import { describe, expect, it, vi } from 'vitest';
import { WhetstoneError } from '../engine/errors.js';
import type { Handlers } from './contract.js';
import { dispatch } from './dispatch.js';

function handlers(): Handlers {
  const fail = () => Promise.reject(new Error('not in this test'));
  return {
    'system:info': fail,
    'runs:list': vi.fn(() => Promise.resolve([])),
    'runs:get': vi.fn(() => Promise.reject(new WhetstoneError('RUN_NOT_FOUND', 'no run x'))),
    'runs:start': fail,
    'runs:resume': fail,
    'runs:cancel': fail,
    'paths:pick': fail,
    'paths:add': fail,
    'models:recent': fail,
    'models:hf-cache': fail,
    'models:info': fail,
    'models:estimate': fail,
    'models:generate': fail,
    'data:inspect': fail,
    'runs:export': fail,
    'runs:export-progress': fail,
    'runs:pause': fail,
    'runs:open-folder': fail,
    'app:examples': fail,
    'datasets:upload': fail,
    'sweeps:start': fail,
    'sweeps:list': fail,
    'sweeps:get': fail,
    'sweeps:cancel': fail,
    'runs:submit': fail,
    'clusters:list': fail,
    'clusters:save': fail,
    'clusters:remove': fail,
  };
}

describe('dispatch', () => {
  it('answers a valid call with ok and the data', async () => {
    const h = handlers();
    expect(await dispatch(h, 'runs:list', {})).toEqual({ ok: true, data: [] });
    expect(h['runs:list']).toHaveBeenCalledOnce();
  });

  it('refuses an unknown channel, including names inherited from Object', async () => {
    for (const channel of ['runs:delete', 'constructor', '__proto__', 42]) {
      const result = await dispatch(handlers(), channel, {});
      expect(result).toMatchObject({ ok: false, error: { code: 'UNKNOWN_CHANNEL' } });
    }
  });

  it('refuses input that fails the schema, without calling the handler', async () => {
    const h = handlers();
    for (const input of [{ runId: 7 }, {}, { runId: '../etc' }, { runId: 'a', extra: 1 }]) {
      const result = await dispatch(h, 'runs:get', input);
      expect(result).toMatchObject({ ok: false, error: { code: 'BAD_ARGUMENT' } });
    }
    expect(h['runs:get']).not.toHaveBeenCalled();
    const start = await dispatch(h, 'runs:start', { model: 'm', data: 'd', method: 'sgd-ish' });
    expect(start).toMatchObject({ ok: false, error: { code: 'BAD_ARGUMENT' } });
    expect(!start.ok && start.error.message).toMatch(/method/);
  });

  it('returns a handler error as a value with its code', async () => {
    const result = await dispatch(handlers(), 'runs:get', { runId: 'x' });
    expect(result).toEqual({ ok: false, error: { code: 'RUN_NOT_FOUND', message: 'no run x' } });
  });
});
