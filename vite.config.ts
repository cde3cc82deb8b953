// Builds the renderer (React) into dist/renderer, loaded by Electron from disk and served by
// web mode. esbuild's automatic JSX runtime is all the React support a production build needs.
import { defineConfig } from 'vite';

export default defineConfig({
  root: 'renderer',
  base: './',
  esbuild: { jsx: 'automatic' },
  build: { outDir: '../dist/renderer', emptyOutDir: true, target: 'chrome120' },
});
