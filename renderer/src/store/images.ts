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
  /** Images that cannot be decoded (thumbnail failed, or the host's preflight said so): never selected. */
  unreadable: ReadonlySet<string>;
}

export function initialImages(): ImagesState {
  return { dir: '', images: [], loading: false, error: null, filter: '', selection: emptySelection, focused: null, unreadable: new Set() };
}

interface ImagesStore extends ImagesState {
  loaded(dir: string, images: ImageEntry[]): void;
  patch(p: Partial<ImagesState>): void;
  click(visibleIds: readonly string[], index: number, shift: boolean): void;
  all(visibleIds: readonly string[]): void;
  none(): void;
  random(visibleIds: readonly string[], n: number, seed: number): void;
  /** Mark images unreadable (by id) and take them out of the selection. */
  markUnreadable(ids: readonly string[]): void;
  reset(): void;
}

function withoutUnreadable(sel: SelectionState, unreadable: ReadonlySet<string>): SelectionState {
  if (unreadable.size === 0) return sel;
  const selected = new Set([...sel.selected].filter((id) => !unreadable.has(id)));
  return selected.size === sel.selected.size ? sel : { ...sel, selected };
}

export const useImagesStore = create<ImagesStore>()((set) => ({
  ...initialImages(),
  // A new folder starts with everything selected: the common case is "use this folder".
  loaded: (dir, images) =>
    set({ dir, images, loading: false, error: null, selection: { selected: new Set(images.map((i) => i.id)), anchor: null }, focused: images[0]?.id ?? null, unreadable: new Set() }),
  patch: (p) => set(p),
  click: (ids, index, shift) => set((s) => ({ selection: withoutUnreadable(clickSelect(s.selection, ids, index, shift), s.unreadable), focused: ids[index] ?? s.focused })),
  all: (ids) => set((s) => ({ selection: withoutUnreadable(selectAll(s.selection, ids), s.unreadable) })),
  none: () => set({ selection: selectNone() }),
  random: (ids, n, seed) => set((s) => ({ selection: selectRandom(ids.filter((id) => !s.unreadable.has(id)), n, seed) })),
  markUnreadable: (ids) =>
    set((s) => {
      if (ids.every((id) => s.unreadable.has(id))) return {};
      const unreadable = new Set([...s.unreadable, ...ids]);
      return { unreadable, selection: withoutUnreadable(s.selection, unreadable) };
    }),
  reset: () => set(initialImages()),
}));
