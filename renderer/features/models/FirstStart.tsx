// First start: the shipped example set up in one press — whetstone-tiny, the instructions
// sample, AdaLomo for 150 steps (about a minute on a laptop CPU) — then Start on the Method screen.
import type { ExampleEntry } from '../../../main/examples.js';
import { useDatasets } from '../datasets/datasets-store.js';
import { useMethods } from '../methods/methods-store.js';
import { usePlayground } from '../playground/playground-store.js';
import { useNav } from '../../lib/nav-store.js';
import { useModels } from './models-store.js';

/**
 * The example's recipe: what the README of assets/models promises. Seed 2 keeps the prompt's row
 * (and the README's other samples) out of the studio's 10% validation split: a model this small
 * answers what it was tuned on, not new questions.
 */
export const exampleRecipe = {
  model: 'whetstone-tiny',
  dataset: 'instructions.jsonl',
  method: 'adalomo',
  settings: { steps: 150, lr: 1.2e-2, batch: 4, seq: 128, checkpointEvery: 50, seed: 2 },
  prompt: 'Explain what a whetstone is in one sentence.',
} as const;

export function FirstStart({ model }: { model: ExampleEntry }) {
  const setUp = async () => {
    await useModels.getState().select(model.path);
    const datasets = useDatasets.getState();
    if (datasets.samples.length === 0) await datasets.loadSamples();
    const sample = useDatasets.getState().samples.find((s) => s.name === exampleRecipe.dataset);
    if (sample) await useDatasets.getState().open(sample.path, model.path);
    const methods = useMethods.getState();
    methods.choose(exampleRecipe.method);
    methods.choosePeft('full'); // the recipe trains every weight, whatever was picked before
    for (const [key, value] of Object.entries(exampleRecipe.settings)) {
      methods.set(key as keyof typeof exampleRecipe.settings, value);
    }
    usePlayground.getState().setPrompt(exampleRecipe.prompt);
    useNav.getState().go('methods');
  };
  return (
    <section className="card first-start" aria-label="Start here">
      <h3>Start here</h3>
      <p>
        Fine-tune <strong>{model.name}</strong>, a tiny model pretrained on this project’s own text,
        to answer instructions: AdaLomo, 150 steps, about a minute. Then compare base and tuned
        answers in the playground.
      </p>
      <button type="button" className="primary" onClick={() => void setUp()}>
        Set up the example
      </button>
    </section>
  );
}
