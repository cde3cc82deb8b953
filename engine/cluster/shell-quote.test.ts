// Quoting is checked against the real shell: whatever the value, bash reads back the same word.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { quote, quoteCommand } from './shell-quote.js';

const nasty = [
  '',
  'plain',
  'with space',
  "it's",
  "''",
  '$(touch /tmp/whetstone-pwned)',
  '`id`',
  '"double" \\ back',
  'semi;colon && pipe | amp &',
  'new\nline\ttab',
  '*?[glob]~',
  '-leading-dash',
  '$HOME ${PATH} $1',
  'é✓ unicode',
  '!bang',
];

describe('shell quoting', () => {
  it('round-trips every value through bash unchanged, running nothing', () => {
    const script = `printf '%s\\0' ${quoteCommand(nasty)}`;
    const out = spawnSync('bash', ['-c', script], { encoding: 'utf8' });
    expect(out.status).toBe(0);
    expect(out.stdout.split('\0').slice(0, -1)).toEqual(nasty);
  });

  it('round-trips through sh too, and leaves plain words readable', () => {
    for (const value of nasty) {
      const out = spawnSync('sh', ['-c', `printf '%s' ${quote(value)}`], { encoding: 'utf8' });
      expect(out.stdout).toBe(value);
    }
    expect(quote('/shared/runs/a-1')).toBe('/shared/runs/a-1');
    expect(quote("it's")).toBe(`'it'\\''s'`);
    expect(quote('')).toBe(`''`);
  });

  it('refuses a NUL byte', () => {
    expect(() => quote('a\0b')).toThrow(/NUL/);
  });
});
