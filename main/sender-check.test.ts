// IPC is accepted only from the app's own windows showing the app's own page.
import { describe, expect, it } from 'vitest';
import { pathToFileURL } from 'node:url';
import { isAppUrl, senderRefusal } from './sender-check.js';

const page = '/opt/whetstone/dist/renderer/index.html';
const pageUrl = pathToFileURL(page).href;

describe('sender check', () => {
  it("accepts the app's window on the app's page (hash and query ignored)", () => {
    expect(senderRefusal(3, pageUrl, [1, 3], page)).toBeUndefined();
    expect(senderRefusal(3, `${pageUrl}#/runs`, [3], page)).toBeUndefined();
  });

  it('refuses other windows, other pages, other schemes and missing frames', () => {
    expect(senderRefusal(4, pageUrl, [1, 3], page)?.code).toBe('UNAUTHORIZED');
    expect(senderRefusal(3, 'https://example.com/', [3], page)?.code).toBe('UNAUTHORIZED');
    expect(senderRefusal(3, pathToFileURL('/tmp/index.html').href, [3], page)?.code).toBe(
      'UNAUTHORIZED',
    );
    expect(senderRefusal(3, undefined, [3], page)?.code).toBe('UNAUTHORIZED');
    expect(isAppUrl('not a url', page)).toBe(false);
  });
});
