// The e2e tests' skip rule: skip with the reason and the install command on a developer's
// machine, fail where a browser is required (WHETSTONE_REQUIRE_BROWSER=1, or CI set).
import { describe, expect, it } from 'vitest';
import { browserSkipNote } from './browser.js';

const path = '/usr/bin/chromium';

describe('browserSkipNote', () => {
  it('runs the tests when the browser is there, required or not', () => {
    expect(browserSkipNote(path, true, {})).toBeUndefined();
    expect(browserSkipNote(path, true, { CI: 'true', WHETSTONE_REQUIRE_BROWSER: '1' })).toBe(
      undefined,
    );
  });

  it('skips without it, naming the path and the install command', () => {
    const note = browserSkipNote(path, false, {});
    expect(note).toMatch(/^no Chromium at \/usr\/bin\/chromium/);
    expect(note).toContain('apt-get install chromium');
    for (const CI of ['', '0', 'false', 'FALSE'])
      expect(browserSkipNote(path, false, { CI })).toBe(note);
    expect(browserSkipNote(path, false, { WHETSTONE_REQUIRE_BROWSER: '0' })).toBe(note);
  });

  it('fails without it where a browser is required', () => {
    expect(() => browserSkipNote(path, false, { WHETSTONE_REQUIRE_BROWSER: '1' })).toThrow(
      /required \(WHETSTONE_REQUIRE_BROWSER=1\).*apt-get install chromium/,
    );
    for (const CI of ['true', '1', 'yes']) {
      expect(() => browserSkipNote(path, false, { CI })).toThrow(/required \(CI is set\)/);
    }
  });
});
