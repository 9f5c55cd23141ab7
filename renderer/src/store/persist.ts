import type { StoreApi, UseBoundStore } from 'zustand';
import { useImagesStore } from './images.js';
import { useOptionsStore } from './options.js';
import { useSourceStore } from './source.js';
import { useWizardStore } from './wizard.js';

/**
 * The wizard's choices survive a reload of the tab: model, spec, precision, calibration,
 * outputs, GPU, image selection and the step, in sessionStorage (per tab, gone with the tab).
 * Never the key: `key` and `checkedKey` are dropped before anything is written, and a restored
 * encrypted model asks for its key again.
 */
export const WIZARD_STATE_KEY = 'export-studio.wizard.v1';
/** The job this tab's wizard shows (reattached after a reload). */
export const ATTACHED_JOB_KEY = 'export-studio.job';

/** Fields never written to storage. */
const NEVER_STORED: Record<string, readonly string[]> = {
  source: ['key', 'checkedKey', 'keyCheck', 'rememberKey'],
  images: ['loading', 'error'],
  options: [],
  wizard: [],
};

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any zustand store: only its data fields are read
type AnyStore = UseBoundStore<StoreApi<any>>;

const STORES: Record<string, AnyStore> = {
  source: useSourceStore,
  options: useOptionsStore,
  images: useImagesStore,
  wizard: useWizardStore,
};

export function sessionStore(): Storage | null {
  try {
    return typeof sessionStorage === 'undefined' ? null : sessionStorage;
  } catch {
    return null; // storage disabled
  }
}

function encode(_k: string, v: unknown): unknown {
  return v instanceof Set ? { $set: [...(v as Set<unknown>)] } : v;
}
function decode(_k: string, v: unknown): unknown {
  if (v && typeof v === 'object' && !Array.isArray(v) && Array.isArray((v as { $set?: unknown }).$set)) return new Set((v as { $set: unknown[] }).$set);
  return v;
}

/** The data of every wizard store (no functions, nothing of NEVER_STORED) as JSON. */
export function serializeWizard(): string {
  const out: Record<string, Record<string, unknown>> = {};
  for (const [name, store] of Object.entries(STORES)) {
    const data: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(store.getState() as Record<string, unknown>)) {
      if (typeof v === 'function' || NEVER_STORED[name]?.includes(k)) continue;
      data[k] = v;
    }
    out[name] = data;
  }
  return JSON.stringify(out, encode);
}

/** Put saved choices back: only fields the store still has, so a newer app version ignores old ones. */
export function restoreWizard(text: string | null): boolean {
  if (!text) return false;
  let saved: Record<string, Record<string, unknown>>;
  try {
    saved = JSON.parse(text, decode) as Record<string, Record<string, unknown>>;
  } catch {
    return false;
  }
  if (typeof saved !== 'object' || saved === null) return false;
  for (const [name, store] of Object.entries(STORES)) {
    const data = saved[name];
    if (!data || typeof data !== 'object') continue;
    const current = store.getState() as Record<string, unknown>;
    const patch: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(data)) {
      if (!(k in current) || typeof current[k] === 'function' || NEVER_STORED[name]?.includes(k)) continue;
      // Nested option groups merge over today's defaults: a field added since the save keeps its default.
      const cur = current[k];
      const plain = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x) && !(x instanceof Set);
      patch[k] = plain(v) && plain(cur) ? { ...cur, ...v } : v;
    }
    store.setState(patch);
  }
  // Run and Results belong to a job: without one reattached they fall back to Review.
  const w = useWizardStore.getState();
  if (w.step === 'run' || w.step === 'results') useWizardStore.setState({ step: 'review' });
  return true;
}

/** Restore this tab's choices, then save them on every change. Returns the unsubscribe function. */
export function persistWizard(storage: Storage | null = sessionStore()): () => void {
  if (!storage) return () => undefined;
  restoreWizard(storage.getItem(WIZARD_STATE_KEY));
  let timer: ReturnType<typeof setTimeout> | null = null;
  const save = () => {
    if (timer) return;
    timer = setTimeout(() => {
      timer = null;
      try {
        storage.setItem(WIZARD_STATE_KEY, serializeWizard());
      } catch {
        // quota: the choices are simply not kept
      }
    }, 150);
  };
  const offs = Object.values(STORES).map((s) => s.subscribe(save));
  const flush = () => {
    if (!timer) return;
    clearTimeout(timer);
    timer = null;
    try {
      storage.setItem(WIZARD_STATE_KEY, serializeWizard());
    } catch {
      // ignore
    }
  };
  // A reload right after a change still keeps it.
  if (typeof window !== 'undefined') window.addEventListener('pagehide', flush);
  return () => {
    if (typeof window !== 'undefined') window.removeEventListener('pagehide', flush);
    if (timer) {
      clearTimeout(timer);
      timer = null;
      try {
        storage.setItem(WIZARD_STATE_KEY, serializeWizard());
      } catch {
        // ignore
      }
    }
    for (const off of offs) off();
  };
}
