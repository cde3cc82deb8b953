// The studio and a real Slurm, end to end in a browser: add a profile for the one-node cluster
// (test/slurm-cluster.ts) on the Method screen, run on it, watch the chart fill in from the job's
// events with Slurm's state beside the status, and cancel (the engine checkpoints).
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fixturePath } from '../fixtures.js';
import { slurmSkipNote, startCluster, type TestCluster } from '../slurm-cluster.js';
import { missingBrowser } from './browser.js';
import { buildRenderer, dropFile, startStudio, type Studio } from './harness.js';

const skipNote = missingBrowser() ?? slurmSkipNote();
beforeEach((ctx) => {
  if (skipNote !== undefined) ctx.skip(skipNote);
});

const bin = join(import.meta.dirname, '..', '..', 'bin', 'whetstone.js');
const sample = join(import.meta.dirname, '..', '..', 'assets', 'datasets', 'instructions.jsonl');

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 90_000) {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const text = async (page: Page, testId: string) =>
  (await page.getByTestId(testId).textContent()) ?? '';

describe('studio on a Slurm cluster (web mode, Chromium)', () => {
  let cluster: TestCluster;
  let studio: Studio;
  let shared: string;
  beforeAll(async () => {
    if (skipNote !== undefined) return;
    cluster = await startCluster();
    // `whetstone serve` inherits these: Slurm's config, and a config folder of its own.
    for (const [k, v] of Object.entries(cluster.env)) process.env[k] = v;
    process.env.WHETSTONE_CONFIG_DIR = join(cluster.dir, 'config');
    shared = join(cluster.dir, 'shared');
    await mkdir(shared);
    await buildRenderer();
    studio = await startStudio();
  }, 240_000);
  afterAll(async () => {
    await studio?.stop();
    await cluster?.stop();
  });

  it('adds a local Slurm profile, runs on it, charts it live and cancels it', async () => {
    const { page } = studio;
    await page.getByLabel('Model folder').fill(fixturePath('llama'));
    await page.getByRole('button', { name: 'Open', exact: true }).click();
    await page.getByRole('region', { name: 'Model details' }).waitFor();
    await page.getByRole('button', { name: /^Data/ }).click();
    await dropFile(page, '[data-testid="drop-zone"]', {
      name: 'instructions.jsonl',
      text: await readFile(sample, 'utf8'),
      type: 'application/jsonl',
    });
    await page.getByTestId('detected-format').waitFor();

    await page.getByRole('button', { name: /^Method/ }).click();
    await page.getByRole('radio', { name: /LOMO.*Full fine-tuning/ }).click();
    await page.getByLabel('Steps', { exact: true }).fill('5000');
    await page.getByLabel('Batch', { exact: true }).fill('2');
    await page.getByLabel('Sequence length').fill('48');

    // The profile: checked against the cluster when saved.
    await page.getByText('Cluster profiles (Slurm)').click();
    const form = page.getByRole('form', { name: 'Add a cluster profile' });
    await form.getByLabel('Name').fill('here');
    await form.getByLabel('Shared folder').fill(join(cluster.dir, 'missing'));
    await form.getByLabel('whetstone on the nodes').fill(bin);
    await form.getByRole('button', { name: 'Check and save' }).click();
    // A folder the cluster cannot write is refused, saying which.
    await until('the refusal', async () =>
      /missing does not exist/.test((await page.getByRole('alert').allTextContents()).join(' ')),
    );
    await form.getByLabel('Shared folder').fill(shared);
    await form.getByRole('button', { name: 'Check and save' }).click();
    await page.getByRole('list', { name: 'Cluster profiles' }).getByText('here').waitFor();
    await studio.shot('cluster-1-profile');

    await page.getByRole('button', { name: 'Run on cluster' }).click();
    await page.getByTestId('run-cluster').waitFor();
    // Slurm's word beside the status, then the loss chart fills in from the job's events.
    await until('the job running', async () =>
      /here · job \d+ · running/.test(await text(page, 'run-cluster')),
    );
    await until(
      'loss points',
      async () =>
        Number((await page.getByTestId('chart-loss').getAttribute('data-points')) ?? 0) >= 3,
    );
    await studio.shot('cluster-2-running');

    await page.getByRole('button', { name: /^Cancel/ }).click();
    await until('cancelled', async () => (await text(page, 'run-status')) === 'cancelled');
    // The engine's own end comes first; Slurm's follows once the job is gone.
    await until('Slurm to say cancelled', async () =>
      /· cancelled$/.test(await text(page, 'run-cluster')),
    );
    // The engine wrote a checkpoint in the run's folder on the cluster before the job ended.
    const runId = (await page.locator('.run-head h2 .mono').textContent()) ?? '';
    const latest = join(shared, runId, 'checkpoints', 'latest.json');
    expect((JSON.parse(await readFile(latest, 'utf8')) as { step: number }).step).toBeGreaterThan(
      0,
    );
    await studio.shot('cluster-3-cancelled');
  });
});
