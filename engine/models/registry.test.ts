// The architectures the registry loads are the ones the protocol, the CLI and `fixture` name
// (common/architectures.ts), so a new model file cannot be left out of either list.
import { describe, expect, it } from 'vitest';
import { modelTypes } from '../../common/architectures.js';
import { supportedModelTypes } from './registry.js';

describe('model registry', () => {
  it('loads exactly the model types every layer lists', () => {
    expect([...supportedModelTypes].sort()).toEqual([...modelTypes].sort());
  });
});
