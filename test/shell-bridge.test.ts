// Web mode's bridge refuses what it must: connections without the launch token or with a wrong
// one, unreadable frames, unknown channels, inputs that fail their schema, and paths outside
// what the user picked. It also lists the Hugging Face cache, reports system information, and
// serves the renderer build, and nothing beside it.
import { backendNames } from '../engine/protocol.js';
import { mkdir, readdir, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLOSE_UNAUTHORIZED } from '../main/serve/bridge-protocol.js';
import { BridgeClient } from './bridge-client.js';
import { fixturePath } from './fixtures.js';
import { startShell, type Shell } from './shell-setup.js';

let shell: Shell;
beforeAll(async () => {
  shell = await startShell();
});
afterAll(() => shell.stop());

describe('web mode bridge', () => {
  it('refuses a connection without a token, or with a wrong one, saying why', async () => {
    const none = await BridgeClient.connect(shell.server.port, undefined);
    expect(await none.whenClosed()).toMatchObject({
      code: CLOSE_UNAUTHORIZED,
      reason: expect.stringMatching(/did not present a token/) as string,
    });
    expect(none.errors[0]).toMatchObject({ code: 'UNAUTHORIZED' });

    const wrong = await BridgeClient.connect(shell.server.port, `${shell.server.token}x`);
    expect(await wrong.whenClosed()).toMatchObject({ code: CLOSE_UNAUTHORIZED });
    expect(wrong.errors[0]?.message).toMatch(/token is wrong/);

    const empty = await BridgeClient.connect(shell.server.port, '');
    expect((await empty.whenClosed()).code).toBe(CLOSE_UNAUTHORIZED);

    // The right token is let in, and answers.
    const right = await BridgeClient.connect(shell.server.port, shell.server.token);
    expect(await right.invoke('runs:list', {})).toEqual({ ok: true, data: [] });
    expect(right.closed).toBeUndefined();
    right.close();
  });

  it('rejects unreadable frames, unknown channels and inputs that fail the schema', async () => {
    const client = await BridgeClient.connect(shell.server.port, shell.server.token);
    client.sendRaw('not json');
    client.sendRaw(JSON.stringify({ type: 'teleport', id: 999 }));
    expect(await client.request({ type: 'invoke', channel: 'runs:list' })).toMatchObject({
      ok: true,
    });
    expect(client.errors.map((e) => e.code)).toEqual(['BAD_ARGUMENT']);
    expect(await client.request({ type: 'teleport' })).toMatchObject({
      ok: false,
      error: { code: 'BAD_ARGUMENT' },
    });
    expect(await client.invoke('runs:delete', { runId: 'x' })).toMatchObject({
      ok: false,
      error: { code: 'UNKNOWN_CHANNEL' },
    });
    expect(await client.invoke('runs:get', { runId: 7 })).toMatchObject({
      ok: false,
      error: { code: 'BAD_ARGUMENT', message: expect.stringMatching(/runId/) as string },
    });
    expect(await client.invoke('runs:get', { runId: '../../etc' })).toMatchObject({
      ok: false,
      error: { code: 'BAD_ARGUMENT' },
    });
    expect(await client.invoke('runs:get', { runId: 'no-such-run' })).toMatchObject({
      ok: false,
      error: { code: 'RUN_NOT_FOUND' },
    });
    // The connection survives all of it.
    expect(client.closed).toBeUndefined();
    client.close();
  });

  it('refuses models and datasets outside what the user picked', async () => {
    const client = await BridgeClient.connect(shell.server.port, shell.server.token);
    const model = fixturePath('llama');
    const start = { model, data: shell.dataset, method: 'lomo', steps: 2, backend: 'wasm' };
    expect(await client.invoke('runs:start', start)).toMatchObject({
      ok: false,
      error: { code: 'PATH_NOT_ALLOWED' },
    });
    expect(await client.invoke('models:info', { model: model })).toMatchObject({
      ok: false,
      error: { code: 'PATH_NOT_ALLOWED' },
    });
    await client.call('paths:add', { kind: 'model', path: model });
    // Picked as a model, not as a dataset; and a symlink inside it cannot lead outside.
    expect(await client.invoke('runs:start', start)).toMatchObject({
      ok: false,
      error: { code: 'PATH_NOT_ALLOWED', message: expect.stringMatching(/texts\.jsonl/) as string },
    });
    const link = join(shell.work, 'link-to-other-model');
    await symlink(fixturePath('gpt2'), link);
    expect(await client.invoke('models:info', { model: link })).toMatchObject({
      ok: false,
      error: { code: 'PATH_NOT_ALLOWED' },
    });
    // A dataset must be a file, a model a folder with config.json.
    expect(await client.invoke('paths:add', { kind: 'model', path: shell.dataset })).toMatchObject({
      ok: false,
      error: { code: 'MODEL_NOT_FOUND' },
    });
    // Web mode has no file dialog; it says to type the path.
    expect(await client.invoke('paths:pick', { kind: 'model' })).toMatchObject({
      ok: false,
      error: { code: 'BAD_ARGUMENT', hint: expect.stringMatching(/Type or paste/) as string },
    });
    // What was picked is usable: the engine describes the model.
    const info = await client.call<{ arch?: string }>('models:info', { model: model });
    expect(info).toMatchObject({ type: 'done', job: 'info' });
    const recent = await client.call<{ path: string }[]>('models:recent', {});
    expect(recent.map((r) => r.path)).toContain(model);
    client.close();
  });

  it('lists the Hugging Face cache, and what it lists may be read', async () => {
    const snapshot = join(shell.work, 'hub', 'models--org--tiny', 'snapshots', 'rev1');
    await mkdir(snapshot, { recursive: true });
    for (const file of await readdir(fixturePath('llama')))
      await symlink(join(fixturePath('llama'), file), join(snapshot, file));
    const client = await BridgeClient.connect(shell.server.port, shell.server.token);
    expect(await client.invoke('models:info', { model: snapshot })).toMatchObject({
      ok: false,
      error: { code: 'PATH_NOT_ALLOWED' },
    });
    const listed = await client.call<{ name: string; path: string }[]>('models:hf-cache', {});
    expect(listed).toEqual([expect.objectContaining({ name: 'org/tiny', path: snapshot })]);
    expect(await client.invoke('models:info', { model: snapshot })).toMatchObject({ ok: true });
    client.close();
  });

  it('reports the backend, device and memory the UI needs before a run', async () => {
    const client = await BridgeClient.connect(shell.server.port, shell.server.token);
    const info = await client.call<{
      backend: string;
      device: string;
      deviceMemory: { source: string };
      hostMemory: { totalBytes: number; freeBytes: number };
    }>('system:info', {});
    expect(backendNames).toContain(info.backend);
    expect(info.device.length).toBeGreaterThan(0);
    expect(['webgpu', 'nvidia-smi', 'none']).toContain(info.deviceMemory.source);
    expect(info.hostMemory.totalBytes).toBeGreaterThan(info.hostMemory.freeBytes);
    expect(info.hostMemory.freeBytes).toBeGreaterThan(0);
    client.close();
  });

  it('serves the renderer build with its security headers, and nothing outside it', async () => {
    const base = `http://127.0.0.1:${shell.server.port}`;
    const page = await fetch(`${base}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toMatch(/default-src 'self'/);
    expect(await page.text()).toMatch(/<title>Whetstone/);
    for (const path of ['/../texts.jsonl', '/%2e%2e/texts.jsonl', '/..%2ftexts.jsonl']) {
      const res = await fetch(`${base}${path}`);
      expect(res.status, path).not.toBe(200);
    }
    expect((await fetch(`${base}/missing.js`)).status).toBe(404);
  });
});
