import type { FileKind } from '../../../shared/api.js';

const EXTENSIONS: Partial<Record<FileKind, string[]>> = {
  model: ['.onnx', '.etlt', '.tlt'],
  spec: ['.txt', '.yaml', '.yml', '.prototxt', '.spec'],
  tensorfile: ['.tensorfile', '.h5', '.hdf5'],
  cache: ['.bin', '.cache', '.txt', '.calib'],
};

/** Folder pickers choose the folder itself; file pickers choose a file. */
export function picksDirectory(kind: FileKind): boolean {
  return kind === 'images-dir' || kind === 'output-dir';
}

export function matchesKind(name: string, kind: FileKind): boolean {
  const exts = EXTENSIONS[kind];
  if (!exts) return true;
  const lower = name.toLowerCase();
  return exts.some((e) => lower.endsWith(e));
}

export const KIND_LABEL: Record<FileKind, string> = {
  model: 'model (.onnx, .etlt, .tlt)',
  spec: 'experiment spec',
  tensorfile: 'tensorfile',
  cache: 'calibration cache',
  'images-dir': 'image folder',
  'output-dir': 'output folder',
  any: 'file',
};
