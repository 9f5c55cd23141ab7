import type { OpenDialogOptions } from 'electron';
import type { FileKind } from '../../shared/api.js';
import { KIND_EXTENSIONS } from '../host/file-browser.js';

const LABELS: Record<FileKind, string> = {
  model: 'Models (.onnx, .etlt, .tlt)',
  spec: 'Experiment specs',
  tensorfile: 'Tensorfiles (HDF5)',
  cache: 'Calibration caches',
  'images-dir': 'Image folder',
  'output-dir': 'Output folder',
  any: 'All files',
};

const TITLES: Record<FileKind, string> = {
  model: 'Open a model',
  spec: 'Open an experiment spec',
  tensorfile: 'Open a calibration tensorfile',
  cache: 'Open a calibration cache',
  'images-dir': 'Choose the calibration image folder',
  'output-dir': 'Choose the output folder',
  any: 'Open a file',
};

export function isDirectoryKind(kind: FileKind): boolean {
  return kind === 'images-dir' || kind === 'output-dir';
}

/**
 * Options of the native open dialog for a FileKind. Extensions come from the host's file
 * browser list (one list for both), without dots as Electron wants; "All files" is always
 * offered second so a model with an odd extension can still be picked. Folders and files are
 * never mixed: on Linux and Windows one dialog cannot pick both.
 */
export function dialogOptionsFor(kind: FileKind, options: { defaultPath?: string } = {}): OpenDialogOptions {
  const base: OpenDialogOptions = { title: TITLES[kind], properties: [], ...(options.defaultPath ? { defaultPath: options.defaultPath } : {}) };
  if (isDirectoryKind(kind)) {
    base.properties = ['openDirectory', 'createDirectory', 'dontAddToRecent'];
    return base;
  }
  base.properties = ['openFile', 'dontAddToRecent'];
  const exts = KIND_EXTENSIONS[kind];
  const all = { name: 'All files', extensions: ['*'] };
  base.filters = exts && exts.length > 0 ? [{ name: LABELS[kind], extensions: exts.map((e) => e.replace(/^\./, '')) }, all] : [all];
  return base;
}
