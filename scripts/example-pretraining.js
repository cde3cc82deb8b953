// What the example models' pretraining scripts (make-example-model.js, make-example-mlm.js)
// share: the built engine's modules, the `whetstone` CLI, and paragraphs shuffled (seeded) and
// joined into rows of a bounded length.
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** A module of the built engine (npm run build first). */
export const dist = (path) => import(pathToFileURL(join(root, 'dist', 'engine', path)).href);

/** Run `whetstone ARGS...`, its output on this terminal. */
export const whetstone = (...args) =>
  execFileSync(process.execPath, [join(root, 'bin', 'whetstone.js'), ...args], {
    cwd: root,
    stdio: ['ignore', 'inherit', 'inherit'],
  });

/** `paragraphs` shuffled with `seed` (in place) and joined by `joiner` into rows under `maxChars`. */
export async function shuffledRows(paragraphs, seed, maxChars, joiner) {
  const { Rng } = await dist('util/rng.js');
  const rng = new Rng(seed);
  for (let i = paragraphs.length - 1; i > 0; i--) {
    const j = Math.floor(rng.uniform() * (i + 1));
    [paragraphs[i], paragraphs[j]] = [paragraphs[j], paragraphs[i]];
  }
  const rows = [];
  for (const paragraph of paragraphs) {
    const last = rows.at(-1);
    if (last !== undefined && last.length + paragraph.length < maxChars)
      rows[rows.length - 1] += `${joiner}${paragraph}`;
    else rows.push(paragraph);
  }
  return rows;
}
