// The examples that ship with the app (assets/): a small pretrained model and the sample
// datasets, so a first start has something ready to fine-tune. Listed by the app, so allowed.
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

export interface ExampleEntry {
  name: string;
  path: string;
}

export interface Examples {
  models: ExampleEntry[];
  datasets: ExampleEntry[];
}

/** Model folders (with config.json) under assets/models, dataset files under assets/datasets. */
export async function listExamples(assetsDir: string): Promise<Examples> {
  const entries = async (dir: string) =>
    (await readdir(dir, { withFileTypes: true }).catch(() => [])).sort((a, b) =>
      a.name.localeCompare(b.name),
    );
  const models: ExampleEntry[] = [];
  for (const entry of await entries(join(assetsDir, 'models'))) {
    const path = join(assetsDir, 'models', entry.name);
    const config = await stat(join(path, 'config.json')).catch(() => undefined);
    if (entry.isDirectory() && config?.isFile()) models.push({ name: entry.name, path });
  }
  const datasets = (await entries(join(assetsDir, 'datasets')))
    .filter((entry) => entry.isFile() && !entry.name.startsWith('.'))
    .map((entry) => ({ name: entry.name, path: join(assetsDir, 'datasets', entry.name) }));
  return { models, datasets };
}
