import { create } from 'zustand';
import type { Settings } from '../../../shared/api.js';

export type ThemeChoice = Settings['theme'];

/** Resolve 'system' against the OS preference. */
export function resolveTheme(choice: ThemeChoice, prefersDark: boolean): 'light' | 'dark' {
  if (choice === 'system') return prefersDark ? 'dark' : 'light';
  return choice;
}

/** The toggle flips what is shown now; an explicit choice replaces 'system'. */
export function toggledTheme(choice: ThemeChoice, prefersDark: boolean): 'light' | 'dark' {
  return resolveTheme(choice, prefersDark) === 'dark' ? 'light' : 'dark';
}

interface SettingsStore {
  theme: ThemeChoice;
  settings: Settings | null;
  loaded(s: Settings): void;
  setTheme(t: ThemeChoice): void;
}

export const useSettingsStore = create<SettingsStore>()((set) => ({
  theme: 'system',
  settings: null,
  loaded: (settings) => set({ settings, theme: settings.theme }),
  setTheme: (theme) => set({ theme }),
}));
