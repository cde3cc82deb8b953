// Writes the shared fixture models before any test file runs.
import { writeFixtureModel } from '../engine/fixtures/fixture-model.js';
import { fixturePath, fixtureSpecs } from './fixtures.js';

export default async function setup(): Promise<void> {
  for (const [name, spec] of Object.entries(fixtureSpecs)) {
    await writeFixtureModel({ ...spec, out: fixturePath(name), force: true });
  }
}
