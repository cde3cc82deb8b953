// Cluster profiles in the studio: the same clusters.json the CLI's `whetstone cluster` edits.
import { create } from 'zustand';
import type { ErrorInfo } from '../../../engine/errors.js';
import type { ChannelInput, ClusterProfile } from '../../../main/contract.js';
import { call, errorInfo } from '../../lib/api.js';

export type ProfileInput = ChannelInput<'clusters:save'>['profile'];

interface ClustersState {
  list: ClusterProfile[];
  /** The profile "Run on cluster" uses. */
  chosen?: string;
  saving: boolean;
  error?: ErrorInfo;
  load: () => Promise<void>;
  choose: (name: string) => void;
  /** Check the profile against its cluster and save it; resolves whether it was saved. */
  save: (profile: ProfileInput) => Promise<boolean>;
  remove: (name: string) => Promise<void>;
}

export const useClusters = create<ClustersState>((set, get) => ({
  list: [],
  saving: false,
  load: async () => {
    try {
      const list = await call('clusters:list', {});
      set({ list, chosen: get().chosen ?? list[0]?.name });
    } catch (err) {
      set({ error: errorInfo(err) });
    }
  },
  choose: (chosen) => set({ chosen }),
  save: async (profile) => {
    set({ saving: true, error: undefined });
    try {
      const saved = await call('clusters:save', { profile });
      set((s) => ({
        list: [...s.list.filter((p) => p.name !== saved.name), saved],
        chosen: saved.name,
      }));
      return true;
    } catch (err) {
      set({ error: errorInfo(err) });
      return false;
    } finally {
      set({ saving: false });
    }
  },
  remove: async (name) => {
    try {
      const list = await call('clusters:remove', { name });
      set((s) => ({ list, chosen: s.chosen === name ? list[0]?.name : s.chosen }));
    } catch (err) {
      set({ error: errorInfo(err) });
    }
  },
}));
