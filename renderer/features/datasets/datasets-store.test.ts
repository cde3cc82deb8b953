// The datasets slice against a fake API: a file dropped on a browser page travels as base64
// and is inspected with the model; an engine refusal is kept with its hint; choices re-inspect,
// the text encoding among them, whose form stays after a refusal.
import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { beforeEach, describe, expect, it } from 'vitest';
import type { WhetstoneApi } from '../../../main/contract.js';
import { setApi } from '../../lib/api.js';
import { DataChoicesForm } from './DataChoicesForm.js';
import { coverage } from './DatasetReport.js';
import { PREVIEW_ROW_LIMIT, useDatasets } from './datasets-store.js';

type Calls = { channel: string; input: Record<string, unknown> }[];

function fakeApi(
  calls: Calls,
  answers: Record<string, (input: Record<string, unknown>) => unknown>,
) {
  return new Proxy({} as WhetstoneApi, {
    get: (_t, channel: string) => (input: Record<string, unknown>) => {
      calls.push({ channel, input });
      const answer = answers[channel];
      if (!answer)
        return Promise.resolve({ ok: false, error: { code: 'INTERNAL', message: channel } });
      const data = answer(input);
      return Promise.resolve(
        data instanceof Error
          ? { ok: false, error: { code: 'DATASET_INVALID', message: data.message, hint: 'fix it' } }
          : { ok: true, data },
      );
    },
  });
}

const report = (format: string) => ({ format, preview: [], problems: { total: 0, groups: [] } });

describe('datasets store', () => {
  let calls: Calls;
  beforeEach(() => {
    calls = [];
    useDatasets.setState({ path: undefined, report: undefined, error: undefined, choices: {} });
    // The store asks the desktop preload for a path first; a browser page has none.
    (globalThis as { window?: unknown }).window = {};
  });

  it('uploads a dropped file’s bytes and inspects it with the model', async () => {
    setApi(
      fakeApi(calls, {
        'datasets:upload': () => ({ kind: 'dataset', path: '/data/uploads/x/a.jsonl' }),
        'data:inspect': () => report('alpaca'),
      }),
    );
    const file = new File(['{"instruction":"hi","output":"there"}\n'], 'a.jsonl');
    await useDatasets.getState().addFile(file, '/models/m');
    const upload = calls.find((c) => c.channel === 'datasets:upload')!;
    expect(upload.input.name).toBe('a.jsonl');
    expect(atob(upload.input.base64 as string)).toBe('{"instruction":"hi","output":"there"}\n');
    expect(calls.find((c) => c.channel === 'data:inspect')!.input).toMatchObject({
      data: '/data/uploads/x/a.jsonl',
      model: '/models/m',
      // The preview reads a bounded head of the file, however large it is.
      limit: PREVIEW_ROW_LIMIT,
    });
    expect(useDatasets.getState()).toMatchObject({
      path: '/data/uploads/x/a.jsonl',
      loading: false,
    });
    expect(useDatasets.getState().report?.format).toBe('alpaca');
  });

  it('keeps an engine refusal with its hint, and re-inspects with the user’s choices', async () => {
    setApi(
      fakeApi(calls, {
        'paths:add': (i) => ({ kind: 'dataset', path: i.path }),
        'data:inspect': (i) =>
          i.template === 'sst2' ? report('classification') : new Error('no rows'),
      }),
    );
    await useDatasets.getState().open('/d/reviews.csv');
    expect(useDatasets.getState().error).toEqual({
      code: 'DATASET_INVALID',
      message: 'no rows',
      hint: 'fix it',
    });
    await useDatasets.getState().setChoices({ template: 'sst2', columns: 'sentence=text' });
    expect(useDatasets.getState().error).toBeUndefined();
    expect(useDatasets.getState().report?.format).toBe('classification');
    expect(calls.at(-1)!.input).toMatchObject({ template: 'sst2', columns: 'sentence=text' });
  });

  it('reads a file that is not UTF-8 once its encoding is chosen, in the form shown after the refusal', async () => {
    setApi(
      fakeApi(calls, {
        'paths:add': (i) => ({ kind: 'dataset', path: i.path }),
        'data:inspect': (i) =>
          i.encoding === 'latin1' ? report('text') : new Error('line 3 is not valid UTF-8'),
      }),
    );
    await useDatasets.getState().open('/d/latin1.txt');
    const { error, report: none, choices } = useDatasets.getState();
    expect(error?.message).toMatch(/not valid UTF-8/);
    const form = renderToStaticMarkup(
      createElement(DataChoicesForm, { report: none, choices, onApply: () => undefined }),
    );
    expect(form).toMatch(/Encoding<select><option value="" selected="">UTF-8 \(default\)/);
    expect(form).toContain('<option value="latin1">Latin-1 / Windows-1252</option>');

    await useDatasets.getState().setChoices({ encoding: 'latin1' });
    expect(calls.at(-1)!.input).toMatchObject({ data: '/d/latin1.txt', encoding: 'latin1' });
    expect(useDatasets.getState().error).toBeUndefined();
    expect(useDatasets.getState().report?.format).toBe('text');
  });
});

describe('what the preview covers', () => {
  it('says the figures cover the first rows of a larger file, or all of a small one', () => {
    expect(coverage({ rows: 2000, partial: true })).toMatch(/first 2,000 rows.*has more/);
    expect(coverage({ rows: 37, partial: false })).toBe('All 37 rows of the file were read.');
  });
});
