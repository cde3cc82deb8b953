// The export slice against a fake API: while the export runs the bar follows main's progress,
// then the result replaces it; a refused destination is kept with its hint.
import { beforeEach, describe, expect, it } from 'vitest';
import type { ExportProgress, WhetstoneApi } from '../../../main/contract.js';
import { setApi } from '../../lib/api.js';
import { progressFraction, PROGRESS_POLL_MS, useExport } from './export-store.js';

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

function fakeApi(answers: Record<string, (input: Record<string, unknown>) => Promise<unknown>>) {
  const calls: { channel: string; input: Record<string, unknown> }[] = [];
  const api = new Proxy({} as WhetstoneApi, {
    get: (_t, channel: string) => async (input: Record<string, unknown>) => {
      calls.push({ channel, input });
      try {
        return { ok: true, data: await answers[channel]!(input) };
      } catch (err) {
        const { code, message, hint } = err as { code: string; message: string; hint: string };
        return { ok: false, error: { code, message, hint } };
      }
    },
  });
  return { api, calls };
}

describe('export store', () => {
  beforeEach(() => {
    useExport.setState({ runId: 'r1', destination: '', busy: false, result: undefined });
    useExport.setState({ format: 'merged' });
    useExport.setState({ error: undefined, progress: undefined });
  });

  it('shows main’s progress while busy, then the result', async () => {
    const stages: ExportProgress[] = [
      { phase: 'load', done: 3, total: 10 },
      { phase: 'write', done: 500, total: 1000 },
    ];
    let finish!: () => void;
    const { api, calls } = fakeApi({
      'runs:export': () =>
        new Promise((resolve) => {
          finish = () => resolve({ out: '/runs/r1/exports/merged-step-3', step: 3, files: ['a'] });
        }),
      'runs:export-progress': () => Promise.resolve(stages.shift() ?? null),
    });
    setApi(api);
    const done = useExport.getState().exportRun();
    const seen: (ExportProgress | undefined)[] = [];
    for (let i = 0; i < 4; i++) {
      await wait(PROGRESS_POLL_MS + 20);
      seen.push(useExport.getState().progress);
    }
    expect(useExport.getState().busy).toBe(true);
    expect(seen).toContainEqual({ phase: 'load', done: 3, total: 10 });
    expect(seen).toContainEqual({ phase: 'write', done: 500, total: 1000 });
    finish();
    await done;
    const s = useExport.getState();
    expect(s).toMatchObject({ busy: false, result: { step: 3 }, progress: undefined });
    // Without a destination the run's own folder is used (no `out`).
    expect(calls.find((c) => c.channel === 'runs:export')!.input).toEqual({ runId: 'r1' });
    // Polling stops with the export.
    const polls = calls.filter((c) => c.channel === 'runs:export-progress').length;
    await wait(PROGRESS_POLL_MS * 2);
    expect(calls.filter((c) => c.channel === 'runs:export-progress').length).toBe(polls);
  });

  it('keeps a refused destination’s message and hint', async () => {
    const refusal = { code: 'PATH_NOT_ALLOWED', message: 'not there', hint: 'leave it empty' };
    const { api, calls } = fakeApi({
      'runs:export': () => Promise.reject(Object.assign(new Error(refusal.message), refusal)),
      'runs:export-progress': () => Promise.resolve(null),
    });
    setApi(api);
    useExport.getState().setDestination('/etc/x');
    await useExport.getState().exportRun();
    expect(calls[0]!.input).toEqual({ runId: 'r1', out: '/etc/x' });
    expect(useExport.getState()).toMatchObject({ busy: false, error: refusal });
  });

  it('maps loading to the first tenth of the bar and writing to the rest', () => {
    expect(progressFraction(undefined)).toBeUndefined();
    expect(progressFraction({ phase: 'load', done: 0 })).toBeUndefined();
    expect(progressFraction({ phase: 'load', done: 5, total: 10 })).toBeCloseTo(0.05);
    expect(progressFraction({ phase: 'write', done: 0, total: 100 })).toBeCloseTo(0.1);
    expect(progressFraction({ phase: 'write', done: 100, total: 100 })).toBe(1);
  });
});

describe('export format', () => {
  it('sends adapter when chosen, and a new run starts from merged again', async () => {
    const calls: Record<string, unknown>[] = [];
    setApi(
      new Proxy({} as WhetstoneApi, {
        get: (_t, channel: string) => (input: Record<string, unknown>) => {
          if (channel === 'runs:export') calls.push(input);
          return Promise.resolve({
            ok: true,
            data: channel === 'runs:export' ? { step: 1 } : null,
          });
        },
      }),
    );
    useExport.setState({ runId: 'r1', destination: '', busy: false });
    useExport.getState().setFormat('adapter');
    await useExport.getState().exportRun();
    expect(calls.at(-1)).toEqual({ runId: 'r1', format: 'adapter' });
    useExport.getState().choose('r2');
    expect(useExport.getState().format).toBe('merged');
  });

  it('sends gguf with the chosen quantization', async () => {
    const calls: Record<string, unknown>[] = [];
    setApi(
      new Proxy({} as WhetstoneApi, {
        get: (_t, channel: string) => (input: Record<string, unknown>) => {
          if (channel === 'runs:export') calls.push(input);
          return Promise.resolve({
            ok: true,
            data: channel === 'runs:export' ? { step: 1 } : null,
          });
        },
      }),
    );
    useExport.setState({ runId: 'r1', destination: '', busy: false });
    useExport.getState().setFormat('gguf');
    useExport.getState().setQuant('q8_0');
    await useExport.getState().exportRun();
    expect(calls.at(-1)).toEqual({ runId: 'r1', format: 'gguf', quant: 'q8_0' });
  });
});
