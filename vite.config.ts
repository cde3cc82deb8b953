// Builds the renderer (React) into dist/renderer, loaded by Electron from disk and served by
// web mode. esbuild's automatic JSX runtime is all the React support a production build needs.
import { defineConfig } from 'vite';

export default defineConfig({
  root: 'renderer',
  base: './',
  esbuild: { jsx: 'automatic' },
  build: {
    outDir: '../dist/renderer',
    emptyOutDir: true,
    target: 'chrome120',
    // The charts library in a chunk of its own (it alone passes Vite's 500 kB warning).
    rollupOptions: {
      output: { manualChunks: { charts: ['recharts'] } },
    },
  },
});
