import { create } from 'zustand';
import type { ImageEntry } from '../../../shared/api.js';
import type { StudioErrorData } from '../../../shared/errors.js';
import { clickSelect, emptySelection, selectAll, selectNone, selectRandom, type SelectionState } from './selection.js';

export interface ImagesState {
  dir: string;
  images: ImageEntry[];
  loading: boolean;
  error: StudioErrorData | null;
  filter: string;
  selection: SelectionState;
  /** The image whose tensor preview is shown. */
  focused: string | null;
}

export function initialImages(): ImagesState {
  return { dir: '', images: [], loading: false, error: null, filter: '', selection: emptySelection, focused: null };
}

interface ImagesStore extends ImagesState {
  loaded(dir: string, images: ImageEntry[]): void;
  patch(p: Partial<ImagesState>): void;
  click(visibleIds: readonly string[], index: number, shift: boolean): void;
  all(visibleIds: readonly string[]): void;
  none(): void;
  random(visibleIds: readonly string[], n: number, seed: number): void;
  reset(): void;
}

export const useImagesStore = create<ImagesStore>()((set) => ({
  ...initialImages(),
  // A new folder starts with everything selected: the common case is "use this folder".
  loaded: (dir, images) =>
    set({ dir, images, loading: false, error: null, selection: { selected: new Set(images.map((i) => i.id)), anchor: null }, focused: images[0]?.id ?? null }),
  patch: (p) => set(p),
  click: (ids, index, shift) => set((s) => ({ selection: clickSelect(s.selection, ids, index, shift), focused: ids[index] ?? s.focused })),
  all: (ids) => set((s) => ({ selection: selectAll(s.selection, ids) })),
  none: () => set({ selection: selectNone() }),
  random: (ids, n, seed) => set({ selection: selectRandom(ids, n, seed) }),
  reset: () => set(initialImages()),
}));
