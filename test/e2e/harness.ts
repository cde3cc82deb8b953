/// <reference lib="dom" />
// End-to-end harness: the renderer built as shipped, `whetstone serve` on a free port over a
// fresh data folder, and Debian's Chromium driven by playwright-core. Screenshots go to
// $SCREENSHOT_DIR when set, else to a temporary folder (printed).
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { build } from 'vite';
import { CHROMIUM } from './browser.js';

const root = join(import.meta.dirname, '..', '..');

export interface Studio {
  url: string;
  dataDir: string;
  work: string;
  page: Page;
  /** A screenshot of the whole page, or with `viewport` what the window shows (sticky parts too). */
  shot(name: string, options?: { viewport?: boolean }): Promise<string>;
  stop(): Promise<void>;
}

/** Build the renderer into dist/renderer (where `whetstone serve` serves it from). */
export async function buildRenderer(): Promise<void> {
  await build({
    configFile: join(root, 'vite.config.ts'),
    root: join(root, 'renderer'),
    logLevel: 'warn',
  });
}

async function serve(dataDir: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    [join(root, 'bin', 'whetstone.js'), 'serve', '--port', '0', '--data-dir', dataDir],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start:\n${output}`)), 30_000);
    const read = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /Open (http:\/\/\S+#token=\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout.on('data', read);
    child.stderr.on('data', read);
    child.on('exit', (code) => reject(new Error(`serve exited (${code}):\n${output}`)));
  });
  return { child, url };
}

export async function startStudio(): Promise<Studio> {
  const work = await mkdtemp(join(tmpdir(), 'whetstone-e2e-'));
  const dataDir = join(work, 'user-data');
  const shots = process.env.SCREENSHOT_DIR ?? join(work, 'screenshots');
  await mkdir(shots, { recursive: true });
  const { child, url } = await serve(dataDir);
  const browser: Browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox'],
  });
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(url);
  return {
    url,
    dataDir,
    work,
    page,
    shot: async (name, options = {}) => {
      const path = join(shots, `${name}.png`);
      await page.screenshot({ path, fullPage: options.viewport !== true });
      return path;
    },
    stop: async () => {
      await browser.close();
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
      if (!process.env.SCREENSHOT_DIR) process.stdout.write(`screenshots kept in ${shots}\n`);
      await rm(join(work, 'user-data'), { recursive: true, force: true });
    },
  };
}

/** Drop `file` on `selector` as a user would: dragenter, dragover and drop with a DataTransfer. */
export async function dropFile(
  page: Page,
  selector: string,
  file: { name: string; text: string; type: string },
): Promise<void> {
  await page.evaluate(
    ({ selector, file }) => {
      const target = document.querySelector(selector);
      if (!target) throw new Error(`${selector} is not on the page`);
      const transfer = new DataTransfer();
      transfer.items.add(new File([file.text], file.name, { type: file.type }));
      for (const type of ['dragenter', 'dragover', 'drop']) {
        target.dispatchEvent(
          new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: transfer }),
        );
      }
    },
    { selector, file },
  );
}
