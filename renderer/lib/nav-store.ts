// Which screen is shown. The studio's steps in order, then the run history and the tools.
import { create } from 'zustand';

export const screens = [
  { id: 'models', label: 'Model' },
  { id: 'datasets', label: 'Data' },
  { id: 'methods', label: 'Method' },
  { id: 'run', label: 'Run' },
  { id: 'runs', label: 'Runs' },
  { id: 'playground', label: 'Playground' },
  { id: 'export', label: 'Export' },
] as const;

export type ScreenId = (typeof screens)[number]['id'];

export const useNav = create<{ screen: ScreenId; go: (screen: ScreenId) => void }>((set) => ({
  screen: 'models',
  go: (screen) => set({ screen }),
}));
