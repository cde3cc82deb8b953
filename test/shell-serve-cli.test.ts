// `whetstone serve` as a person runs it: loopback by default with a fresh token printed in the
// address, a non-loopback host only with --allow-remote (and a warning), Ctrl-C stops it cleanly
// at any moment of its start-up.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BridgeClient, until } from './bridge-client.js';
import { runCli } from './cli.js';

const bin = join(import.meta.dirname, '..', 'bin', 'whetstone.js');
let dataDir: string;
beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'whetstone-serve-'));
});
afterAll(() => rm(dataDir, { recursive: true, force: true }));

function serve(args: string[]) {
  const child = spawn(process.execPath, [bin, 'serve', '--data-dir', dataDir, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (c: Buffer) => (out.stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out.stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  return { child, out, exited };
}

describe('whetstone serve', () => {
  it('refuses a non-loopback host without --allow-remote', async () => {
    const run = await runCli(['serve', '--host', '0.0.0.0', '--port', '0', '--data-dir', dataDir]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--allow-remote/);
  });

  it('prints an address with a fresh token that the bridge accepts, and stops on SIGINT', async () => {
    const tokens: string[] = [];
    for (let i = 0; i < 2; i++) {
      const server = serve(['--port', '0']);
      await until(() => /#token=\S+/.test(server.out.stdout), 30_000);
      const [, port, token] = /http:\/\/127\.0\.0\.1:(\d+)\/#token=(\S+)/.exec(server.out.stdout)!;
      tokens.push(token!);
      const client = await BridgeClient.connect(Number(port), token);
      expect(await client.invoke('runs:list', {})).toEqual({ ok: true, data: [] });
      client.close();
      server.child.kill('SIGINT');
      expect(await server.exited).toBe(0);
    }
    expect(tokens[0]).not.toBe(tokens[1]);
    expect(tokens[0]!.length).toBeGreaterThanOrEqual(32);
  });

  it('serves other machines only when asked, with a warning', async () => {
    const server = serve(['--host', '0.0.0.0', '--allow-remote', '--port', '0']);
    await until(() => /#token=/.test(server.out.stdout), 30_000);
    expect(server.out.stderr).toMatch(
      /Warning: serving on 0\.0\.0\.0, reachable from other machines/,
    );
    server.child.kill('SIGINT');
    expect(await server.exited).toBe(0);
  });

  // The handler is in place before the first line of output, so from then on a signal ends the
  // command through it (exit 0), never by the signal's default. Before Node reaches the command
  // nothing has started, and the default applies as for any program: that moment is not tested.
  const moments = [
    { at: 'its first output', after: /starting/, delayMs: 0 },
    { at: 'start-up, 10 ms after its first output', after: /starting/, delayMs: 10 },
    { at: 'start-up, 40 ms after its first output', after: /starting/, delayMs: 40 },
    { at: 'the address line', after: /#token=/, delayMs: 0 },
  ] as const;
  it.each(moments)('exits 0 on SIGINT or SIGTERM at $at, every time', async (moment) => {
    const interrupt = async (signal: NodeJS.Signals) => {
      const server = serve(['--port', '0']);
      let sent = false;
      server.child.stdout.on('data', () => {
        if (sent || !moment.after.test(server.out.stdout)) return;
        sent = true;
        const send = () => server.child.kill(signal);
        if (moment.delayMs === 0) send();
        else setTimeout(send, moment.delayMs);
      });
      const [code, killedBy] = (await once(server.child, 'exit')) as [number | null, string | null];
      return { signal, sent, code, killedBy, output: server.out.stdout + server.out.stderr };
    };
    // A handful of tries each, side by side: a race shows up as one of them dying by the signal.
    const runs = await Promise.all(
      (['SIGINT', 'SIGINT', 'SIGINT', 'SIGTERM'] as const).map(interrupt),
    );
    for (const run of runs) {
      expect(run, run.output).toMatchObject({ sent: true, code: 0, killedBy: null });
    }
  });
});
