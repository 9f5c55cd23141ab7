import { create } from 'zustand';
import type { SpecSummary } from '../../../shared/api.js';
import type { StudioErrorData } from '../../../shared/errors.js';
import type { ModelSummary } from '../../../shared/report.js';
import type { PreprocessingPreset } from '../../../shared/request.js';

export type CheckState =
  | { status: 'idle' }
  | { status: 'checking' }
  | { status: 'ok'; ms: number }
  | { status: 'error'; error: StudioErrorData };

/**
 * Model, key and spec. The key lives only here, in memory: this store has no persist
 * middleware and nothing writes it to storage (the OS keyring only when the user asks).
 */
export interface SourceState {
  modelPath: string;
  /** The model card, from the last successful inspectModel. */
  model: ModelSummary | null;
  /** Result of opening the model (without a key for plain ONNX). */
  modelCheck: CheckState;
  key: string;
  keyCheck: CheckState;
  /** The key that keyCheck refers to, so editing the key invalidates the check. */
  checkedKey: string | null;
  rememberKey: boolean;
  specPath: string;
  spec: SpecSummary | null;
  specCheck: CheckState;
  /** For spec-less models: which preprocessing preset to use. */
  preset: PreprocessingPreset;
  /** For spec-less models: explicit overrides of the preset (the CLI's --input_size, --mean, …), as typed. */
  pp: PreprocessingFields;
}

/** The spec-less preprocessing fields as typed ('' = not set: the preset or the model decides). */
export interface PreprocessingFields {
  height: string;
  width: string;
  mean: string;
  scale: string;
  order: '' | 'rgb' | 'bgr';
  layout: '' | 'nchw' | 'nhwc';
}

export const EMPTY_PP: PreprocessingFields = { height: '', width: '', mean: '', scale: '', order: '', layout: '' };

export function initialSource(): SourceState {
  return {
    modelPath: '',
    model: null,
    modelCheck: { status: 'idle' },
    key: '',
    keyCheck: { status: 'idle' },
    checkedKey: null,
    rememberKey: false,
    specPath: '',
    spec: null,
    specCheck: { status: 'idle' },
    preset: 'tao-maskrcnn',
    pp: EMPTY_PP,
  };
}

/** Encrypted formats need a key; a plain .onnx does not. */
export function needsKey(modelPath: string): boolean {
  return /\.(etlt|tlt)$/i.test(modelPath.trim());
}

export function setModelPath(s: SourceState, path: string): SourceState {
  if (path === s.modelPath) return s;
  return { ...s, modelPath: path, model: null, modelCheck: { status: 'idle' }, keyCheck: { status: 'idle' }, checkedKey: null };
}

export function setKey(s: SourceState, key: string): SourceState {
  if (key === s.key) return s;
  const keyCheck: CheckState = key === s.checkedKey && s.keyCheck.status === 'ok' ? s.keyCheck : { status: 'idle' };
  return { ...s, key, keyCheck };
}

export function setSpecPath(s: SourceState, path: string): SourceState {
  if (path === s.specPath) return s;
  return { ...s, specPath: path, spec: null, specCheck: { status: 'idle' } };
}

/**
 * The key is usable: for an encrypted model, checked against it with the key now in the field;
 * for plain ONNX (nothing to decrypt), present, since it encrypts the .etlt we write.
 */
export function keyVerified(s: SourceState): boolean {
  if (!needsKey(s.modelPath)) return s.model !== null && s.key.length > 0;
  return s.keyCheck.status === 'ok' && s.checkedKey === s.key && s.model !== null;
}

interface SourceStore extends SourceState {
  update(fn: (s: SourceState) => SourceState): void;
  patch(p: Partial<SourceState>): void;
  reset(): void;
}

export const useSourceStore = create<SourceStore>()((set) => ({
  ...initialSource(),
  update: (fn) => set((s) => fn(s)),
  patch: (p) => set(p),
  reset: () => set(initialSource()),
}));
