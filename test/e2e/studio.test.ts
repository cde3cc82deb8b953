// The studio end to end in a real browser against web mode: open a model, drop a dataset on the
// drop zone, pick a method, train for real with live charts, cancel and resume, export merged
// weights (checked on disk), and generate from base and tuned side by side.
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fixturePath } from '../fixtures.js';
import { missingBrowser } from './browser.js';
import { buildRenderer, dropFile, startStudio, type Studio } from './harness.js';

// Without Chromium every test here skips with a note (the summary lists it); where a browser is
// required this throws, failing the file.
const skipNote = missingBrowser();
beforeEach((ctx) => {
  if (skipNote !== undefined) ctx.skip(skipNote);
});

const sample = join(import.meta.dirname, '..', '..', 'assets', 'datasets', 'instructions.jsonl');
const sentiment = join(import.meta.dirname, '..', '..', 'assets', 'datasets', 'sentiment.jsonl');

const attr = async (page: Page, testId: string, name: string) =>
  (await page.getByTestId(testId).getAttribute(name)) ?? '';
const points = async (page: Page, chart: string) =>
  Number(await attr(page, `chart-${chart}`, 'data-points'));

/** The Run screen's durations ("12s", "1m 05s", "1h 02m") in seconds. */
function seconds(text: string): number {
  const unit: Record<string, number> = { h: 3600, m: 60, s: 1 };
  let total = 0;
  for (const [, n, u] of text.matchAll(/(\d+)([hms])/g)) total += Number(n) * unit[u!]!;
  return total;
}

/** Wait until `check` holds (polled in Node, so it may use the page's locators). */
async function until(what: string, check: () => Promise<boolean>, timeoutMs = 60_000) {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('studio (web mode, Chromium)', () => {
  let studio: Studio;
  beforeAll(async () => {
    if (skipNote !== undefined) return;
    await buildRenderer();
    studio = await startStudio();
  }, 180_000);
  afterAll(async () => studio?.stop());

  it('trains a model on a dropped dataset, cancels, resumes and exports merged weights', async () => {
    const { page } = studio;
    const model = fixturePath('llama');

    // A folder that is not a model: refused with the reason and what to do.
    await page.getByLabel('Model folder').fill(studio.work);
    await page.getByRole('button', { name: 'Open', exact: true }).click();
    const refusal = page.getByRole('alert');
    await refusal.waitFor();
    expect(await refusal.textContent()).toMatch(/not a model folder.*Pick the folder that holds/);
    await studio.shot('0-refused');

    // Model: a typed folder path (web mode has no dialog).
    await page.getByLabel('Model folder').fill(model);
    await page.getByRole('button', { name: 'Open', exact: true }).click();
    const details = page.getByRole('region', { name: 'Model details' });
    await details.waitFor();
    expect(await page.getByTestId('model-parameters').textContent()).toMatch(/\d/);
    expect(await details.textContent()).toContain('llama');
    await studio.shot('1-model');

    // Data: a real drag and drop of the sample file onto the drop zone.
    await page.getByRole('button', { name: /^Data/ }).click();
    await dropFile(page, '[data-testid="drop-zone"]', {
      name: 'instructions.jsonl',
      text: await readFile(sample, 'utf8'),
      type: 'application/jsonl',
    });
    await page.getByTestId('detected-format').waitFor();
    expect(await page.getByTestId('detected-format').textContent()).toMatch(/alpaca.*confidence/);
    expect(await page.locator('[data-testid="preview-row"] mark.train').count()).toBeGreaterThan(0);
    await page.getByTestId('token-stats').waitFor();
    // A small file is read whole; the note says so (a large one: its first rows only).
    expect(await page.getByTestId('coverage').textContent()).toMatch(/^All \d+ rows/);
    await studio.shot('2-dataset');

    // Method: LOMO, a long target so the run is still going when it is cancelled.
    await page.getByRole('button', { name: /^Method/ }).click();
    await page.getByRole('radio', { name: /LOMO.*Full fine-tuning/ }).click();
    await page.getByLabel('Steps', { exact: true }).fill('5000');
    await page.getByLabel('Batch', { exact: true }).fill('2');
    await page.getByLabel('Sequence length').fill('48');
    await page.getByTestId('memory-fit').waitFor();
    const fullFit = (await page.getByTestId('memory-fit').textContent()) ?? '';
    expect(fullFit).toMatch(/Fits/);
    // What trains: LoRA with rank 4 on every linear layer; the estimate follows the settings.
    await page.getByTestId('adapter-lora').click();
    await page.getByTestId('adapter-advanced').locator('summary').click();
    await page.getByLabel('Rank r').fill('4');
    await page.getByLabel('Target modules').fill('all-linear');
    await until('the LoRA estimate', async () => {
      const text = (await page.getByTestId('memory-fit').textContent()) ?? '';
      return /Fits/.test(text) && text !== fullFit;
    });
    // The settings row is in view above the Start bar at 1280×800, in light and dark.
    const settingsBox = (await page.getByLabel('Steps', { exact: true }).boundingBox())!;
    const barBox = (await page.locator('.start-bar').boundingBox())!;
    expect(settingsBox.y + settingsBox.height).toBeLessThanOrEqual(barBox.y);
    await page.locator('.content').evaluate((e) => e.scrollTo(0, 0));
    await studio.shot('3-method', { viewport: true });
    await page.emulateMedia({ colorScheme: 'dark' });
    await studio.shot('3-method-dark', { viewport: true });
    await page.emulateMedia({ colorScheme: 'light' });
    await page.getByRole('button', { name: 'Start training' }).click();

    // Run: the loss chart gains points and the memory chart moves while the engine trains.
    await until('loss points', async () => (await points(page, 'loss')) >= 3);
    const before = { loss: await points(page, 'loss'), memory: await points(page, 'memory') };
    await until('more points', async () => (await points(page, 'loss')) >= before.loss + 5);
    // Each chart redraws on its own throttle (at most 4× a second): wait for the memory chart too.
    await until('memory points', async () => (await points(page, 'memory')) > before.memory);
    expect(await attr(page, 'chart-memory', 'data-last')).toMatch(/[1-9].* live .* peak/);
    // Device memory beside it, named for what it measures (web mode trains on wasm here).
    expect(await page.getByTestId('chart-device').locator('figcaption').textContent()).toMatch(
      /Device memory \(MiB\): (wasm heap|engine process RSS|GPU buffers allocated)/,
    );
    expect(await attr(page, 'chart-device', 'data-last')).toMatch(/[1-9].* now · .* peak/);
    expect(
      await page.locator('[data-testid="chart-loss"] path.recharts-curve').count(),
    ).toBeGreaterThan(0);
    await studio.shot('4-training');

    // Pause holds the run at a step boundary; the step counter stops; Continue goes on.
    await page.getByRole('button', { name: 'Pause', exact: true }).click();
    await until(
      'paused',
      async () => (await page.getByTestId('run-status').textContent()) === 'paused',
    );
    const stepOf = async () =>
      Number((await page.getByTestId('run-step').textContent())?.split('/')[0]);
    const heldAt = await stepOf();
    expect(await page.getByTestId('run-eta').textContent()).toBe('paused');
    await studio.shot('4b-paused', { viewport: true });
    // A second window reattaches and is told the run is paused.
    const other = await page
      .context()
      .browser()!
      .newPage({ viewport: { width: 1280, height: 800 } });
    await other.goto(studio.url);
    await other.getByRole('button', { name: /^Runs/ }).click();
    await other.locator('table.runs tbody tr').first().waitFor();
    expect(await other.locator('table.runs tbody tr').first().textContent()).toMatch(/paused/);
    await other.close();
    await new Promise((r) => setTimeout(r, 1000));
    expect(await stepOf()).toBe(heldAt);
    await page.getByRole('button', { name: 'Continue', exact: true }).click();
    await until('running again', async () => (await stepOf()) >= heldAt + 3);

    await page.getByRole('button', { name: /^Cancel/ }).click();
    await until(
      'cancelled',
      async () => (await page.getByTestId('run-status').textContent()) === 'cancelled',
    );
    const stoppedAt = Number((await page.getByTestId('run-step').textContent())?.split('/')[0]);
    const resume = page.getByRole('button', { name: /^Resume from step/ });
    await resume.waitFor();
    await studio.shot('5-cancelled');
    const elapsedText = async () => (await page.getByTestId('run-elapsed').textContent()) ?? '';
    const elapsedBefore = await elapsedText();
    await resume.click();
    await until('resumed steps', async () => {
      const step = Number((await page.getByTestId('run-step').textContent())?.split('/')[0]);
      return step >= stoppedAt + 3;
    });
    // Elapsed counts on from the first session's training time, not from zero.
    expect(seconds(await elapsedText())).toBeGreaterThanOrEqual(seconds(elapsedBefore));
    await page.getByRole('button', { name: /^Cancel/ }).click();
    await until(
      'cancelled again',
      async () => (await page.getByTestId('run-status').textContent()) === 'cancelled',
    );
    await studio.shot('6-resumed');

    // Runs: the history lists it with its final loss and peak memory.
    await page.getByRole('button', { name: /^Runs/ }).click();
    const row = page.locator('table.runs tbody tr').first();
    await row.waitFor();
    expect(await row.textContent()).toMatch(/cancelled.*lomo \+ LoRA.*llama/);
    expect(await row.textContent()).toMatch(/KiB|MiB/);
    await row.getByRole('checkbox').check();
    await page.getByTestId('chart-compare').waitFor();
    await studio.shot('7-runs');

    // Export: a typed destination outside the run's exports folder is refused, with the way out.
    await page.getByRole('button', { name: /^Export/ }).click();
    await page.getByLabel(/^Destination/).fill(join(studio.work, 'elsewhere', 'tuned'));
    await page.getByRole('button', { name: 'Set', exact: true }).click();
    await page.getByRole('button', { name: 'Export merged weights' }).click();
    const refused = page.getByRole('alert');
    await refused.waitFor();
    expect(await refused.textContent()).toMatch(/will not write an export.*exports folder/);
    await studio.shot('8a-export-refused');
    await page.getByRole('button', { name: 'Use the run’s folder' }).click();
    // Merged weights into the run's exports/ folder, with a progress bar, checked on disk.
    await page.getByRole('button', { name: 'Export merged weights' }).click();
    await page.getByTestId('export-progress').waitFor();
    const result = page.getByTestId('export-result');
    await result.waitFor({ timeout: 60_000 });
    const out = (await result.locator('.path').textContent())!.trim();
    expect(out.startsWith(studio.dataDir)).toBe(true);
    for (const file of ['config.json', 'model.safetensors', 'tokenizer.json']) {
      expect((await stat(join(out, file))).isFile()).toBe(true);
    }
    const [tuned, base] = await Promise.all([
      readFile(join(out, 'model.safetensors')),
      readFile(join(model, 'model.safetensors')),
    ]);
    expect(tuned.length).toBe(base.length);
    expect(tuned.equals(base)).toBe(false); // the checkpoint's weights, not the base's
    await studio.shot('8-export');
    // A LoRA run also exports as its PEFT adapter alone.
    await page.getByLabel(/^Adapter only/).check();
    await page.getByRole('button', { name: 'Export the adapter' }).click();
    await until('the adapter export', async () =>
      /adapter/.test((await result.textContent()) ?? ''),
    );
    const adapterOut = (await result.locator('.path').textContent())!.trim();
    expect(adapterOut).toMatch(/exports\/adapter-step-\d+$/);
    for (const file of ['adapter_config.json', 'adapter_model.safetensors']) {
      expect((await stat(join(adapterOut, file))).isFile()).toBe(true);
    }

    // Playground: the same prompt through base and tuned.
    await page.getByRole('button', { name: /^Playground/ }).click();
    const runId = (await page.locator('select option').nth(1).getAttribute('value'))!;
    await page.getByLabel('Tuned model from run').selectOption(runId);
    await until('tuned model', async () =>
      ((await page.getByTestId('output-tuned').locator('.path').textContent()) ?? '').includes(
        `run ${runId}, step`,
      ),
    );
    await page.getByLabel('Prompt').fill('Write a sentence about the sea.');
    await page.getByLabel('New tokens').fill('12');
    await page.getByRole('button', { name: 'Generate both' }).click();
    await page.getByTestId('output-base').locator('.generation').waitFor();
    await page.getByTestId('output-tuned').locator('.generation').waitFor();
    await studio.shot('9-playground');

    // The OS's dark theme is followed.
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.getByRole('button', { name: /^Run(?!s)/ }).click();
    await page.getByTestId('chart-loss').waitFor();
    const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    expect(background).toBe('rgb(20, 23, 29)');
    await studio.shot('10-dark');
  }, 300_000);
});

describe('first start (web mode, Chromium)', () => {
  let studio: Studio;
  beforeAll(async () => {
    if (skipNote !== undefined) return;
    studio = await startStudio();
  }, 180_000);
  afterAll(async () => studio?.stop());

  it('sets up the shipped example, fine-tunes it, and the tuned model answers differently', async () => {
    const { page } = studio;
    const start = page.getByRole('region', { name: 'Start here' });
    await start.waitFor();
    await studio.shot('first-1-start-here');
    await start.getByRole('button', { name: 'Set up the example' }).click();
    await page.getByRole('radio', { name: /AdaLomo/, checked: true }).waitFor();
    await page.getByTestId('memory-fit').waitFor();
    await studio.shot('first-2-method');
    const began = Date.now();
    await page.getByRole('button', { name: 'Start training' }).click();
    await until(
      'the example run to finish',
      async () => (await page.getByTestId('run-status').textContent()) === 'finished',
      // Quiet, the run takes ~70 s; beside two busy test workers, up to three times that.
      270_000,
    );
    const seconds = (Date.now() - began) / 1000;
    process.stdout.write(`first-start fine-tune: ${seconds.toFixed(1)} s\n`);
    await studio.shot('first-3-finished');

    await page.getByRole('button', { name: 'Try it in the playground' }).click();
    const runId = (await page.locator('select option').nth(1).getAttribute('value'))!;
    await page.getByLabel('Tuned model from run').selectOption(runId);
    await until('tuned model', async () =>
      ((await page.getByTestId('output-tuned').locator('.path').textContent()) ?? '').includes(
        `run ${runId}, step`,
      ),
    );
    expect(await page.getByLabel('Prompt').inputValue()).toMatch(/whetstone/);
    await page.getByRole('button', { name: 'Generate both' }).click();
    const tuned = page.getByTestId('output-tuned').locator('.generation');
    const base = page.getByTestId('output-base').locator('.generation');
    await tuned.waitFor();
    await base.waitFor();
    // The pretrained base writes loose words after the chat header; the tuned one, the data's answer.
    expect((await tuned.textContent())!.trim().length).toBeGreaterThan(10);
    expect(await tuned.textContent()).not.toBe(await base.textContent());
    expect(await tuned.textContent()).toMatch(/^\s*A whetstone is a flat block of abrasive stone/);
    await studio.shot('first-4-playground');
  }, 400_000);
});

describe('method comparison (web mode, Chromium)', () => {
  let studio: Studio;
  beforeAll(async () => {
    if (skipNote !== undefined) return;
    studio = await startStudio();
  }, 180_000);
  afterAll(async () => studio?.stop());

  it('builds a 2×2 grid on the Method screen, runs it, and shows the table', async () => {
    const { page } = studio;
    await page.getByLabel('Model folder').fill(fixturePath('llama'));
    await page.getByRole('button', { name: 'Open', exact: true }).click();
    await page.getByRole('region', { name: 'Model details' }).waitFor();
    await page.getByRole('button', { name: /^Data/ }).click();
    await dropFile(page, '[data-testid="drop-zone"]', {
      name: 'sentiment.jsonl',
      text: await readFile(sentiment, 'utf8'),
      type: 'application/jsonl',
    });
    await page.getByTestId('detected-format').waitFor();
    expect(await page.getByTestId('detected-format').textContent()).toMatch(/classification/);

    await page.getByRole('button', { name: /^Method/ }).click();
    await page.getByLabel('Batch', { exact: true }).fill('2');
    await page.getByLabel('Sequence length').fill('24');
    const compare = page.locator('details.compare-methods');
    await compare.locator('summary').click();
    // ZO-Bench's eight and four are ticked: keep ZO-SGD and FO-SGD, full and LoRA.
    for (const box of await compare
      .getByRole('group', { name: 'Methods' })
      .getByRole('checkbox')
      .all()) {
      const name = (await box.evaluate((e) => e.parentElement!.textContent)) ?? '';
      if ((await box.isChecked()) !== /^(ZO-SGD \(MeZO\)|FO-SGD)$/.test(name)) await box.click();
    }
    await compare.getByLabel('prefix').uncheck();
    await compare.getByLabel('prompt').uncheck();
    await compare.getByLabel('Comparison steps').fill('3');
    await studio.shot('compare-1-grid');
    await compare.getByRole('button', { name: 'Start comparison (4 runs)' }).click();

    // The Runs screen follows it across the grid, then shows the tables and every cell's curve.
    const sweep = page.getByTestId('sweep');
    await sweep.waitFor();
    await until(
      'the comparison to finish',
      async () => (await sweep.getAttribute('data-status')) === 'done',
      180_000,
    );
    expect(await page.getByTestId('sweep-progress').textContent()).toBe('4 / 4 runs');
    const accuracy = sweep.locator('table.sweep-table').first();
    expect(await accuracy.locator('caption').textContent()).toMatch(/^Accuracy on held-out rows/);
    expect(await accuracy.locator('thead th').allTextContents()).toEqual([
      'method',
      'full',
      'lora',
    ]);
    const rows = await accuracy.locator('tbody tr').allTextContents();
    expect(rows).toHaveLength(3);
    // The untuned model first (its held-out rows scored before step 1), then ZO-Bench's order:
    // backprop first.
    expect(rows[0]).toMatch(/^zero-shot(\d+\.\d){2}$/);
    expect(rows[1]).toMatch(/^fo-sgd(\d+\.\d){2}$/);
    expect(rows[2]).toMatch(/^zo-sgd(\d+\.\d){2}$/);
    expect(await sweep.getByTestId('chart-compare').getAttribute('data-runs')).toBe('4');
    // Each cell is an ordinary run of the history.
    expect(await page.locator('table.runs:not(.sweep-table) tbody tr').count()).toBe(4);
    const csv = page.waitForEvent('download');
    await sweep.getByRole('button', { name: 'Export CSV' }).click();
    const file = await (await csv).path();
    expect((await readFile(file, 'utf8')).split('\n')[0]).toBe('table,method,full,lora');
    await studio.shot('compare-2-table');
  }, 300_000);
});
