// Older flag spellings still parse, into the field of the current name, and never alongside it.
import { describe, expect, it } from 'vitest';
import { helpText, parseCommandLine } from './parse.js';

const base = ['--model', 'm', '--data', 'd.jsonl'];

describe('CLI aliases', () => {
  it('--checkpointing is --recompute', () => {
    const old = parseCommandLine(['train', ...base, '--method', 'fo-sgd', '--checkpointing']);
    const now = parseCommandLine(['train', ...base, '--method', 'fo-sgd', '--recompute']);
    expect(old.job).toEqual(now.job);
    expect(now.job).toMatchObject({ recompute: true });
    expect(old.job).not.toHaveProperty('checkpointing');
  });

  it("eval's --max-length and --batch-size are train's --seq and --batch", () => {
    const old = parseCommandLine(['eval', ...base, '--max-length', '32', '--batch-size', '2']);
    expect(old.job).toMatchObject({ seq: 32, batch: 2 });
    expect(old.job).toEqual(parseCommandLine(['eval', ...base, '--seq', '32', '--batch', '2']).job);
  });

  it('refuses an alias given with the flag it names', () => {
    expect(() => parseCommandLine(['eval', ...base, '--seq', '32', '--max-length', '16'])).toThrow(
      /--max-length is another name for --seq/,
    );
  });

  it('help names the old spelling beside the current one', () => {
    expect(helpText('estimate')).toMatch(/--recompute .*\(also --checkpointing\)/);
    expect(helpText('fixture')).toMatch(/--context-length NUMBER .*\(also --context\)/);
  });
});
