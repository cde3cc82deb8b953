// Unit tests live beside the code, integration tests in test/. Forks, not threads: the Dawn
// (webgpu) addon and tfjs's global engine want a process each.
import { existsSync } from 'node:fs';
import { defineConfig } from 'vitest/config';

// Debian's chromium ships SwiftShader, a software Vulkan driver: with it Dawn (the `webgpu`
// package) has an adapter on machines without a GPU, so the webgpu backend runs in tests.
const swiftshader = '/usr/lib/chromium/vk_swiftshader_icd.json';
const env: Record<string, string> = { XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' };
if (!process.env.VK_ICD_FILENAMES && existsSync(swiftshader)) env.VK_ICD_FILENAMES = swiftshader;

export default defineConfig({
  test: {
    include: [
      'common/**/*.test.ts',
      'engine/**/*.test.ts',
      'main/**/*.test.ts',
      'renderer/**/*.test.{ts,tsx}',
      'test/**/*.test.ts',
    ],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    globalSetup: ['test/global-setup.ts'],
    // The default summary, then why tests were skipped (what is missing, how to install it).
    reporters: ['default', './test/skip-notes.ts'],
    env,
  },
});
